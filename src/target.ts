// One watched process: its identity (pid + start time), the service it belongs to, its /proc
// collector, its probe's lifecycle and what it said last, and what could not be collected and why.
import type { SnapshotMessage } from '../collectors/channel/messages';
import { describeContainer, type ContainerInfo } from '../collectors/proc/container';
import { containerMeta } from './profile/container';
import type { ProcessIdentity } from '../collectors/proc/identity';
import { ProcCollector, type ProcCollectorOptions, type ProcSample } from '../collectors/proc/process';
import type { TargetView } from './metrics/targetMeters';
import { ProbeLifecycle } from './probeLifecycle';

export type { ProbeState } from './probeLifecycle';

/** A target is one process of a service: the process a pid names, and its descendants. */
export interface ServiceMembership {
  /** pid of the process the user named (the service's root) */
  rootPid: number;
  /** the root's service name, shared by the whole tree so a query can sum a service */
  name: string;
}

export type ProcessRole = 'master' | 'worker' | 'main';

export class Target implements TargetView {
  readonly proc: ProcCollector;
  lastProc: ProcSample | undefined;
  lastSnapshot: SnapshotMessage | undefined;
  readonly probe = new ProbeLifecycle();
  readonly addedAtMs = Date.now();
  /** Read once: a process rarely changes cgroup, and its container never changes. */
  readonly container: ContainerInfo;
  /** set by the watcher when other processes of the tree turn out to descend from this one */
  hasDescendants = false;

  constructor(
    readonly identity: ProcessIdentity,
    readonly service: ServiceMembership = { rootPid: identity.pid, name: identity.serviceName },
    procOptions: ProcCollectorOptions = {},
  ) {
    this.proc = new ProcCollector(identity.pid, identity.startTicks, procOptions);
    this.container = describeContainer(identity.pid);
  }

  /** master: a process of the tree that started others; worker: any other descendant; main: a
   * process on its own. */
  get role(): ProcessRole {
    if (this.hasDescendants) return 'master';
    return this.service.rootPid !== this.identity.pid ? 'worker' : 'main';
  }

  get serviceName(): string {
    return this.service.name;
  }

  get pid(): number {
    return this.identity.pid;
  }

  /** 'pid:startTicks' — a reused pid is a different target. */
  get key(): string {
    return `${this.identity.pid}:${this.identity.startTicks}`;
  }

  get attachMethod(): string {
    return this.probe.state === 'connected' ? this.probe.method : 'none';
  }

  label(): string {
    return `${this.identity.pid} (${this.service.name})`;
  }

  private containerJSON(): Record<string, unknown> {
    return {
      ...containerMeta(this.container),
      cgroup: { cpu: this.container.location?.cpu?.dir ?? null, memory: this.container.location?.memory?.dir ?? null },
    };
  }

  /** What is collected and what is not, for /api/targets. */
  toJSON(): Record<string, unknown> {
    const id = this.identity;
    return {
      pid: id.pid,
      startTime: new Date(id.startTimeMs).toISOString(),
      runtime: id.runtime,
      runtimeVersion: id.runtimeVersion ?? null,
      parentPid: id.ppid,
      serviceName: this.service.name,
      serviceRootPid: this.service.rootPid,
      role: this.role,
      executable: id.exe ?? null,
      uid: id.uid,
      container: this.containerJSON(),
      probe: this.probe.toJSON(),
      collected: {
        proc: this.lastProc !== undefined,
        threadState: !this.proc.unavailable.has('threadState'),
        probe: this.probe.state === 'connected',
      },
      unavailable: {
        ...Object.fromEntries(this.proc.unavailable),
        // Node worker threads the probe could not measure, and why (the latest snapshot says).
        ...(this.lastSnapshot?.workersUnavailable ? { workers: this.lastSnapshot.workersUnavailable } : {}),
      },
      last: this.lastProc
        ? {
            t: new Date(this.lastProc.t).toISOString(),
            rssBytes: this.lastProc.rssBytes,
            cpuUtilization: this.lastProc.cpuUtilUser + this.lastProc.cpuUtilSystem,
          }
        : null,
    };
  }
}
