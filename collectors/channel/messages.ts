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

export interface SnapshotMessage {
  v: 1;
  type: 'snapshot';
  pid: number;
  seq: number;
  t: number;
  intervalMs?: number;
  eventLoop?: {
    delayNs?: DelayStatsNs;
    utilization?: number;
    activeS?: number;
    idleS?: number;
    resolutionNs?: number;
  };
  gc?: GcEvent[];
  gcTotals?: {
    count: number;
    collected?: number;
    uncollectable?: number;
    byKind?: Record<string, { count: number; collected?: number; uncollectable?: number }>;
  };
  heap?: { usedBytes?: number; totalBytes?: number; spaces?: HeapSpace[] };
  resources?: Record<string, number>;
  interpreter?: { delayNs?: DelayStatsNs };
  threads?: number;
  work?: { inFlight: number; completed: number; busyS: number };
  dropped?: number;
}

export interface ByeMessage {
  v: 1;
  type: 'bye';
}

export type ProbeMessage = HelloMessage | SnapshotMessage;
