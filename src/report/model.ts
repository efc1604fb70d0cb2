// The profile document: the JSON contract of `rtprof profile --json`, made from the per-interval
// samples (sample.ts, whose types are re-exported here so the report's modules import one place).
// Field names in ProfileDocument are a public contract: add fields freely, never rename or remove one.
import type { Breakdown, EvidenceSource, ProcessRole, Runtime } from './sample';
import type { MemoryTrend } from './trend';

export { BREAKDOWN_STATES } from './sample';
export type {
  Breakdown,
  BreakdownState,
  EvidenceSource,
  GcPause,
  LoopDelayNs,
  ProcessInterval,
  ProcessRole,
  ProfileSample,
  Runtime,
  ThreadIntervalS,
  ThreadKindsS,
  ThreadTimeS,
} from './sample';

export type AttachMethod = 'inspector' | 'preload' | 'gdb' | 'remote_exec' | 'none';

export interface TargetInfo {
  pid: number;
  runtime: Runtime;
  runtimeVersion: string | null;
  command: string;
  attach: AttachMethod;
}

/**
 * What the CLI measured with --load, passed through to the document: autocannon as fast as the
 * connections go (closed loop), or rtprof's own open-loop generator at --rate.
 */
export interface LoadSummary {
  /** answers received (any status) */
  requests: number;
  /** answers per second achieved */
  rps: number;
  /** open loop: from when each request was due to be sent, so a client or connection that fell
   * behind counts; closed loop: from when autocannon sent it. p90/min/mean are absent in documents
   * written before they were reported. */
  latencyS: { p50: number; p99: number; max: number; p90?: number; min?: number; mean?: number };
  /** socket errors, timeouts and non-2xx answers together */
  errors: number;
  non2xx?: number;
  timeouts?: number;
  url?: string;
  mode?: 'open-loop' | 'closed-loop';
  /** open loop: the requested rate, requests due in the window, and the connection cap */
  targetRps?: number;
  scheduled?: number;
  connections?: number;
  /** open loop: due in the window but unanswered when the load stopped (not in the percentiles) */
  unfinished?: number;
  /** open loop: how late requests went out after they were due (waiting for a connection or
   * for the generator's own timer), already inside latencyS */
  sendLagS?: { p50: number; p99: number; max: number };
  /** open loop: the most due requests waiting for a free connection at once */
  maxQueued?: number;
}

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
  /** null: the interval is left out of the window's shares (no evidence of work in flight yet). */
  breakdown: Breakdown | null;
}

export interface ProfileDocument {
  /** The document format's version. */
  rtprof: 1;
  /** The version of the rtprof package that made the document. */
  rtprofVersion: string;
  target: TargetInfo;
  window: { start: string; end: string; durationS: number };
  cpu: { avgCores: number; maxCores: number; userS: number; systemS: number };
  memory: {
    rssBytes: { min: number; avg: number; max: number; last: number };
    /** A service of several processes: PSS summed over them (pre-fork workers share pages, so a
     * sum of RSS overstates what the service holds). */
    pssBytes?: { min: number; avg: number; max: number; last: number };
    /** The raw least-squares slope, whatever its uncertainty; `trend` says whether it means anything. */
    growthBytesPerMin: number;
    /** The slope with its standard error and interval; status unknown: not enough time to tell. */
    trend: MemoryTrend;
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
  threadCpu: {
    mainCpuS: number;
    otherCpuS: number;
    mainShareOfCpu: number | null;
    workOffMainThread: boolean;
    /** Process CPU seconds ÷ wall seconds with work in flight (can exceed 1 on several cores); null when nothing was busy. */
    processCpuShareOfBusy: number | null;
  };
  /** The busiest threads of the service over the window (the ones whose time the breakdown covers first). */
  threads: ThreadRow[];
  /** One row per process of the service: master and workers, including ones that exited or appeared. */
  processes: ProcessRow[];
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

export interface ThreadRow {
  pid: number;
  /** the thread's id (the first one's, when the row groups several) */
  tid: number;
  name: string;
  /** loop: an event loop carrying requests; request: a thread that served them; helper: one
   * that computed for a loop (worker_threads, a pool); idle: did no work in the window */
  role: 'loop' | 'request' | 'helper' | 'idle';
  /** threads in this row: same process, name and role (a thread per request makes many) */
  count: number;
  /** whether the breakdown counts this thread's time (loop and request threads; helpers' CPU is
   * counted in their loop's time) */
  work: boolean;
  /** seconds the thread(s) were watched in the window */
  wallS: number;
  cpuS: number;
  /** shares of its watched time per state (idle = waiting with nothing in flight) */
  shares: Breakdown;
}

export interface ProcessRow {
  pid: number;
  ppid: number;
  role: ProcessRole;
  runtime: Runtime;
  cpu: { avgCores: number; userS: number; systemS: number };
  memory: { rssBytes: number; pssBytes: number | null };
  eventLoop: { delayP99S: number; delayMaxS: number; utilization: number } | null;
  gc: { count: number; totalS: number } | null;
  requests: number | null;
  /** seconds into the window it was first and last seen (a respawned worker starts late) */
  firstSeenS: number;
  lastSeenS: number;
  exited: boolean;
  /** threads that did work in the window */
  workThreads: number;
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
