// Turns InstrumentSpecs into OpenTelemetry instruments for the per-signal metric classes: a record of
// specs becomes a record of instruments with the same (compile-time known) keys.
import type { Attributes, BatchObservableResult, Histogram, Meter, Observable } from '@opentelemetry/api';
import type { DelayStatsNs, SnapshotMessage } from '../../collectors/channel/messages';
import { GC_BUCKETS_S, type InstrumentSpec } from './instruments';

/** Where a probe signal reads the target's latest snapshot at collection time. */
export interface SnapshotSource {
  lastSnapshot: SnapshotMessage | undefined;
}

export type Observables<T> = { readonly [K in keyof T]: Observable };

export function observableOf(meter: Meter, s: InstrumentSpec): Observable {
  const options = { unit: s.unit, description: s.description };
  if (s.kind === 'counter') return meter.createObservableCounter(s.name, options);
  if (s.kind === 'updowncounter') return meter.createObservableUpDownCounter(s.name, options);
  return meter.createObservableGauge(s.name, options);
}

/** One observable per spec, keyed as the specs are. */
export function observablesOf<T extends Record<string, InstrumentSpec>>(meter: Meter, specs: T): Observables<T> {
  const out: Partial<Record<keyof T, Observable>> = {};
  for (const key of Object.keys(specs) as (keyof T)[]) out[key] = observableOf(meter, specs[key]);
  return out as Observables<T>;
}

export function gcHistogramOf(meter: Meter, s: InstrumentSpec): Histogram {
  return meter.createHistogram(s.name, { unit: s.unit, description: s.description, advice: { explicitBucketBoundaries: GC_BUCKETS_S } });
}

/** A signal whose instruments, one per spec, are observed together from one source at collection time. */
export abstract class BatchSignal<T extends Record<string, InstrumentSpec>, S> {
  protected readonly o: Observables<T>;

  constructor(
    meter: Meter,
    specs: T,
    protected readonly source: S,
  ) {
    this.o = observablesOf(meter, specs);
    meter.addBatchObservableCallback((result) => this.observe(result), Object.values(this.o));
  }

  protected abstract observe(result: BatchObservableResult): void;
}

export type DelaySpecs = Record<keyof DelayStatsNs, InstrumentSpec>;

/** Six gauges (min, max, mean, p50, p90, p99) of one delay histogram, reported in seconds. */
export class DelayGauges {
  private readonly gauges: Observables<DelaySpecs>;

  constructor(meter: Meter, specs: DelaySpecs) {
    this.gauges = observablesOf(meter, specs);
  }

  get instruments(): Observable[] {
    return Object.values(this.gauges);
  }

  observe(result: BatchObservableResult, stats: DelayStatsNs | undefined, attributes: Attributes = {}): void {
    if (!stats) return;
    for (const key of Object.keys(this.gauges) as (keyof DelayStatsNs)[]) result.observe(this.gauges[key], stats[key] / 1e9, attributes);
  }
}
