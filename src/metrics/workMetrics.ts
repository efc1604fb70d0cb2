// The work-in-flight signal, from either probe: requests being handled, completed, and the wall
// time with at least one in flight.
import type { BatchObservableResult, Meter } from '@opentelemetry/api';
import { WORK } from './instruments';
import { observablesOf, type Observables, type SnapshotSource } from './observables';

export class WorkMetrics {
  private readonly o: Observables<typeof WORK>;

  constructor(
    meter: Meter,
    private readonly source: SnapshotSource,
  ) {
    this.o = observablesOf(meter, WORK);
    meter.addBatchObservableCallback((result) => this.observe(result), Object.values(this.o));
  }

  private observe(result: BatchObservableResult): void {
    const work = this.source.lastSnapshot?.work;
    if (!work) return;
    result.observe(this.o.active, work.inFlight);
    result.observe(this.o.completed, work.completed);
    result.observe(this.o.busyTime, work.busyS);
  }
}
