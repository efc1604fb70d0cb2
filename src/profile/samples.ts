// Turns what the watcher sees of one service — each process's /proc sample every interval and its
// probe's snapshots in between — into the report's per-interval ProfileSamples: the service's
// totals, and each process's own interval (its threads, loop, GC, requests) for the report to
// take the breakdown over the threads that did the work.
import type { SnapshotMessage } from '../../collectors/channel/messages';
import { ThrottleClock } from '../../collectors/proc/cgroupStats';
import type { GcPause, ProcessInterval, ProfileSample } from '../report';
import type { Target } from '../target';

/** One process's state between intervals. */
class ProcessTrack {
  private pendingGc: GcPause[] = [];
  private snapshots: SnapshotMessage[] = [];
  /** The probe's cumulative busy time at its latest snapshot (the probe's clock, ms). */
  private busyMark: { t: number; busyS: number } | undefined;
  /** Busy seconds per second between the last two marks, and how many intervals ago it was new. */
  private busyRate: { rate: number; age: number } | undefined;
  private lastLoopIdle: { idleS: number; idleBusyS: number; idleRequestS?: number } | undefined;
  /** The loop's wait shares of the latest interval that measured them. */
  private loopShares: { busy: number; request?: number } | undefined;
  private lastCompleted: number | undefined;
  private probeSeen = false;
  private loopSeen = false;
  private prev: { userS: number; systemS: number } | undefined;

  onSnapshot(snap: SnapshotMessage): void {
    this.probeSeen = true;
    if (snap.eventLoop?.delayNs !== undefined) this.loopSeen = true;
    for (const gc of snap.gc ?? []) this.pendingGc.push({ kind: gc.kind, durationS: gc.durationS });
    this.snapshots.push(snap);
  }

  /**
   * The process's interval since the last call; undefined for the first (it sets the baseline).
   * A process born inside the window (a respawned worker) has all its CPU in it: its baseline is 0.
   */
  interval(target: Target, windowStartMs: number): ProcessInterval | undefined {
    const p = target.lastProc;
    if (!p) return undefined;
    const bornInWindow = this.prev === undefined && target.identity.startTimeMs > windowStartMs;
    // The baseline call: the probe's counters start from its last snapshot before the window, so
    // the window's first interval has the probe's evidence too (without it a worker's waits there
    // fell back to /proc's, which calls a sync worker's wait on its downstream idle). Not for an
    // event loop: its split of waiting would come from the probe's span up to its first snapshot,
    // which lies mostly before the window (at 1 request a second, a request more or less than the
    // interval had); the loop sits that interval out instead (workThreads.ts).
    const snap = target.lastSnapshot;
    const loop = target.identity.runtime === 'nodejs' || snap?.eventLoop?.delayNs !== undefined;
    if (this.prev === undefined && !bornInWindow && snap && !loop) this.seedCounters(snap);
    const prev = bornInWindow ? undefined : this.prev;
    this.prev = bornInWindow ? { userS: 0, systemS: 0 } : { userS: p.cpuUserS, systemS: p.cpuSystemS };
    const snaps = this.snapshots;
    this.snapshots = [];
    if (!prev || p.intervalS <= 0) return undefined;
    const id = target.identity;
    const out: ProcessInterval = {
      pid: id.pid,
      ppid: id.ppid,
      role: target.role,
      runtime: id.runtime,
      cpu: { userS: Math.max(0, p.cpuUserS - prev.userS), systemS: Math.max(0, p.cpuSystemS - prev.systemS) },
      rssBytes: p.rssBytes,
      threads: p.threadIntervals.map((t) => ({ tid: t.tid, name: t.name, main: t.main, seconds: t.seconds })),
      eventLoopMain: id.runtime === 'nodejs' || this.loopSeen,
    };
    if (p.pssBytes !== undefined) out.pssBytes = p.pssBytes;
    const state = target.probe.state;
    if (state === 'attaching' || state === 'pending' || state === 'connected' || state === 'disconnected') out.probeExpected = true;
    const startMs = p.t - p.intervalS * 1000;
    const fromZero = this.probeStartedInInterval(target, startMs);
    if (fromZero || this.attachOverlaps(target, startMs, p.t)) out.probeArriving = true;
    if (this.probeSeen) this.addProbeData(out, snaps, p.intervalS, fromZero);
    // No requests in flight from a probe (none, or no hook for this server, e.g. gunicorn's sync
    // worker): the sockets say whether a server held accepted client connections.
    if (out.busyS === undefined && p.serverSockets && p.serverSockets.listeningPorts > 0)
      out.clientConnections = p.serverSockets.clientConnections > 0;
    return out;
  }

  private seedCounters(snap: SnapshotMessage): void {
    if (snap.work?.busyS !== undefined) this.busyMark = { t: snap.t, busyS: snap.work.busyS };
    if (snap.work?.completed !== undefined) this.lastCompleted = snap.work.completed;
  }

  /**
   * The probe's busy seconds over this interval. Snapshots come on the probe's clock, ticks on the
   * watcher's: an interval may hold two snapshots, or none. So the busy rate between the latest two
   * snapshots is applied to the interval's duration, and an interval that got no snapshot takes the
   * last rate (once: a probe silent for longer is not guessed for).
   */
  private busyOver(last: SnapshotMessage | undefined, durationS: number, fromZero: boolean): number | undefined {
    const busyS = last?.work?.busyS;
    if (last && busyS !== undefined) {
      const mark = this.busyMark;
      this.busyMark = { t: last.t, busyS };
      if (fromZero || !mark) this.busyRate = undefined;
      else if (last.t > mark.t)
        this.busyRate = { rate: Math.min(1, Math.max(0, (busyS - mark.busyS) / ((last.t - mark.t) / 1000))), age: 0 };
    } else if (this.busyRate) this.busyRate.age++;
    if (fromZero || !this.busyRate || this.busyRate.age > 1) return undefined;
    return this.busyRate.rate * durationS;
  }

  /** The probe's counters started inside this interval (it was attached or preloaded during it). */
  private probeStartedInInterval(target: Target, intervalStartMs: number): boolean {
    const startedAt = target.probe.hello?.startedAt;
    return startedAt !== undefined && startedAt >= intervalStartMs;
  }

  /** An attach (gdb stops a CPython target while it injects; SIGUSR1 and the inspector pause a
   * Node one) ran during [startMs, endMs]: the stop is the attach's, not the service's. */
  private attachOverlaps(target: Target, startMs: number, endMs: number): boolean {
    const began = target.probe.attachStartedMs;
    if (began === undefined) return false;
    const ended = target.probe.attachEndedMs ?? endMs;
    return began <= endMs && ended >= startMs;
  }

  private addProbeData(out: ProcessInterval, snaps: SnapshotMessage[], durationS: number, fromZero: boolean): void {
    out.gc = this.pendingGc;
    this.pendingGc = [];
    const last = snaps[snaps.length - 1];
    const work = last?.work;
    // The interval the probe started in only sets the baselines: its counters cover part of it,
    // the threads' /proc times all of it (a launched service's start-up, an attach), so a loop's
    // waiting and CPU there cannot be told apart from its requests'. That process sits it out.
    const busyS = this.busyOver(last, durationS, fromZero);
    if (busyS !== undefined) out.busyS = busyS;
    const tids = (last?.workers ?? []).map((w) => w.tid).filter((t): t is number => t !== undefined);
    if (tids.length > 0) out.offloadTids = tids;
    const loop = last?.eventLoop;
    if (loop?.idleS !== undefined && loop.idleBusyS !== undefined) {
      const base = this.lastLoopIdle;
      const idleS = loop.idleS - (base?.idleS ?? NaN);
      // Under a millisecond of idle says nothing of how it splits (a loop busy throughout).
      if (base && out.busyS !== undefined && idleS >= 0.001)
        out.loopWaitBusyShare = Math.min(1, Math.max(0, (loop.idleBusyS - base.idleBusyS) / idleS));
      if (base?.idleRequestS !== undefined && loop.idleRequestS !== undefined && out.loopWaitBusyShare !== undefined)
        out.loopWaitRequestShare = Math.max(out.loopWaitBusyShare, (loop.idleRequestS - base.idleRequestS) / idleS);
      this.lastLoopIdle = { idleS: loop.idleS, idleBusyS: loop.idleBusyS, idleRequestS: loop.idleRequestS };
      this.loopShares =
        out.loopWaitBusyShare === undefined ? undefined : { busy: out.loopWaitBusyShare, request: out.loopWaitRequestShare };
    } else if (!last && out.busyS !== undefined && this.loopShares) {
      // No snapshot this interval: its busy time is the last rate (busyOver), and its loop's waits
      // split by the last measured shares with it. Without them the split would fall back to the
      // busy fraction, which books a CPU-only loop's idle polls as io (0.15 of an interval at 40
      // requests/s of 4 ms, where the measured share is 0.002).
      out.loopWaitBusyShare = this.loopShares.busy;
      if (this.loopShares.request !== undefined) out.loopWaitRequestShare = this.loopShares.request;
    }
    if (work?.completed !== undefined) {
      if (this.lastCompleted !== undefined) out.requests = Math.max(0, work.completed - this.lastCompleted);
      this.lastCompleted = work.completed;
    }
    // Several snapshots may fall in one interval: keep the worst delay seen, the latest utilization.
    const loops = snaps.map((s) => s.eventLoop).filter((l) => l?.delayNs !== undefined);
    if (loops.length > 0) {
      const worst = loops.reduce((a, b) => ((b!.delayNs!.max ?? 0) > (a!.delayNs!.max ?? 0) ? b : a))!;
      out.eventLoop = { delayNs: worst.delayNs!, utilization: loops[loops.length - 1]!.utilization ?? 0 };
    }
  }
}

/** Collects a service's intervals: call onSample for each process sample, then onTick once per interval. */
export class ServiceAssembler {
  readonly samples: ProfileSample[] = [];

  /** `windowStartMs`: processes started after it count from their birth. */
  constructor(private readonly windowStartMs = Date.now()) {}

  private readonly tracks = new Map<string, ProcessTrack>();
  /** one clock per CPU cgroup: processes of one container share its throttling, counted once */
  private readonly throttles = new Map<string, ThrottleClock>();
  private throttledS: number | undefined;
  private bucket: Array<{ interval: ProcessInterval; t: number; durationS: number; main: ProfileSample['threadTime'] }> = [];

  private track(target: Target): ProcessTrack {
    let track = this.tracks.get(target.key);
    if (!track) this.tracks.set(target.key, (track = new ProcessTrack()));
    return track;
  }

  onSnapshot(target: Target, snap: SnapshotMessage): void {
    this.track(target).onSnapshot(snap);
  }

  onSample(target: Target): void {
    this.readThrottle(target);
    const interval = this.track(target).interval(target, this.windowStartMs);
    const p = target.lastProc;
    if (interval && p) this.bucket.push({ interval, t: p.t, durationS: p.intervalS, main: { ...p.threadTimeDelta } });
  }

  /** Reads the target's CPU cgroup throttling once per interval, with its /proc sample (the first
   * read of a cgroup is its baseline), so both cover the same interval. */
  private readThrottle(target: Target): void {
    const dir = target.container.location?.cpu?.dir;
    if (dir === undefined) return;
    let clock = this.throttles.get(dir);
    if (!clock) this.throttles.set(dir, (clock = new ThrottleClock(target.container.location)));
    if (this.seenThisTick.has(dir)) return;
    this.seenThisTick.add(dir);
    const delta = clock.next();
    if (delta !== undefined) this.throttledS = (this.throttledS ?? 0) + delta;
  }

  private readonly seenThisTick = new Set<string>();

  /** Closes the interval: one sample for the whole service. */
  onTick(): void {
    const bucket = this.bucket;
    this.bucket = [];
    const throttledS = this.throttledS;
    this.throttledS = undefined;
    this.seenThisTick.clear();
    if (bucket.length === 0) return;
    const processes = bucket.map((b) => b.interval);
    const sum = (pick: (p: ProcessInterval) => number): number => processes.reduce((a, p) => a + pick(p), 0);
    const sample: ProfileSample = {
      t: Math.max(...bucket.map((b) => b.t)),
      durationS: Math.max(...bucket.map((b) => b.durationS)),
      cpu: { userS: sum((p) => p.cpu.userS), systemS: sum((p) => p.cpu.systemS) },
      rssBytes: sum((p) => p.rssBytes),
      // The main threads' coarse split, summed: what a report without per-thread data would read.
      threadTime: bucket.reduce(
        (a, b) => ({
          cpu: a.cpu + b.main.cpu,
          runqueue: a.runqueue + b.main.runqueue,
          io: a.io + b.main.io,
          lock: a.lock + b.main.lock,
          sleep: a.sleep + b.main.sleep,
          other: a.other + b.main.other,
        }),
        { cpu: 0, runqueue: 0, io: 0, lock: 0, sleep: 0, other: 0 },
      ),
      processes,
    };
    if (throttledS !== undefined) sample.throttledS = throttledS;
    if (processes.every((p) => p.pssBytes !== undefined)) sample.pssBytes = sum((p) => p.pssBytes ?? 0);
    const busy = processes.filter((p) => p.busyS !== undefined);
    // The union of the processes' busy time is not known; the busiest process's is a lower bound.
    if (busy.length > 0) sample.busyS = Math.max(...busy.map((p) => p.busyS ?? 0));
    const gcs = processes.filter((p) => p.gc !== undefined);
    if (gcs.length > 0) sample.gc = gcs.flatMap((p) => p.gc ?? []);
    const loops = processes.filter((p) => p.eventLoop !== undefined);
    if (loops.length > 0) {
      // The service's loop line is its worst process: one blocked worker is what users feel.
      const worst = loops.reduce((a, b) => (b.eventLoop!.delayNs.max > a.eventLoop!.delayNs.max ? b : a));
      sample.eventLoop = {
        delayNs: worst.eventLoop!.delayNs,
        utilization: loops.reduce((a, p) => a + p.eventLoop!.utilization, 0) / loops.length,
      };
    }
    const withClients = processes.filter((p) => p.clientConnections !== undefined);
    if (busy.length === 0 && withClients.length > 0)
      sample.ioWaitOnConnectedS = withClients.some((p) => p.clientConnections) ? sample.threadTime.io : 0;
    this.samples.push(sample);
  }
}
