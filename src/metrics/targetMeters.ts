// One MeterProvider per target: in OTLP each target is its own Resource, and one provider carries
// exactly one resource. Observable instruments read the target's latest samples; GC pauses are
// recorded into histograms as probe snapshots arrive.
import type { Attributes, BatchObservableResult, Histogram, Meter, Observable } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, type IMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  ATTR_CONTAINER_ID,
  ATTR_CPU_MODE,
  ATTR_CPYTHON_GC_GENERATION,
  ATTR_DISK_IO_DIRECTION,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_POD_UID,
  ATTR_NODEJS_EVENTLOOP_STATE,
  ATTR_PROCESS_COMMAND_LINE,
  ATTR_PROCESS_CONTEXT_SWITCH_TYPE,
  ATTR_PROCESS_CREATION_TIME,
  ATTR_PROCESS_EXECUTABLE_NAME,
  ATTR_PROCESS_PARENT_PID,
  ATTR_PROCESS_PID,
  ATTR_PROCESS_RUNTIME_NAME,
  ATTR_PROCESS_RUNTIME_VERSION,
  ATTR_SERVICE_NAME,
  ATTR_SYSTEM_PAGING_FAULT_TYPE,
  ATTR_THREAD_ID,
  ATTR_THREAD_NAME,
  ATTR_V8JS_GC_TYPE,
  ATTR_V8JS_HEAP_SPACE_NAME,
  ATTR_V8JS_RESOURCE_TYPE,
} from './semconv';
import type { DelayStatsNs, EventLoopStats, GcEvent, SnapshotMessage, WorkerThreadStats } from '../../collectors/channel/messages';
import { MAX_HEAP_SPACES, MAX_RESOURCE_TYPES } from '../../collectors/channel/validate';
import { containerStats, type ContainerIdentity, type ContainerInfo } from '../../collectors/proc/container';
import type { ProcSample } from '../../collectors/proc/process';
import { THREAD_STATES } from '../../collectors/proc/threadTime';
import type { ProcessIdentity } from '../discovery';
import { CONTAINER, GC_BUCKETS_S, NODE, PROC, PYTHON, WORK, type InstrumentSpec } from './instruments';

export const SCOPE_NAME = 'rtprof';

/** What the model reads of a target; the agent's Target implements it. */
export interface TargetView {
  identity: ProcessIdentity;
  /** the service's name, shared by every process of its tree */
  serviceName: string;
  lastProc: ProcSample | undefined;
  lastSnapshot: SnapshotMessage | undefined;
  /** how the probe got in, or 'none' */
  attachMethod: string;
  /** its container and cgroups, when known */
  container?: ContainerInfo;
}

/** A reader the Prometheus endpoint pulls from on each scrape. */
export class PullReader extends MetricReader {
  protected override onForceFlush(): Promise<void> {
    return Promise.resolve();
  }
  protected override onShutdown(): Promise<void> {
    return Promise.resolve();
  }
}

/** container.id, k8s.pod.uid, k8s.pod.name, k8s.namespace.name: only those the target shows. */
export function containerAttributes(identity: ContainerIdentity | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (identity?.containerId) out[ATTR_CONTAINER_ID] = identity.containerId;
  if (identity?.podUid) out[ATTR_K8S_POD_UID] = identity.podUid;
  if (identity?.podName) out[ATTR_K8S_POD_NAME] = identity.podName;
  if (identity?.namespace) out[ATTR_K8S_NAMESPACE_NAME] = identity.namespace;
  return out;
}

export function targetResourceAttributes(
  identity: ProcessIdentity,
  withCommandLine: boolean,
  serviceName = identity.serviceName,
  container?: ContainerIdentity,
): Attributes {
  const attributes: Attributes = {
    [ATTR_PROCESS_PID]: identity.pid,
    [ATTR_PROCESS_PARENT_PID]: identity.ppid,
    [ATTR_PROCESS_CREATION_TIME]: new Date(identity.startTimeMs).toISOString(),
    [ATTR_PROCESS_EXECUTABLE_NAME]: identity.executableName,
    [ATTR_PROCESS_RUNTIME_NAME]: identity.runtime,
    [ATTR_SERVICE_NAME]: serviceName,
  };
  if (identity.runtimeVersion) attributes[ATTR_PROCESS_RUNTIME_VERSION] = identity.runtimeVersion;
  // Command lines carry secrets: opt-in only (semantic conventions, process resource).
  if (withCommandLine) attributes[ATTR_PROCESS_COMMAND_LINE] = identity.argv.join(' ');
  return { ...attributes, ...containerAttributes(container) };
}

type Observables = Record<string, Observable>;

function observable(meter: Meter, s: InstrumentSpec): Observable {
  const options = { unit: s.unit, description: s.description };
  if (s.kind === 'counter') return meter.createObservableCounter(s.name, options);
  if (s.kind === 'updowncounter') return meter.createObservableUpDownCounter(s.name, options);
  return meter.createObservableGauge(s.name, options);
}

function histogram(meter: Meter, s: InstrumentSpec): Histogram {
  return meter.createHistogram(s.name, { unit: s.unit, description: s.description, advice: { explicitBucketBoundaries: GC_BUCKETS_S } });
}

const DELAY_KEYS = ['min', 'max', 'mean', 'p50', 'p90', 'p99'] as const;

// The SDK keeps every attribute set it has seen for a provider's lifetime (cumulative temporality),
// so an exited worker thread's series stay, with their last values, until the target goes. Worker
// threads that each get series are bounded per target so a pool that keeps replacing its workers
// cannot grow them without end; later threads are left out of the metrics (they stay in snapshots).
export const MAX_WORKER_THREAD_SERIES = 256;

export class TargetMeters {
  readonly provider: MeterProvider;
  readonly pullReader = new PullReader();
  private readonly v8Gc: Histogram;
  private readonly pyGc: Histogram;
  private readonly workerThreads = new Set<number>();
  private readonly heapSpaces = new Set<string>();
  private readonly resourceTypes = new Set<string>();

  constructor(
    private readonly target: TargetView,
    extraReaders: IMetricReader[] = [],
    withCommandLine = false,
    /** the agent's own (OTEL_RESOURCE_ATTRIBUTES); the target's attributes win over them */
    agentAttributes: Attributes = {},
  ) {
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({
        ...agentAttributes,
        ...targetResourceAttributes(target.identity, withCommandLine, target.serviceName, target.container?.identity),
      }),
      readers: [this.pullReader, ...extraReaders],
    });
    const meter = this.provider.getMeter(SCOPE_NAME);
    this.v8Gc = histogram(meter, NODE.gcDuration);
    this.pyGc = histogram(meter, PYTHON.gcDuration);
    const procObs = Object.fromEntries(Object.entries(PROC).map(([k, s]) => [k, observable(meter, s)]));
    meter.addBatchObservableCallback((result) => this.observeProc(result, procObs), Object.values(procObs));
    const cgroupObs = Object.fromEntries(Object.entries(CONTAINER).map(([k, s]) => [k, observable(meter, s)]));
    meter.addBatchObservableCallback((result) => this.observeCgroup(result, cgroupObs), Object.values(cgroupObs));
    const probeSpecs: Record<string, InstrumentSpec> = {
      ...prefixed('nodeDelay', NODE.delay),
      utilization: NODE.utilization,
      time: NODE.time,
      heapUsed: NODE.heapUsed,
      heapSpaceSize: NODE.heapSpaceSize,
      heapSpaceAvailable: NODE.heapSpaceAvailable,
      heapSpacePhysical: NODE.heapSpacePhysical,
      resourceActive: NODE.resourceActive,
      gcCollections: PYTHON.gcCollections,
      gcCollected: PYTHON.gcCollected,
      gcUncollectable: PYTHON.gcUncollectable,
      ...prefixed('pyDelay', PYTHON.loopDelay),
      loopUtilization: PYTHON.loopUtilization,
      ...prefixed('interpDelay', PYTHON.interpreterDelay),
      ...prefixed('work', WORK),
    };
    const probeObs = Object.fromEntries(Object.entries(probeSpecs).map(([k, s]) => [k, observable(meter, s)]));
    meter.addBatchObservableCallback((result) => this.observeProbe(result, probeObs), Object.values(probeObs));
  }

  /** GC pauses of one snapshot go into the histograms (once: snapshots arrive once each). */
  recordSnapshot(snap: SnapshotMessage, runtime: string): void {
    if (runtime === 'cpython') {
      for (const gc of snap.gc ?? []) this.pyGc.record(gc.durationS, { [ATTR_CPYTHON_GC_GENERATION]: Number(gc.kind.replace('gen', '')) });
      return;
    }
    this.recordV8Gc(snap.gc, {});
    for (const w of this.exported(snap.workers)) this.recordV8Gc(w.gc, threadAttributes(w));
  }

  private recordV8Gc(events: GcEvent[] | undefined, attributes: Attributes): void {
    for (const gc of events ?? []) this.v8Gc.record(gc.durationS, { ...attributes, [ATTR_V8JS_GC_TYPE]: gc.kind });
  }

  /** The worker threads that have (or may get) series: the first MAX_WORKER_THREAD_SERIES seen. */
  private exported(workers: WorkerThreadStats[] | undefined): WorkerThreadStats[] {
    return (workers ?? []).filter((w) => {
      if (this.workerThreads.has(w.threadId)) return true;
      if (this.workerThreads.size >= MAX_WORKER_THREAD_SERIES) return false;
      this.workerThreads.add(w.threadId);
      return true;
    });
  }

  async collect(): Promise<ResourceMetrics> {
    const { resourceMetrics } = await this.pullReader.collect();
    return resourceMetrics;
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }

  private observeProc(result: BatchObservableResult, o: Observables): void {
    const p = this.target.lastProc;
    if (!p) return;
    result.observe(o.cpuTime!, p.cpuUserS, { [ATTR_CPU_MODE]: 'user' });
    result.observe(o.cpuTime!, p.cpuSystemS, { [ATTR_CPU_MODE]: 'system' });
    result.observe(o.cpuUtilization!, p.cpuUtilUser, { [ATTR_CPU_MODE]: 'user' });
    result.observe(o.cpuUtilization!, p.cpuUtilSystem, { [ATTR_CPU_MODE]: 'system' });
    result.observe(o.memoryUsage!, p.rssBytes);
    result.observe(o.memoryVirtual!, p.vmBytes);
    result.observe(o.threadCount!, p.threads);
    result.observe(o.contextSwitches!, p.ctxVoluntary, { [ATTR_PROCESS_CONTEXT_SWITCH_TYPE]: 'voluntary' });
    result.observe(o.contextSwitches!, p.ctxInvoluntary, { [ATTR_PROCESS_CONTEXT_SWITCH_TYPE]: 'involuntary' });
    if (p.diskReadBytes !== undefined) result.observe(o.diskIo!, p.diskReadBytes, { [ATTR_DISK_IO_DIRECTION]: 'read' });
    if (p.diskWriteBytes !== undefined) result.observe(o.diskIo!, p.diskWriteBytes, { [ATTR_DISK_IO_DIRECTION]: 'write' });
    if (p.fds !== undefined) result.observe(o.fdCount!, p.fds);
    result.observe(o.pagingFaults!, p.majorFaults, { [ATTR_SYSTEM_PAGING_FAULT_TYPE]: 'major' });
    result.observe(o.pagingFaults!, p.minorFaults, { [ATTR_SYSTEM_PAGING_FAULT_TYPE]: 'minor' });
    result.observe(o.uptime!, p.uptimeS);
    for (const state of THREAD_STATES) result.observe(o.threadTime!, p.threadTime[state], { state });
    for (const state of THREAD_STATES) result.observe(o.otherThreadsTime!, p.otherThreadsTime[state], { state });
    result.observe(o.targetInfo!, 1, { 'rtprof.attach': this.target.attachMethod });
  }

  /** Read at collection time: a handful of small cgroup files per scrape. Unknown values are left out. */
  private observeCgroup(result: BatchObservableResult, o: Observables): void {
    const c = containerStats(this.target.container);
    if (!c) return;
    if (c.cpuUsageS !== null) result.observe(o.cpuTime!, c.cpuUsageS);
    if (c.cpuLimitCores !== null) result.observe(o.cpuLimit!, c.cpuLimitCores);
    if (c.memoryLimitBytes !== null) result.observe(o.memoryLimit!, c.memoryLimitBytes);
    if (c.memoryUsageBytes !== null) result.observe(o.memoryUsage!, c.memoryUsageBytes);
    if (c.memoryWorkingSetBytes !== null) result.observe(o.memoryWorkingSet!, c.memoryWorkingSetBytes);
    // Throttling only means something under a limit; an unlimited cgroup's zeros would be noise.
    if (c.cpu && c.cpuLimitCores !== null) {
      result.observe(o.throttledTime!, c.cpu.throttledS);
      result.observe(o.periods!, c.cpu.periods);
      result.observe(o.throttledPeriods!, c.cpu.throttledPeriods);
    }
  }

  private observeProbe(result: BatchObservableResult, o: Observables): void {
    const s = this.target.lastSnapshot;
    if (!s) return;
    const runtime = this.target.identity.runtime;
    const delays = (prefix: string, stats: DelayStatsNs | undefined, attributes: Attributes = {}): void => {
      if (!stats) return;
      for (const key of DELAY_KEYS) result.observe(o[`${prefix}.${key}`]!, stats[key] / 1e9, attributes);
    };
    // The main thread's series carry no thread attributes (as before workers were measured); each
    // worker thread's the same series with thread.id and thread.name.
    const nodeLoop = (loop: EventLoopStats | undefined, attributes: Attributes = {}): void => {
      delays('nodeDelay', loop?.delayNs, attributes);
      if (loop?.utilization !== undefined) result.observe(o.utilization!, loop.utilization, attributes);
      if (loop?.activeS !== undefined) result.observe(o.time!, loop.activeS, { ...attributes, [ATTR_NODEJS_EVENTLOOP_STATE]: 'active' });
      if (loop?.idleS !== undefined) result.observe(o.time!, loop.idleS, { ...attributes, [ATTR_NODEJS_EVENTLOOP_STATE]: 'idle' });
    };
    if (runtime === 'nodejs') {
      nodeLoop(s.eventLoop);
      for (const w of this.exported(s.workers)) nodeLoop(w.eventLoop, threadAttributes(w));
      for (const space of s.heap?.spaces ?? []) {
        if (!admit(this.heapSpaces, space.name, MAX_HEAP_SPACES)) continue;
        const attrs = { [ATTR_V8JS_HEAP_SPACE_NAME]: space.name };
        result.observe(o.heapUsed!, space.usedBytes, attrs);
        result.observe(o.heapSpaceSize!, space.sizeBytes, attrs);
        result.observe(o.heapSpaceAvailable!, space.availableBytes, attrs);
        result.observe(o.heapSpacePhysical!, space.physicalBytes, attrs);
      }
      for (const [type, count] of Object.entries(s.resources ?? {})) {
        if (!admit(this.resourceTypes, type, MAX_RESOURCE_TYPES)) continue;
        result.observe(o.resourceActive!, count, { [ATTR_V8JS_RESOURCE_TYPE]: type });
      }
    } else if (runtime === 'cpython') {
      delays('pyDelay', s.eventLoop?.delayNs);
      if (s.eventLoop?.utilization !== undefined) result.observe(o.loopUtilization!, s.eventLoop.utilization);
      delays('interpDelay', s.interpreter?.delayNs);
      for (const [kind, totals] of Object.entries(s.gcTotals?.byKind ?? {})) {
        const attrs = { [ATTR_CPYTHON_GC_GENERATION]: Number(kind.replace('gen', '')) };
        result.observe(o.gcCollections!, totals.count, attrs);
        if (totals.collected !== undefined) result.observe(o.gcCollected!, totals.collected, attrs);
        if (totals.uncollectable !== undefined) result.observe(o.gcUncollectable!, totals.uncollectable, attrs);
      }
    }
    if (s.work) {
      result.observe(o['work.active']!, s.work.inFlight);
      result.observe(o['work.completed']!, s.work.completed);
      result.observe(o['work.busyTime']!, s.work.busyS);
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

function threadAttributes(w: { threadId: number; name: string }): Attributes {
  return { [ATTR_THREAD_ID]: w.threadId, [ATTR_THREAD_NAME]: w.name };
}

function prefixed(prefix: string, specs: Record<string, InstrumentSpec>): Record<string, InstrumentSpec> {
  return Object.fromEntries(Object.entries(specs).map(([k, s]) => [`${prefix}.${k}`, s]));
}
