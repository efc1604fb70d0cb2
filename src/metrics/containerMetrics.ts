// The cgroup signal of one target: its container's CPU and memory use, limits and throttling, read
// from the cgroup files at collection time (a handful of small files per scrape).
import type { BatchObservableResult, Meter } from '@opentelemetry/api';
import { containerStats, type ContainerInfo } from '../../collectors/proc/container';
import { CONTAINER } from './instruments';
import { BatchSignal } from './observables';

export interface ContainerSource {
  container?: ContainerInfo;
}

export class ContainerMetrics extends BatchSignal<typeof CONTAINER, ContainerSource> {
  constructor(meter: Meter, source: ContainerSource) {
    super(meter, CONTAINER, source);
  }

  /** Unknown values are left out. */
  protected observe(result: BatchObservableResult): void {
    const { o } = this;
    const c = containerStats(this.source.container);
    if (!c) return;
    if (c.cpuUsageS !== null) result.observe(o.cpuTime, c.cpuUsageS);
    if (c.cpuLimitCores !== null) result.observe(o.cpuLimit, c.cpuLimitCores);
    if (c.memoryLimitBytes !== null) result.observe(o.memoryLimit, c.memoryLimitBytes);
    if (c.memoryUsageBytes !== null) result.observe(o.memoryUsage, c.memoryUsageBytes);
    if (c.memoryWorkingSetBytes !== null) result.observe(o.memoryWorkingSet, c.memoryWorkingSetBytes);
    // Throttling only means something under a limit; an unlimited cgroup's zeros would be noise.
    if (c.cpu && c.cpuLimitCores !== null) {
      result.observe(o.throttledTime, c.cpu.throttledS);
      result.observe(o.periods, c.cpu.periods);
      result.observe(o.throttledPeriods, c.cpu.throttledPeriods);
    }
  }
}
