// One watched process: its identity (pid + start time), its /proc collector, what its probe
// said last, and what could not be collected and why.
import type { HelloMessage, SnapshotMessage } from '../collectors/channel/messages';
import { ProcCollector, type ProcSample } from '../collectors/proc/process';
import type { ProcessIdentity } from './discovery';
import type { TargetView } from './metrics/targetMeters';

export type ProbeState = 'none' | 'attaching' | 'pending' | 'connected' | 'disconnected' | 'failed' | 'unsupported';

export interface ProbeStatus {
  state: ProbeState;
  method: string;
  /** one line: why the probe is not there, or what it is waiting for */
  message: string | undefined;
  /** The coded error (src/errors.ts) behind a failed attach, when it has one. */
  code?: string;
  hello: HelloMessage | undefined;
  snapshots: number;
}

export class Target implements TargetView {
  readonly proc: ProcCollector;
  lastProc: ProcSample | undefined;
  lastSnapshot: SnapshotMessage | undefined;
  readonly probe: ProbeStatus = { state: 'none', method: 'none', message: undefined, hello: undefined, snapshots: 0 };
  readonly addedAtMs = Date.now();

  constructor(readonly identity: ProcessIdentity) {
    this.proc = new ProcCollector(identity.pid, identity.startTicks);
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
    return `${this.identity.pid} (${this.identity.serviceName})`;
  }

  /** What is collected and what is not, for /api/targets. */
  toJSON(): Record<string, unknown> {
    const id = this.identity;
    return {
      pid: id.pid,
      startTime: new Date(id.startTimeMs).toISOString(),
      runtime: id.runtime,
      runtimeVersion: id.runtimeVersion ?? null,
      serviceName: id.serviceName,
      executable: id.exe ?? null,
      uid: id.uid,
      probe: {
        state: this.probe.state,
        method: this.probe.method,
        message: this.probe.message ?? null,
        ...(this.probe.code ? { code: this.probe.code } : {}),
        snapshots: this.probe.snapshots,
        probeVersion: this.probe.hello?.probeVersion ?? null,
      },
      collected: {
        proc: this.lastProc !== undefined,
        threadState: !this.proc.unavailable.has('threadState'),
        probe: this.probe.state === 'connected',
      },
      unavailable: Object.fromEntries(this.proc.unavailable),
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
