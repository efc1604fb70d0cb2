// What the soak samples of the agent: RSS and open fds from /proc, CPU time, the temp dir's
// leftover sockets and markers, and how its endpoints answer while the churn runs.
import * as fs from 'node:fs';
import * as path from 'node:path';

const CLK_TCK = 100;

export interface Sample {
  /** seconds since the churn started (negative: before) */
  t: number;
  rssKb: number;
  fds: number;
  cpuS: number;
  targets: number;
  leftovers: number;
}

export function rssKb(pid: number): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) : NaN;
}

export function fdCount(pid: number): number {
  return fs.readdirSync(`/proc/${pid}/fd`).length;
}

export function cpuSeconds(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  // fields after the command (which may hold spaces), 1-based: utime is 14, stime 15
  const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(rest[11]) + Number(rest[12])) / CLK_TCK;
}

/**
 * rtprof's files the agent should have removed: anything `rtprof-*` in the soak's temp dir except
 * the agent's own socket dir and its live socket, and the per-target dirs a root agent makes in
 * /tmp for other users' targets (`rtprof-<agent pid>-*`).
 */
export function leftovers(tmpDir: string, agentPid: number): string[] {
  const found: string[] = [];
  const socketDir = `rtprof-${process.getuid?.() ?? 'user'}`;
  for (const name of safeList(tmpDir)) {
    if (name === socketDir) {
      for (const inner of safeList(path.join(tmpDir, name))) {
        if (inner !== `agent-${agentPid}.sock`) found.push(path.join(tmpDir, name, inner));
      }
    } else if (name.startsWith('rtprof')) found.push(path.join(tmpDir, name));
  }
  for (const name of safeList('/tmp')) if (name.startsWith(`rtprof-${agentPid}-`)) found.push(path.join('/tmp', name));
  return found;
}

function safeList(dir: string): string[] {
  try {
    return fs.readdirSync(dir);
  } catch {
    return [];
  }
}

export interface ScrapeStats {
  count: number;
  failures: string[];
  maxMs: number;
  totalMs: number;
}

export const newScrapeStats = (): ScrapeStats => ({ count: 0, failures: [], maxMs: 0, totalMs: 0 });

export interface TargetInfo {
  pid: number;
  probe: { state: string; attach?: string; snapshots?: number };
}

/** One scrape of /metrics and /api/targets; failures are recorded, never thrown. */
export async function scrape(url: string, stats: ScrapeStats): Promise<TargetInfo[] | undefined> {
  const t0 = performance.now();
  try {
    const metrics = await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) });
    await metrics.text();
    if (metrics.status !== 200) throw new Error(`/metrics ${metrics.status}`);
    const api = await fetch(`${url}/api/targets`, { signal: AbortSignal.timeout(10_000) });
    if (api.status !== 200) throw new Error(`/api/targets ${api.status}`);
    const targets = (await api.json()) as TargetInfo[];
    const ms = performance.now() - t0;
    stats.count++;
    stats.totalMs += ms;
    stats.maxMs = Math.max(stats.maxMs, ms);
    return targets;
  } catch (err) {
    stats.count++;
    if (stats.failures.length < 20) stats.failures.push(`${new Date().toISOString()} ${(err as Error).message}`);
    return undefined;
  }
}

/** Least-squares slope of y over t (units of y per unit of t); NaN with fewer than 2 points. */
export function slope(points: Array<[number, number]>): number {
  const n = points.length;
  if (n < 2) return NaN;
  const mt = points.reduce((s, [t]) => s + t, 0) / n;
  const my = points.reduce((s, [, y]) => s + y, 0) / n;
  let num = 0;
  let den = 0;
  for (const [t, y] of points) {
    num += (t - mt) * (y - my);
    den += (t - mt) ** 2;
  }
  return den === 0 ? NaN : num / den;
}

export function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}
