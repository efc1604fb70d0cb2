// The probe ↔ agent message shapes, version 1 (docs/PROTOCOL.md is the prose of this file).
// Collectors, the agent and the metrics model share these types; validation lives in validate.ts.

export const PROTOCOL_VERSION = 1;
export const MAX_LINE_BYTES = 64 * 1024;

export type ProbeRuntime = 'nodejs' | 'cpython';
export type AttachMethod = 'preload' | 'inspector' | 'gdb' | 'remote_exec';

export interface DelayStatsNs {
  min: number;
  mean: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export interface HelloMessage {
  v: 1;
  type: 'hello';
  pid: number;
  token: string;
  runtime: ProbeRuntime;
  runtimeVersion: string;
  probeVersion: string;
  attach: AttachMethod;
  intervalMs?: number;
  startedAt?: number;
}

export interface GcEvent {
  /** Node: minor, major, incremental, weakcb. Python: gen0, gen1, gen2. */
  kind: string;
  durationS: number;
  collected?: number;
  uncollectable?: number;
}

export interface HeapSpace {
  name: string;
  sizeBytes: number;
  usedBytes: number;
  availableBytes: number;
  physicalBytes: number;
}

/** At most this many worker threads in one snapshot (the Node probe watches no more). */
export const MAX_WORKERS = 64;
/** GC pauses of one worker in one snapshot, at most. */
export const MAX_WORKER_GC_EVENTS = 100;

export interface EventLoopStats {
  delayNs?: DelayStatsNs;
  utilization?: number;
  activeS?: number;
  idleS?: number;
  /** Of idleS, the time some work (a request) was in flight: the loop waited on that work's I/O.
   * Cumulative, as activeS and idleS; absent when the probe sees no requests (no HTTP hooks). */
  idleBusyS?: number;
  /** idleBusyS weighted by the requests in flight: with two in flight, each idle second counts
   * twice. Cumulative; Node only. */
  idleRequestS?: number;
  resolutionNs?: number;
}

export interface GcTotals {
  count: number;
  collected?: number;
  uncollectable?: number;
  byKind?: Record<string, { count: number; collected?: number; uncollectable?: number }>;
}

/** One Node worker_threads worker: its loop and GC pauses, measured in the worker itself. */
export interface WorkerThreadStats {
  /** worker_threads threadId (the main thread is 0 and is never listed) */
  threadId: number;
  /** the Worker's `name` option, else its script's file name */
  name: string;
  /** its OS thread id (/proc/PID/task/TID), when the worker could read it */
  tid?: number;
  /** absent when the worker sent no sample this interval (a loop blocked throughout) */
  eventLoop?: EventLoopStats;
  gc?: GcEvent[];
  gcTotals?: GcTotals;
  /** the worker's GC pauses not sent (over the per-snapshot bound), since the probe reached it */
  dropped?: number;
}

export interface SnapshotMessage {
  v: 1;
  type: 'snapshot';
  pid: number;
  seq: number;
  t: number;
  intervalMs?: number;
  eventLoop?: EventLoopStats;
  gc?: GcEvent[];
  gcTotals?: GcTotals;
  heap?: { usedBytes?: number; totalBytes?: number; spaces?: HeapSpace[] };
  resources?: Record<string, number>;
  interpreter?: { delayNs?: DelayStatsNs };
  threads?: number;
  work?: { inFlight: number; completed: number; busyS: number };
  dropped?: number;
  /** Node: worker threads, main thread excluded, each worker once (by threadId) */
  workers?: WorkerThreadStats[];
  /** Node: why some or all worker threads are not measured (one line) */
  workersUnavailable?: string;
}

export interface ByeMessage {
  v: 1;
  type: 'bye';
}

export type ProbeMessage = HelloMessage | SnapshotMessage;
