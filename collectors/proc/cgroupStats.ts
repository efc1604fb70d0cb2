// CPU and memory limits, CPU throttling and memory usage of a cgroup, from the files cgroup v1 and
// v2 name differently. Pure parsers plus readers that return null for what a host does not have.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ancestors, type CgroupDir, type CgroupLocation } from './cgroup';

export interface CpuStat {
  periods: number;
  throttledPeriods: number;
  /** v1 `throttled_time` is ns, v2 `throttled_usec` µs; both summed over the CPUs whose queues were throttled. */
  throttledS: number;
}

export interface CgroupStats {
  /** The tightest quota ÷ period of the cgroup and its ancestors; null when none is limited. */
  cpuLimitCores: number | null;
  /** From the cgroup that carries that limit (a parent's limit throttles the parent, not the leaf). */
  cpu: CpuStat | null;
  /** CPU seconds the cgroup used (v1 cpuacct.usage, v2 cpu.stat usage_usec). */
  cpuUsageS: number | null;
  memoryLimitBytes: number | null;
  memoryUsageBytes: number | null;
  /** usage − inactive file pages, as the kubelet and cAdvisor count it (what the OOM killer weighs). */
  memoryWorkingSetBytes: number | null;
}

/** Space-separated `key value` lines (cpu.stat, memory.stat). */
export function parseKeyValues(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    const [key, value] = line.trim().split(/\s+/);
    if (key && value !== undefined && /^-?\d+$/.test(value)) out.set(key, Number(value));
  }
  return out;
}

/** v2 cpu.max: `max 100000` or `20000 100000`. Cores, or null when unlimited. */
export function parseCpuMax(text: string): number | null {
  const [quota, period] = text.trim().split(/\s+/);
  if (!quota || quota === 'max') return null;
  return coresOf(Number(quota), Number(period ?? 100000));
}

/** v1 cpu.cfs_quota_us (−1 when unlimited) over cpu.cfs_period_us. */
export function parseCfsQuota(quotaText: string, periodText: string): number | null {
  return coresOf(Number(quotaText.trim()), Number(periodText.trim()));
}

function coresOf(quotaUs: number, periodUs: number): number | null {
  if (!Number.isFinite(quotaUs) || !Number.isFinite(periodUs) || quotaUs <= 0 || periodUs <= 0) return null;
  return quotaUs / periodUs;
}

export function parseCpuStat(text: string, version: 1 | 2): CpuStat {
  const kv = parseKeyValues(text);
  return {
    periods: kv.get('nr_periods') ?? 0,
    throttledPeriods: kv.get('nr_throttled') ?? 0,
    throttledS: version === 1 ? (kv.get('throttled_time') ?? 0) / 1e9 : (kv.get('throttled_usec') ?? 0) / 1e6,
  };
}

/**
 * v2 memory.max is `max` when unlimited; v1 memory.limit_in_bytes then reads LONG_MAX rounded down
 * to a page (9223372036854771712), which no real limit comes near.
 */
export function parseMemoryLimit(text: string): number | null {
  const t = text.trim();
  if (t === 'max' || !/^\d+$/.test(t)) return null;
  const n = Number(t);
  return n >= 2 ** 60 ? null : n;
}

export function workingSet(usage: number, stat: Map<string, number>, version: 1 | 2): number {
  const inactive = (version === 1 ? stat.get('total_inactive_file') : stat.get('inactive_file')) ?? 0;
  return Math.max(0, usage - inactive);
}

function read(dir: string, file: string): string | null {
  try {
    return readFileSync(join(dir, file), 'utf8');
  } catch {
    return null;
  }
}

function cpuLimitAt(cg: CgroupDir, dir: string): number | null {
  if (cg.version === 2) {
    const max = read(dir, 'cpu.max');
    return max === null ? null : parseCpuMax(max);
  }
  const quota = read(dir, 'cpu.cfs_quota_us');
  const period = read(dir, 'cpu.cfs_period_us');
  return quota === null || period === null ? null : parseCfsQuota(quota, period);
}

/** The tightest CPU limit on the way to the root and the directory holding it. */
export function effectiveCpuLimit(cg: CgroupDir): { cores: number | null; dir: string } {
  let best: { cores: number | null; dir: string } = { cores: null, dir: cg.dir };
  for (const dir of ancestors(cg)) {
    const cores = cpuLimitAt(cg, dir);
    if (cores !== null && (best.cores === null || cores < best.cores)) best = { cores, dir };
  }
  return best;
}

function effectiveMemoryLimit(cg: CgroupDir): number | null {
  let best: number | null = null;
  for (const dir of ancestors(cg)) {
    const text = read(dir, cg.version === 2 ? 'memory.max' : 'memory.limit_in_bytes');
    const limit = text === null ? null : parseMemoryLimit(text);
    if (limit !== null && (best === null || limit < best)) best = limit;
  }
  return best;
}

function cpuUsageS(loc: CgroupLocation): number | null {
  const acct = loc.cpuacct ?? loc.cpu;
  if (!acct) return null;
  if (acct.version === 1) {
    const ns = read(acct.dir, 'cpuacct.usage');
    return ns !== null && /^\d+\s*$/.test(ns) ? Number(ns.trim()) / 1e9 : null;
  }
  const us = parseKeyValues(read(acct.dir, 'cpu.stat') ?? '').get('usage_usec');
  return us !== undefined ? us / 1e6 : null;
}

export function readCgroupStats(loc: CgroupLocation): CgroupStats {
  const stats: CgroupStats = {
    cpuLimitCores: null,
    cpu: null,
    cpuUsageS: cpuUsageS(loc),
    memoryLimitBytes: null,
    memoryUsageBytes: null,
    memoryWorkingSetBytes: null,
  };
  if (loc.cpu) {
    const limit = effectiveCpuLimit(loc.cpu);
    stats.cpuLimitCores = limit.cores;
    const text = read(limit.dir, 'cpu.stat');
    // On a hybrid host the v2 cpu.stat has usage but no throttling keys: that is "unknown", not zero.
    if (text !== null && /\bnr_periods\b/.test(text)) stats.cpu = parseCpuStat(text, loc.cpu.version);
  }
  const mem = loc.memory;
  if (mem) {
    stats.memoryLimitBytes = effectiveMemoryLimit(mem);
    const usage = read(mem.dir, mem.version === 2 ? 'memory.current' : 'memory.usage_in_bytes');
    if (usage !== null && /^\d+\s*$/.test(usage)) {
      stats.memoryUsageBytes = Number(usage.trim());
      const stat = read(mem.dir, 'memory.stat');
      if (stat !== null) stats.memoryWorkingSetBytes = workingSet(stats.memoryUsageBytes, parseKeyValues(stat), mem.version);
    }
  }
  return stats;
}

/** Throttled seconds between successive calls; the first call only sets the baseline. */
export class ThrottleClock {
  private last: { dir: string; throttledS: number } | undefined;

  constructor(private readonly loc: CgroupLocation | null) {}

  next(): number | undefined {
    if (!this.loc?.cpu) return undefined;
    const { dir } = effectiveCpuLimit(this.loc.cpu);
    const text = read(dir, 'cpu.stat');
    if (text === null || !/\bnr_periods\b/.test(text)) return undefined;
    const now = parseCpuStat(text, this.loc.cpu.version).throttledS;
    const prev = this.last;
    this.last = { dir, throttledS: now };
    // A limit moved to another level (a resize) is another counter: start over from it.
    return prev === undefined || prev.dir !== dir ? undefined : Math.max(0, now - prev.throttledS);
  }
}
