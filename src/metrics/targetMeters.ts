// One MeterProvider per target: in OTLP each target is its own Resource, and one provider carries
// exactly one resource. The signals of the target's runtime each hold their instruments (the
// *Metrics classes beside this file); observables read the target's latest samples, GC pauses are
// recorded into histograms as probe snapshots arrive.
import type { Attributes, Meter } from '@opentelemetry/api';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, MetricReader, type IMetricReader, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import {
  ATTR_CONTAINER_ID,
  ATTR_K8S_NAMESPACE_NAME,
  ATTR_K8S_POD_NAME,
  ATTR_K8S_POD_UID,
  ATTR_PROCESS_COMMAND_LINE,
  ATTR_PROCESS_CREATION_TIME,
  ATTR_PROCESS_EXECUTABLE_NAME,
  ATTR_PROCESS_PARENT_PID,
  ATTR_PROCESS_PID,
  ATTR_PROCESS_RUNTIME_NAME,
  ATTR_PROCESS_RUNTIME_VERSION,
  ATTR_SERVICE_NAME,
} from './semconv';
import type { SnapshotMessage } from '../../collectors/channel/messages';
import type { ContainerIdentity, ContainerInfo } from '../../collectors/proc/container';
import type { ProcSample } from '../../collectors/proc/process';
import type { ProcessIdentity } from '../discovery';
import { ContainerMetrics } from './containerMetrics';
import { EventLoopMetrics, V8GcMetrics, V8HeapMetrics, WorkerThreadSeries } from './nodeMetrics';
import { ProcessMetrics } from './processMetrics';
import { CPythonGcMetrics, PythonLoopMetrics } from './pythonMetrics';
import { WorkMetrics } from './workMetrics';

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

/** What a runtime's probe signals do with each snapshot as it arrives (its GC pauses). */
interface SnapshotRecorder {
  record(snap: SnapshotMessage): void;
}

/** The probe signals of the target's runtime; a process that is neither Node nor Python has none. */
function probeSignals(meter: Meter, target: TargetView): SnapshotRecorder | undefined {
  if (target.identity.runtime === 'nodejs') {
    const workers = new WorkerThreadSeries();
    new EventLoopMetrics(meter, target, workers);
    new V8HeapMetrics(meter, target);
    return new V8GcMetrics(meter, workers);
  }
  if (target.identity.runtime === 'cpython') {
    new PythonLoopMetrics(meter, target);
    return new CPythonGcMetrics(meter, target);
  }
  return undefined;
}

export class TargetMeters {
  readonly provider: MeterProvider;
  readonly pullReader = new PullReader();
  private readonly probe: SnapshotRecorder | undefined;

  constructor(
    target: TargetView,
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
    new ProcessMetrics(meter, target);
    new ContainerMetrics(meter, target);
    this.probe = probeSignals(meter, target);
    new WorkMetrics(meter, target);
  }

  /** GC pauses of one snapshot go into the histograms (once: snapshots arrive once each). */
  recordSnapshot(snap: SnapshotMessage): void {
    this.probe?.record(snap);
  }

  async collect(): Promise<ResourceMetrics> {
    const { resourceMetrics } = await this.pullReader.collect();
    return resourceMetrics;
  }

  shutdown(): Promise<void> {
    return this.provider.shutdown();
  }
}
