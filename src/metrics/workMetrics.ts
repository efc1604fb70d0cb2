// The work-in-flight signal, from either probe: requests being handled, completed, and the wall
// time with at least one in flight.
import type { BatchObservableResult, Meter } from '@opentelemetry/api';
import { WORK } from './instruments';
import { BatchSignal, type SnapshotSource } from './observables';

export class WorkMetrics extends BatchSignal<typeof WORK, SnapshotSource> {
  constructor(meter: Meter, source: SnapshotSource) {
    super(meter, WORK, source);
  }

  protected observe(result: BatchObservableResult): void {
    const work = this.source.lastSnapshot?.work;
    if (!work) return;
    result.observe(this.o.active, work.inFlight);
    result.observe(this.o.completed, work.completed);
    result.observe(this.o.busyTime, work.busyS);
  }
}
