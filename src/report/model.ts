// The profile document (the JSON contract of `rtprof profile --json`) and the per-interval
// sample the collectors hand to the report. Field names in ProfileDocument are a public contract:
// add fields freely, never rename or remove one.
import type { DelayStatsNs } from '../../collectors/channel/messages';
import type { MemoryTrend } from './trend';

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

/**
 * One thread's seconds in one interval by the finer wait kinds /proc tells apart (collectors/proc
 * syscalls.ts WaitKind): `ready` is waiting for readiness (poll/select/epoll/accept), `wait` an
 * untimed futex (a pool thread parked until handed work).
 */
export interface ThreadKindsS {
  cpu: number;
  runqueue: number;
  io: number;
  ready: number;
  /** a readiness wait that includes a listening socket: waiting for a new connection */
  accept?: number;
  lock: number;
  wait: number;
  sleep: number;
  other: number;
}

export interface ThreadIntervalS {
  tid: number;
  name: string;
  main: boolean;
  seconds: ThreadKindsS;
}

export type ProcessRole = 'master' | 'worker' | 'main';

/** One process of a service in one interval, as the watcher saw it. */
export interface ProcessInterval {
  pid: number;
  ppid: number;
  role: ProcessRole;
  runtime: Runtime;
  cpu: { userS: number; systemS: number };
  rssBytes: number;
  /** Proportional set size (smaps_rollup): shared pages divided among the processes that map them. */
  pssBytes?: number;
  threads: ThreadIntervalS[];
  /** Seconds with >= 1 request in flight in this process, from its probe. */
  busyS?: number;
  /** Of the event loop's idle time (waiting in its poll) in the interval, the share during which
   * some request was in flight, measured by the probe as the overlap itself (Node: the loop's idle
   * clock read at the edges of busy periods; asyncio: the busy clock read around each select). */
  loopWaitBusyShare?: number;
  /** The same weighted by the requests in flight (≥ loopWaitBusyShare; Node's probe only). */
  loopWaitRequestShare?: number;
  /** A probe is attached or on its way: an interval without its evidence is unknown, not io. */
  probeExpected?: boolean;
  /** OS thread ids of the process's Node worker_threads, from its probe: the threads a loop
   * offloads work to (the runtime's own threads, all named alike, are not among them). */
  offloadTids?: number[];
  /** the process held accepted client connections (no probe: /proc evidence) */
  clientConnections?: boolean;
  /** the probe saw an event loop on the main thread (Node always; asyncio when running) */
  eventLoopMain?: boolean;
  eventLoop?: { delayNs: LoopDelayNs; utilization: number };
  gc?: GcPause[];
  /** requests completed in the interval, from the probe's counter */
  requests?: number;
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
  /** A service profile: every process of the tree in this interval (the breakdown then covers the
   * threads that did the work, across processes, instead of one main thread). */
  processes?: ProcessInterval[];
  /** Set by the report: this interval's seconds per state over the work threads, already split. */
  apportioned?: { seconds: Breakdown; evidence: EvidenceSource; unknown?: boolean };
  /** PSS summed over the service's processes, when read. */
  pssBytes?: number;
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
