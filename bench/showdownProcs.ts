// The showdown's processes and load: every service it starts in its own process group (killed by
// group at the end), pinned with taskset; the load (open loop at a fixed rate, autocannon
// saturated) with every response time kept; CPU ticks from
// /proc for the service, the load side and the CPUs. Shared by bench/showdown.ts and the
// multi-worker rows (bench/showdownScaling.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { createServer } from 'node:net';
import autocannon from 'autocannon';
import { readStat } from '../collectors/proc/procfs';
import { latencySummaryS, startOpenLoop } from '../src/profile/openLoop';
import { percentile } from '../src/report/stats';
import { Watcher } from '../src/watcher';

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** rtprof as the showdown runs it: 1 s interval, 50 Hz, probes attached; profileDetail for the multi-worker rows. */
export function showdownWatcher(log: (line: string) => void, profileDetail = false): Watcher {
  return new Watcher({
    intervalMs: 1000,
    sampleHz: 50,
    discover: false,
    profileDetail,
    match: undefined,
    attach: true,
    socketPath: undefined,
    log,
  });
}

// ---------------------------------------------------------------------------------------------
// Processes: every one started here is its own process group, killed by group at the end.

const started = new Set<ChildProcess>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    // already gone
  }
}

export function killAll(): void {
  for (const child of started) killGroup(child);
  started.clear();
}

export async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode === null && child.signalCode === null) {
    const exited = new Promise<void>((r) => child.once('exit', () => r()));
    killGroup(child);
    await exited;
  }
  started.delete(child);
}

export interface Spawned {
  child: ChildProcess;
  pid: number;
  port: number;
  url: string;
}

/**
 * Starts a sample app pinned to a CPU list (taskset execs, so the pid is the app's) and waits for
 * its READY line, whose pid must be that pid.
 */
export function spawnPinned(
  app: string,
  command: readonly string[],
  cpu: string,
  env: NodeJS.ProcessEnv,
  port = 0,
): { child: ChildProcess; ready: Promise<Spawned & { readyMs: number }> } {
  const t0 = performance.now();
  const child = spawn('taskset', ['-c', cpu, ...command], {
    env: { ...process.env, ...env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
    detached: true,
  });
  started.add(child);
  const ready = new Promise<Spawned & { readyMs: number }>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`${app} printed no READY within 20 s`)), 20_000);
    child.once('exit', (code) => reject(new Error(`${app} exited (${code}) before READY: ${out.trim()}`)));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /READY pid=(\d+) port=(\d+)/.exec(out);
      if (!m) return;
      clearTimeout(timer);
      const readyMs = performance.now() - t0;
      if (Number(m[1]) !== child.pid) return reject(new Error(`${app}: READY pid ${m[1]} is not the spawned pid ${child.pid}`));
      resolve({ child, pid: child.pid, port: Number(m[2]), url: `http://127.0.0.1:${m[2]}`, readyMs });
    });
  });
  return { child, ready };
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}

/** One GET on a fresh connection; resolves with the body of a 200, rejects on anything else. */
export function getOnce(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = get(url, { agent: false }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new Error(`${url}: HTTP ${res.statusCode}`))));
    });
    req.on('error', reject);
  });
}

/** Busy ticks of one CPU (all but idle and iowait) from /proc/stat. */
export function cpuBusyTicks(cpu: string): number {
  const line = readFileSync('/proc/stat', 'latin1')
    .split('\n')
    .find((l) => l.startsWith(`cpu${cpu} `));
  const f = (line ?? '').trim().split(/\s+/).slice(1).map(Number);
  return f.slice(0, 8).reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0);
}

export const cpuTicks = (pid: number): number => {
  const s = readStat(pid);
  return s.utimeTicks + s.stimeTicks;
};

export interface LoadResult {
  requests: number;
  rps: number;
  errors: number;
  latencyMs: { p50: number; p99: number; max: number; p90?: number; min?: number };
  durationS: number;
  /** open loop: requests due in the window but unanswered when it closed (not in the latencies) */
  unfinished?: number;
}

/**
 * The load of one window. At a fixed rate, rtprof's open-loop generator: latency from each
 * request's due time, the connections a cap. Saturated, autocannon with every 2xx response time
 * kept (its own histogram rounds to whole ms, too coarse for sub-ms answers). `around` runs at the
 * start and end so CPU can be read over exactly the load.
 */
export function runLoad(
  url: string,
  rate: number | undefined,
  connections: number,
  durationS: number,
  around: () => () => void = () => () => undefined,
): Promise<LoadResult> {
  if (rate !== undefined) return runOpenLoop(url, rate, connections, durationS, around);
  const latencies: number[] = [];
  let finish: () => void = () => undefined;
  return new Promise((resolve, reject) => {
    const instance = autocannon({ url, connections, duration: durationS }, (err, r) => {
      finish();
      if (err) return reject(err as Error);
      const durS = r.duration > 0 ? r.duration : durationS;
      resolve({
        requests: r.requests.total,
        rps: latencies.length / durS,
        errors: r.errors + r.non2xx,
        latencyMs: {
          p50: percentile(latencies, 0.5),
          p90: percentile(latencies, 0.9),
          p99: percentile(latencies, 0.99),
          max: latencies.reduce((a, b) => (b > a ? b : a), 0),
          min: latencies.reduce((a, b) => (b < a ? b : a), Infinity),
        },
        durationS: durS,
      });
    });
    instance.on('start', () => (finish = around()));
    instance.on('response', (_client, status, _bytes, ms) => {
      if (status >= 200 && status < 300) latencies.push(ms);
    });
  });
}

async function runOpenLoop(
  url: string,
  rate: number,
  connections: number,
  durationS: number,
  around: () => () => void,
): Promise<LoadResult> {
  const finish = around();
  // Answers still coming after the window are waited for (up to 2 s) and counted; CPU is read then too.
  const r = await startOpenLoop({ url, rate, connections, durationS }).done;
  finish();
  const lat = latencySummaryS(r);
  return {
    requests: r.answered,
    rps: r.elapsedS > 0 ? r.answered / r.elapsedS : 0,
    errors: r.socketErrors + r.timeouts + r.non2xx,
    latencyMs: { p50: lat.p50 * 1000, p90: lat.p90 * 1000, p99: lat.p99 * 1000, max: lat.max * 1000, min: lat.min * 1000 },
    durationS: r.elapsedS,
    unfinished: r.unfinished,
  };
}
