// Shape checks for probe → agent lines (docs/PROTOCOL.md). Pure functions: the channel server
// decides what a failure costs (drop the line, or close the connection), these only say why.

import { MAX_LINE_BYTES, MAX_WORKER_GC_EVENTS, MAX_WORKERS, PROTOCOL_VERSION } from './messages';
import type { DelayStatsNs, HelloMessage, ProbeMessage, SnapshotMessage } from './messages';

export type DropReason = 'bad_json' | 'too_long' | 'bad_schema' | 'bad_version' | 'bad_token' | 'wrong_pid' | 'rate_limited' | 'no_hello';

export const DROP_REASONS: readonly DropReason[] = [
  'bad_json',
  'too_long',
  'bad_schema',
  'bad_version',
  'bad_token',
  'wrong_pid',
  'rate_limited',
  'no_hello',
];

export type ParseResult = { ok: true; msg: ProbeMessage } | { ok: false; reason: DropReason; detail: string };

const RUNTIMES = new Set(['nodejs', 'cpython']);
const ATTACH_METHODS = new Set(['preload', 'inspector', 'gdb', 'remote_exec']);
const MAX_GC_EVENTS = 1000;
const MAX_STRING = 256;
// Each name below becomes a label value of its own series: they come from small known sets or a
// narrow shape with a low count, so a probe (or whatever holds its token) cannot flood /metrics.
// V8's gc types (perf_hooks' NODE_PERFORMANCE_GC_*) and CPython's generations.
const GC_KINDS = new Set(['minor', 'major', 'incremental', 'weakcb', 'other', ...Array.from({ length: 10 }, (_, i) => `gen${i}`)]);
/** Names of libuv resource types (TCPSocketWrap, Timeout, FSReqCallback, ...). */
export const MAX_RESOURCE_TYPES = 32;
const RESOURCE_TYPE = /^[A-Za-z][A-Za-z0-9_]{0,63}$/;
/** V8 heap spaces (new_space, old_space, code_large_object_space, ...): 13 in Node 22. */
export const MAX_HEAP_SPACES = 32;
const HEAP_SPACE = /^[a-z][a-z0-9_]{0,62}_space$/;
// Above 2^53 nothing on the channel is a real count, time or size (1e308 would pass isFinite).
const MAX_NUMBER = Number.MAX_SAFE_INTEGER;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A finite number >= 0 (every quantity on the channel is a count, a time or a size). */
function isNum(v: unknown): v is number {
  return typeof v === 'number' && v >= 0 && v <= MAX_NUMBER;
}

function isInt(v: unknown): v is number {
  return isNum(v) && Number.isInteger(v);
}

function isStr(v: unknown, max = MAX_STRING): v is string {
  return typeof v === 'string' && v.length > 0 && v.length <= max;
}

function optional(o: Obj, key: string, check: (v: unknown) => boolean): boolean {
  return o[key] === undefined || check(o[key]);
}

function isDelayStats(v: unknown): v is DelayStatsNs {
  if (!isObj(v)) return false;
  return ['min', 'mean', 'p50', 'p90', 'p99', 'max'].every((k) => isNum(v[k]));
}

function isResources(v: unknown): boolean {
  if (!isObj(v)) return false;
  const keys = Object.keys(v);
  return keys.length <= MAX_RESOURCE_TYPES && keys.every((k) => RESOURCE_TYPE.test(k) && isNum(v[k]));
}

function isGcKind(v: unknown): boolean {
  return typeof v === 'string' && GC_KINDS.has(v);
}

function isGcEvent(v: unknown): boolean {
  return isObj(v) && isGcKind(v.kind) && isNum(v.durationS) && optional(v, 'collected', isNum) && optional(v, 'uncollectable', isNum);
}

function isGcTotals(v: unknown): boolean {
  if (!isObj(v) || !isNum(v.count)) return false;
  if (!optional(v, 'collected', isNum) || !optional(v, 'uncollectable', isNum)) return false;
  if (v.byKind === undefined) return true;
  if (!isObj(v.byKind) || !Object.keys(v.byKind).every(isGcKind)) return false;
  return Object.values(v.byKind).every(
    (k) => isObj(k) && isNum(k.count) && optional(k, 'collected', isNum) && optional(k, 'uncollectable', isNum),
  );
}

function isHeapSpace(v: unknown): boolean {
  return (
    isObj(v) &&
    typeof v.name === 'string' &&
    HEAP_SPACE.test(v.name) &&
    ['sizeBytes', 'usedBytes', 'availableBytes', 'physicalBytes'].every((k) => isNum(v[k]))
  );
}

function isHeap(v: unknown): boolean {
  if (!isObj(v)) return false;
  if (!optional(v, 'usedBytes', isNum) || !optional(v, 'totalBytes', isNum)) return false;
  return v.spaces === undefined || (Array.isArray(v.spaces) && v.spaces.length <= MAX_HEAP_SPACES && v.spaces.every(isHeapSpace));
}

function isEventLoop(v: unknown): boolean {
  if (!isObj(v)) return false;
  const u = v.utilization;
  return (
    optional(v, 'delayNs', isDelayStats) &&
    (u === undefined || (isNum(u) && u <= 1)) &&
    optional(v, 'activeS', isNum) &&
    optional(v, 'idleS', isNum) &&
    optional(v, 'idleBusyS', isNum) &&
    optional(v, 'idleRequestS', isNum) &&
    optional(v, 'resolutionNs', isNum)
  );
}

function isGcEvents(v: unknown, max: number): boolean {
  return Array.isArray(v) && v.length <= max && v.every(isGcEvent);
}

function isWorker(v: unknown): boolean {
  if (!isObj(v) || !isInt(v.threadId) || v.threadId === 0 || !isStr(v.name, 128)) return false;
  return (
    optional(v, 'tid', isInt) &&
    optional(v, 'eventLoop', isEventLoop) &&
    optional(v, 'gc', (g) => isGcEvents(g, MAX_WORKER_GC_EVENTS)) &&
    optional(v, 'gcTotals', isGcTotals) &&
    optional(v, 'dropped', isNum)
  );
}

/** At most MAX_WORKERS, each valid, no threadId twice (each would be one set of series). */
function isWorkers(v: unknown): boolean {
  if (!Array.isArray(v) || v.length > MAX_WORKERS || !v.every(isWorker)) return false;
  return new Set(v.map((w: Obj) => w.threadId)).size === v.length;
}

function isWork(v: unknown): boolean {
  return isObj(v) && isNum(v.inFlight) && isNum(v.completed) && isNum(v.busyS);
}

function checkHello(o: Obj): string | null {
  if (!isInt(o.pid) || o.pid === 0) return 'pid';
  if (!isStr(o.token, 512)) return 'token';
  if (typeof o.runtime !== 'string' || !RUNTIMES.has(o.runtime)) return 'runtime';
  if (!isStr(o.runtimeVersion, 64)) return 'runtimeVersion';
  if (!isStr(o.probeVersion, 64)) return 'probeVersion';
  if (typeof o.attach !== 'string' || !ATTACH_METHODS.has(o.attach)) return 'attach';
  if (!optional(o, 'intervalMs', isNum)) return 'intervalMs';
  if (!optional(o, 'startedAt', isNum)) return 'startedAt';
  return null;
}

function checkSnapshot(o: Obj): string | null {
  if (!isInt(o.pid) || o.pid === 0) return 'pid';
  if (!isInt(o.seq)) return 'seq';
  if (!isNum(o.t)) return 't';
  if (!optional(o, 'intervalMs', isNum)) return 'intervalMs';
  if (!optional(o, 'eventLoop', isEventLoop)) return 'eventLoop';
  if (!optional(o, 'gc', (g) => isGcEvents(g, MAX_GC_EVENTS))) return 'gc';
  if (!optional(o, 'gcTotals', isGcTotals)) return 'gcTotals';
  if (!optional(o, 'heap', isHeap)) return 'heap';
  if (!optional(o, 'resources', isResources)) return 'resources';
  if (!optional(o, 'interpreter', (v) => isObj(v) && optional(v, 'delayNs', isDelayStats))) return 'interpreter';
  if (!optional(o, 'threads', isInt)) return 'threads';
  if (!optional(o, 'work', isWork)) return 'work';
  if (!optional(o, 'dropped', isNum)) return 'dropped';
  if (!optional(o, 'workers', isWorkers)) return 'workers';
  if (!optional(o, 'workersUnavailable', (v) => isStr(v, MAX_STRING))) return 'workersUnavailable';
  return null;
}

/** Parses and checks one line (without its newline). Never throws. */
export function parseProbeLine(line: string): ParseResult {
  if (Buffer.byteLength(line, 'utf8') > MAX_LINE_BYTES) {
    return { ok: false, reason: 'too_long', detail: `line over ${MAX_LINE_BYTES} bytes` };
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch {
    return { ok: false, reason: 'bad_json', detail: 'not JSON' };
  }
  if (!isObj(value)) return { ok: false, reason: 'bad_schema', detail: 'not an object' };
  if (value.v !== PROTOCOL_VERSION) return { ok: false, reason: 'bad_version', detail: `v=${String(value.v)}` };
  let bad: string | null;
  if (value.type === 'hello') bad = checkHello(value);
  else if (value.type === 'snapshot') bad = checkSnapshot(value);
  else return { ok: false, reason: 'bad_version', detail: `unknown type ${String(value.type).slice(0, 32)}` };
  if (bad !== null) return { ok: false, reason: 'bad_schema', detail: `${String(value.type)}.${bad}` };
  return { ok: true, msg: value as unknown as HelloMessage | SnapshotMessage };
}
