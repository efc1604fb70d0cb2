// The profile document (the JSON contract of `rtprof profile --json`, issue 4) and the per-interval
// sample the collectors hand to the report. Field names in ProfileDocument are a public contract:
// add fields freely, never rename or remove one.
import type { DelayStatsNs } from '../../collectors/channel/messages';

/**
 * The main thread's states, in the order every report shows them. `idle` is waiting with nothing in
 * flight; `throttled` is the part of waiting for a CPU its cgroup's CPU limit caused.
 */
export const BREAKDOWN_STATES = ['cpu', 'runqueue', 'throttled', 'io', 'lock', 'sleep', 'other', 'idle'] as const;
export type BreakdownState = (typeof BREAKDOWN_STATES)[number];
/** Fractions of wall time per state; they sum to 1 (all 0 only when there was no wall time at all). */
export type Breakdown = Record<BreakdownState, number>;

/** Off-CPU and on-CPU seconds of the main thread in one interval, as /proc measured them (no `idle` yet). */
export interface ThreadTimeS {
  cpu: number;
  runqueue: number;
  io: number;
  lock: number;
  sleep: number;
  other: number;
}

/** The probes' delay statistics, as the channel carries them (nanoseconds). */
export type LoopDelayNs = DelayStatsNs;

export interface GcPause {
  /** V8: minor/major/incremental/weakcb; CPython: gen0/gen1/gen2. */
  kind: string;
  durationS: number;
}

/**
 * One collection interval. `t` is when it was taken (ms since the epoch); every delta covers
 * [t − durationS·1000, t].
 */
export interface ProfileSample {
  t: number;
  durationS: number;
  cpu: { userS: number; systemS: number };
  rssBytes: number;
  threadTime: ThreadTimeS;
  /** Seconds of the interval with ≥ 1 request in flight, from a probe; undefined without one. */
  busyS?: number;
  /** Seconds the main thread was blocked on a connected (not listening) socket, from /proc. */
  ioWaitOnConnectedS?: number;
  /** Already corrected for the histogram's resolution (DESIGN: an idle loop reads ≈ 0). */
  eventLoop?: { delayNs: LoopDelayNs; utilization: number };
  /** Each collection in the interval; [] means a probe watched and saw none, undefined means no probe. */
  gc?: GcPause[];
  /** Seconds the target's cgroup was throttled by its CPU limit (cpu.stat delta); undefined when not limited. */
  throttledS?: number;
}

export type Runtime = 'nodejs' | 'cpython' | 'other';
export type AttachMethod = 'inspector' | 'preload' | 'gdb' | 'remote_exec' | 'none';

export interface TargetInfo {
  pid: number;
  runtime: Runtime;
  runtimeVersion: string | null;
  command: string;
  attach: AttachMethod;
}

/** What the CLI measured with --load (autocannon), passed through to the document. */
export interface LoadSummary {
  requests: number;
  rps: number;
  latencyS: { p50: number; p99: number; max: number };
  errors: number;
  /** Optional extras autocannon reports. */
  non2xx?: number;
  timeouts?: number;
  url?: string;
}

/** Which evidence separated `io` (waiting with work in flight) from `idle`. */
export type EvidenceSource = 'probe' | 'proc' | 'none';
export interface Evidence {
  source: EvidenceSource;
  /** e.g. "probe: requests in flight". */
  detail: string;
}

export type Verdict = 'io-bound' | 'cpu-bound' | 'mixed' | 'idle';

/** One interval as the charts draw it. */
export interface SeriesPoint {
  t: number;
  durationS: number;
  cpuCores: number;
  rssBytes: number;
  loopDelayP99S: number | null;
  loopDelayMaxS: number | null;
  loopUtilization: number | null;
  gcCount: number | null;
  gcPauseS: number | null;
  /** Fraction of the interval with work in flight, when a probe said. */
  busyFraction: number | null;
  breakdown: Breakdown;
}

export interface ProfileDocument {
  rtprof: 1;
  target: TargetInfo;
  window: { start: string; end: string; durationS: number };
  cpu: { avgCores: number; maxCores: number; userS: number; systemS: number };
  memory: {
    rssBytes: { min: number; avg: number; max: number; last: number };
    growthBytesPerMin: number;
  };
  eventLoop: {
    /** p50/p90/p99: duration-weighted mean of the per-interval percentiles; max: max of the maxes. */
    delayS: { p50: number; p90: number; p99: number; max: number };
    /** The worst single interval's p99 (a mean hides a bad second). */
    worstIntervalP99S: number;
    utilization: number;
    aggregation: string;
  } | null;
  gc: {
    count: number;
    totalS: number;
    maxS: number;
    /** Over the individual pauses (exact: each pause is reported). */
    p99S: number;
    byKind: Record<string, { count: number; totalS: number; maxS: number }>;
  } | null;
  breakdown: Breakdown;
  verdict: Verdict;
  /** Shares of busy wall time (wall minus idle) per state; what the verdict thresholds read. */
  busy: { wallS: number; fraction: number; shares: Omit<Breakdown, 'idle'> };
  evidence: Evidence;
  /** One sentence a backend engineer can act on. */
  explanation: string;
  /**
   * Where the process's CPU ran: the main thread (whose time the breakdown splits) or others. When
   * other threads did most of it (a thread-per-request or pool server), the breakdown and verdict
   * describe the main thread only, and a warning says so.
   */
  threads: {
    mainCpuS: number;
    otherCpuS: number;
    mainShareOfCpu: number | null;
    workOffMainThread: boolean;
    /** Process CPU seconds ÷ wall seconds with work in flight (can exceed 1 on several cores); null when nothing was busy. */
    processCpuShareOfBusy: number | null;
  };
  load: LoadSummary | null;
  targetExited: boolean;
  warnings: string[];
  /** The machine the profile ran on (null when it could not be read). */
  host?: HostInfo | null;
  /**
   * The target's container and its limits. null when the target is in no identified container
   * (no container id, no pod uid) and under no CPU or memory limit: then there is nothing to say.
   * Inside, each field is null when unknown.
   */
  container?: ContainerSummary | null;
  series: SeriesPoint[];
}

export interface ContainerSummary {
  id: string | null;
  podUid: string | null;
  podName: string | null;
  namespace: string | null;
  cpuLimitCores: number | null;
  /** Seconds the cgroup was throttled over the window (cpu.stat, summed over the CPUs throttled); null when not CPU-limited. */
  throttledS: number | null;
  memoryLimitBytes: number | null;
  /** Working set (usage − inactive file) at the end of the window. */
  memoryWorkingSetBytes: number | null;
}

export interface HostInfo {
  cores: number;
  cpuModel: string;
  memTotalBytes: number;
  os: string;
  kernel: string;
}

/** What the caller knows that the samples do not. */
export interface ProfileMeta {
  target: TargetInfo;
  /** Window start, ms since the epoch; defaults to the first sample's interval start. */
  startMs?: number;
  load?: LoadSummary | null;
  targetExited?: boolean;
  warnings?: string[];
  host?: HostInfo | null;
  /** Identity and limits of the target's cgroup (throttledS is summed from the samples, not taken from here). */
  container?: Omit<ContainerSummary, 'throttledS'> | null;
}
