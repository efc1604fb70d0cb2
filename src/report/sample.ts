// The per-interval sample the collectors hand to the report (profile/samples.ts builds them from what
// the watcher saw; build.ts reads them): one interval of a target or a service, with the
// main thread's states the report splits wall time into.
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
  /** The probe arrived during this interval: an injection stopped the process for a moment and the
   * probe's counters cover only part of it, so the process sits it out. */
  probeArriving?: boolean;
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

/** Which evidence separated `io` (waiting with work in flight) from `idle`. */
export type EvidenceSource = 'probe' | 'proc' | 'none';
