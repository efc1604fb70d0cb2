// The /proc signal of one target (any process, no probe): CPU, memory, threads, context switches,
// disk, fds, faults, uptime, where the threads' wall time goes, and the target's info series.
import type { BatchObservableResult, Meter } from '@opentelemetry/api';
import type { ProcSample } from '../../collectors/proc/process';
import { THREAD_STATES } from '../../collectors/proc/threadTime';
import { PROC } from './instruments';
import { BatchSignal } from './observables';
import { ATTR_CPU_MODE, ATTR_DISK_IO_DIRECTION, ATTR_PROCESS_CONTEXT_SWITCH_TYPE, ATTR_SYSTEM_PAGING_FAULT_TYPE } from './semconv';

export interface ProcSource {
  lastProc: ProcSample | undefined;
  /** how the probe got in, or 'none' */
  attachMethod: string;
}

export class ProcessMetrics extends BatchSignal<typeof PROC, ProcSource> {
  constructor(meter: Meter, source: ProcSource) {
    super(meter, PROC, source);
  }

  protected observe(result: BatchObservableResult): void {
    const { o } = this;
    const p = this.source.lastProc;
    if (!p) return;
    result.observe(o.cpuTime, p.cpuUserS, { [ATTR_CPU_MODE]: 'user' });
    result.observe(o.cpuTime, p.cpuSystemS, { [ATTR_CPU_MODE]: 'system' });
    result.observe(o.cpuUtilization, p.cpuUtilUser, { [ATTR_CPU_MODE]: 'user' });
    result.observe(o.cpuUtilization, p.cpuUtilSystem, { [ATTR_CPU_MODE]: 'system' });
    result.observe(o.memoryUsage, p.rssBytes);
    result.observe(o.memoryVirtual, p.vmBytes);
    result.observe(o.threadCount, p.threads);
    result.observe(o.contextSwitches, p.ctxVoluntary, { [ATTR_PROCESS_CONTEXT_SWITCH_TYPE]: 'voluntary' });
    result.observe(o.contextSwitches, p.ctxInvoluntary, { [ATTR_PROCESS_CONTEXT_SWITCH_TYPE]: 'involuntary' });
    if (p.diskReadBytes !== undefined) result.observe(o.diskIo, p.diskReadBytes, { [ATTR_DISK_IO_DIRECTION]: 'read' });
    if (p.diskWriteBytes !== undefined) result.observe(o.diskIo, p.diskWriteBytes, { [ATTR_DISK_IO_DIRECTION]: 'write' });
    if (p.fds !== undefined) result.observe(o.fdCount, p.fds);
    result.observe(o.pagingFaults, p.majorFaults, { [ATTR_SYSTEM_PAGING_FAULT_TYPE]: 'major' });
    result.observe(o.pagingFaults, p.minorFaults, { [ATTR_SYSTEM_PAGING_FAULT_TYPE]: 'minor' });
    result.observe(o.uptime, p.uptimeS);
    for (const state of THREAD_STATES) result.observe(o.threadTime, p.threadTime[state], { state });
    for (const state of THREAD_STATES) result.observe(o.otherThreadsTime, p.otherThreadsTime[state], { state });
    result.observe(o.targetInfo, 1, { 'rtprof.attach': this.source.attachMethod });
  }
}
