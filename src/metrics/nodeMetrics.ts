// The Node probe's signals of one target: event-loop delay, utilization and time (main thread and
// each worker thread), V8 heap spaces and active libuv resources, and V8 GC pauses by kind.
import type { Attributes, BatchObservableResult, Histogram, Meter } from '@opentelemetry/api';
import type { EventLoopStats, GcEvent, SnapshotMessage, WorkerThreadStats } from '../../collectors/channel/messages';
import { MAX_HEAP_SPACES, MAX_RESOURCE_TYPES } from '../../collectors/channel/validate';
import { NODE } from './instruments';
import { BatchSignal, DelayGauges, gcHistogramOf, observablesOf, type Observables, type SnapshotSource } from './observables';
import {
  ATTR_NODEJS_EVENTLOOP_STATE,
  ATTR_THREAD_ID,
  ATTR_THREAD_NAME,
  ATTR_V8JS_GC_TYPE,
  ATTR_V8JS_HEAP_SPACE_NAME,
  ATTR_V8JS_RESOURCE_TYPE,
} from './semconv';

// The SDK keeps every attribute set it has seen for a provider's lifetime (cumulative temporality),
// so an exited worker thread's series stay, with their last values, until the target goes. Worker
// threads that each get series are bounded per target so a pool that keeps replacing its workers
// cannot grow them without end; later threads are left out of the metrics (they stay in snapshots).
export const MAX_WORKER_THREAD_SERIES = 256;

/** The worker threads of one target that have (or may get) series: the first MAX_WORKER_THREAD_SERIES seen. */
export class WorkerThreadSeries {
  private readonly seen = new Set<number>();

  exported(workers: WorkerThreadStats[] | undefined): WorkerThreadStats[] {
    return (workers ?? []).filter((w) => {
      if (this.seen.has(w.threadId)) return true;
      if (this.seen.size >= MAX_WORKER_THREAD_SERIES) return false;
      this.seen.add(w.threadId);
      return true;
    });
  }
}

function threadAttributes(w: { threadId: number; name: string }): Attributes {
  return { [ATTR_THREAD_ID]: w.threadId, [ATTR_THREAD_NAME]: w.name };
}

const LOOP = { utilization: NODE.utilization, time: NODE.time };

export class EventLoopMetrics {
  private readonly delay: DelayGauges;
  private readonly o: Observables<typeof LOOP>;

  constructor(
    meter: Meter,
    private readonly source: SnapshotSource,
    private readonly workers: WorkerThreadSeries,
  ) {
    this.delay = new DelayGauges(meter, NODE.delay);
    this.o = observablesOf(meter, LOOP);
    meter.addBatchObservableCallback((result) => this.observe(result), [...this.delay.instruments, ...Object.values(this.o)]);
  }

  // The main thread's series carry no thread attributes, so they read the same whether or not the
  // process has workers; each worker thread's are the same series with thread.id and thread.name.
  private observe(result: BatchObservableResult): void {
    const s = this.source.lastSnapshot;
    if (!s) return;
    this.observeLoop(result, s.eventLoop, {});
    for (const w of this.workers.exported(s.workers)) this.observeLoop(result, w.eventLoop, threadAttributes(w));
  }

  private observeLoop(result: BatchObservableResult, loop: EventLoopStats | undefined, attributes: Attributes): void {
    const { o } = this;
    this.delay.observe(result, loop?.delayNs, attributes);
    if (loop?.utilization !== undefined) result.observe(o.utilization, loop.utilization, attributes);
    if (loop?.activeS !== undefined) result.observe(o.time, loop.activeS, { ...attributes, [ATTR_NODEJS_EVENTLOOP_STATE]: 'active' });
    if (loop?.idleS !== undefined) result.observe(o.time, loop.idleS, { ...attributes, [ATTR_NODEJS_EVENTLOOP_STATE]: 'idle' });
  }
}

const HEAP = {
  heapUsed: NODE.heapUsed,
  heapSpaceSize: NODE.heapSpaceSize,
  heapSpaceAvailable: NODE.heapSpaceAvailable,
  heapSpacePhysical: NODE.heapSpacePhysical,
  resourceActive: NODE.resourceActive,
};

/** V8 heap spaces and the libuv resources keeping the loop alive. Their names come from the probe:
 * at most MAX_HEAP_SPACES and MAX_RESOURCE_TYPES of each get series per target, the first seen. */
export class V8HeapMetrics extends BatchSignal<typeof HEAP, SnapshotSource> {
  private readonly heapSpaces = new Set<string>();
  private readonly resourceTypes = new Set<string>();

  constructor(meter: Meter, source: SnapshotSource) {
    super(meter, HEAP, source);
  }

  protected observe(result: BatchObservableResult): void {
    const { o } = this;
    const s = this.source.lastSnapshot;
    if (!s) return;
    for (const space of s.heap?.spaces ?? []) {
      if (!admit(this.heapSpaces, space.name, MAX_HEAP_SPACES)) continue;
      const attrs = { [ATTR_V8JS_HEAP_SPACE_NAME]: space.name };
      result.observe(o.heapUsed, space.usedBytes, attrs);
      result.observe(o.heapSpaceSize, space.sizeBytes, attrs);
      result.observe(o.heapSpaceAvailable, space.availableBytes, attrs);
      result.observe(o.heapSpacePhysical, space.physicalBytes, attrs);
    }
    for (const [type, count] of Object.entries(s.resources ?? {})) {
      if (!admit(this.resourceTypes, type, MAX_RESOURCE_TYPES)) continue;
      result.observe(o.resourceActive, count, { [ATTR_V8JS_RESOURCE_TYPE]: type });
    }
  }
}

/** Whether a label value may have series: one already seen, or a new one while fewer than max are. */
function admit(seen: Set<string>, name: string, max: number): boolean {
  if (seen.has(name)) return true;
  if (seen.size >= max) return false;
  seen.add(name);
  return true;
}

/** GC pauses, recorded as snapshots arrive (once each): main thread and worker threads. */
export class V8GcMetrics {
  private readonly duration: Histogram;

  constructor(
    meter: Meter,
    private readonly workers: WorkerThreadSeries,
  ) {
    this.duration = gcHistogramOf(meter, NODE.gcDuration);
  }

  record(snap: SnapshotMessage): void {
    this.recordPauses(snap.gc, {});
    for (const w of this.workers.exported(snap.workers)) this.recordPauses(w.gc, threadAttributes(w));
  }

  private recordPauses(events: GcEvent[] | undefined, attributes: Attributes): void {
    for (const gc of events ?? []) this.duration.record(gc.durationS, { ...attributes, [ATTR_V8JS_GC_TYPE]: gc.kind });
  }
}
