// Turns what the watcher sees of one target — /proc samples every interval and the probe's
// snapshots in between — into the report's per-interval ProfileSamples.
import type { SnapshotMessage } from '../../collectors/channel/messages';
import { ThrottleClock } from '../../collectors/proc/cgroupStats';
import { serverSockets } from '../../collectors/proc/connections';
import type { GcPause, ProfileSample } from '../report';
import type { Target } from '../target';

export class SampleAssembler {
  readonly samples: ProfileSample[] = [];
  private pendingGc: GcPause[] = [];
  private snapshotsSinceSample: SnapshotMessage[] = [];
  private lastBusyS: number | undefined;
  private probeSeen = false;
  private pid: number | undefined;
  private prev: { userS: number; systemS: number } | undefined;
  private throttle: ThrottleClock | undefined;

  onSnapshot(snap: SnapshotMessage): void {
    this.probeSeen = true;
    for (const gc of snap.gc ?? []) this.pendingGc.push({ kind: gc.kind, durationS: gc.durationS });
    this.snapshotsSinceSample.push(snap);
  }

  /** Called after each /proc collection of the target; the first one only sets the baseline. */
  onProcSample(target: Target): void {
    this.pid = target.pid;
    const p = target.lastProc;
    if (!p) return;
    const prev = this.prev;
    this.prev = { userS: p.cpuUserS, systemS: p.cpuSystemS };
    // Read with every /proc sample (the first one is the baseline), so both cover the same interval.
    const throttledS = (this.throttle ??= new ThrottleClock(target.container.location)).next();
    if (!prev || p.intervalS <= 0) return;
    const sample: ProfileSample = {
      t: p.t,
      durationS: p.intervalS,
      cpu: { userS: Math.max(0, p.cpuUserS - prev.userS), systemS: Math.max(0, p.cpuSystemS - prev.systemS) },
      rssBytes: p.rssBytes,
      threadTime: { ...p.threadTimeDelta },
    };
    if (throttledS !== undefined) sample.throttledS = throttledS;
    this.addProbeData(sample);
    this.samples.push(sample);
  }

  /**
   * Without a probe, a server's waiting counts as I/O while it holds accepted client connections,
   * and as idle while it holds none. A process that listens on nothing is not a server: its
   * waiting stays what it is. Keep-alive connections make an idle server look busy; the report
   * names this evidence so a reader can weigh it.
   */
  private addProcEvidence(sample: ProfileSample): void {
    if (!this.pid) return;
    const sockets = serverSockets(this.pid);
    if (!sockets || sockets.listeningPorts === 0) return;
    sample.ioWaitOnConnectedS = sockets.clientConnections > 0 ? sample.threadTime.io : 0;
  }

  private addProbeData(sample: ProfileSample): void {
    const snaps = this.snapshotsSinceSample;
    this.snapshotsSinceSample = [];
    if (!this.probeSeen) {
      this.addProcEvidence(sample);
      return;
    }
    sample.gc = this.pendingGc;
    this.pendingGc = [];
    const latest = snaps[snaps.length - 1];
    const busy = latest?.work?.busyS;
    if (busy !== undefined) {
      if (this.lastBusyS !== undefined) sample.busyS = Math.min(sample.durationS, Math.max(0, busy - this.lastBusyS));
      this.lastBusyS = busy;
    }
    // Several snapshots may fall in one interval: keep the worst delay seen, the latest utilization.
    const loops = snaps.map((s) => s.eventLoop).filter((l) => l?.delayNs !== undefined);
    if (loops.length > 0) {
      const worst = loops.reduce((a, b) => ((b!.delayNs!.max ?? 0) > (a!.delayNs!.max ?? 0) ? b : a))!;
      sample.eventLoop = { delayNs: worst.delayNs!, utilization: loops[loops.length - 1]!.utilization ?? 0 };
    }
  }
}
