// The Python probe's signals of one target: asyncio loop delay and utilization, interpreter (GIL)
// delay, and CPython GC pauses and totals by generation.
import type { BatchObservableResult, Histogram, Meter, Observable } from '@opentelemetry/api';
import type { SnapshotMessage } from '../../collectors/channel/messages';
import { PYTHON } from './instruments';
import { BatchSignal, DelayGauges, gcHistogramOf, observableOf, type SnapshotSource } from './observables';
import { ATTR_CPYTHON_GC_GENERATION } from './semconv';

// The probe names CPython's three GC generations gen0..gen2 (the same kinds the report shows);
// cpython.gc.generation is the number. A kind outside these gets no series.
const GENERATIONS: ReadonlyMap<string, number> = new Map([
  ['gen0', 0],
  ['gen1', 1],
  ['gen2', 2],
]);

export class PythonLoopMetrics {
  private readonly loopDelay: DelayGauges;
  private readonly interpreterDelay: DelayGauges;
  private readonly loopUtilization: Observable;

  constructor(
    meter: Meter,
    private readonly source: SnapshotSource,
  ) {
    this.loopDelay = new DelayGauges(meter, PYTHON.loopDelay);
    this.loopUtilization = observableOf(meter, PYTHON.loopUtilization);
    this.interpreterDelay = new DelayGauges(meter, PYTHON.interpreterDelay);
    const instruments = [...this.loopDelay.instruments, this.loopUtilization, ...this.interpreterDelay.instruments];
    meter.addBatchObservableCallback((result) => this.observe(result), instruments);
  }

  private observe(result: BatchObservableResult): void {
    const s = this.source.lastSnapshot;
    if (!s) return;
    this.loopDelay.observe(result, s.eventLoop?.delayNs);
    if (s.eventLoop?.utilization !== undefined) result.observe(this.loopUtilization, s.eventLoop.utilization);
    this.interpreterDelay.observe(result, s.interpreter?.delayNs);
  }
}

const GC_TOTALS = { gcCollections: PYTHON.gcCollections, gcCollected: PYTHON.gcCollected, gcUncollectable: PYTHON.gcUncollectable };

export class CPythonGcMetrics extends BatchSignal<typeof GC_TOTALS, SnapshotSource> {
  private readonly duration: Histogram;

  constructor(meter: Meter, source: SnapshotSource) {
    super(meter, GC_TOTALS, source);
    this.duration = gcHistogramOf(meter, PYTHON.gcDuration);
  }

  /** GC pauses of one snapshot (once: snapshots arrive once each). */
  record(snap: SnapshotMessage): void {
    for (const gc of snap.gc ?? []) {
      const generation = GENERATIONS.get(gc.kind);
      if (generation !== undefined) this.duration.record(gc.durationS, { [ATTR_CPYTHON_GC_GENERATION]: generation });
    }
  }

  protected observe(result: BatchObservableResult): void {
    const { o } = this;
    for (const [kind, totals] of Object.entries(this.source.lastSnapshot?.gcTotals?.byKind ?? {})) {
      const generation = GENERATIONS.get(kind);
      if (generation === undefined) continue;
      const attrs = { [ATTR_CPYTHON_GC_GENERATION]: generation };
      result.observe(o.gcCollections, totals.count, attrs);
      if (totals.collected !== undefined) result.observe(o.gcCollected, totals.collected, attrs);
      if (totals.uncollectable !== undefined) result.observe(o.gcUncollectable, totals.uncollectable, attrs);
    }
  }
}
