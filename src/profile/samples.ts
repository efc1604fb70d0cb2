// Turns what the watcher sees of one service — each process's /proc sample every interval and its
// probe's snapshots in between — into the report's per-interval ProfileSamples: the service's
// totals, and each process's own interval (its threads, loop, GC, requests) for the report to
// take the breakdown over the threads that did the work.
import type { SnapshotMessage } from '../../collectors/channel/messages';
import { ThrottleClock } from '../../collectors/proc/cgroupStats';
import type { GcPause, ProcessInterval, ProfileSample } from '../report';
import type { Target } from '../target';

/** The probe's cumulative counters at one snapshot (the probe's clock, ms). */
interface CounterPoint {
  t: number;
  busyS?: number;
  idleS?: number;
  idleBusyS?: number;
  idleRequestS?: number;
}
type Counter = Exclude<keyof CounterPoint, 't'>;

/** An interval whose probe-derived fields wait for a snapshot at or after its end. */
interface PendingInterval {
  out: ProcessInterval;
  startMs: number;
  endMs: number;
  /** the probe's counters started inside it: it only sets the baselines */
  fromZero: boolean;
  /** whether the process held accepted client connections (/proc), for when the probe has nothing */
  clientConnections?: boolean;
}

/** Counters between two snapshots further apart than this many intervals are not interpolated. */
const MAX_GAP_INTERVALS = 3.5;
/** ... nor read beyond the outermost snapshot by more than this many intervals. */
const MAX_REACH_INTERVALS = 1.1;
/** Snapshots kept per process: several intervals' worth (a probe sends one per interval). */
const MAX_POINTS = 16;

/**
 * One process's state between intervals.
 *
 * Snapshots come on the probe's clock, ticks on the watcher's (up to an interval apart), so a
 * snapshot's counters do not describe the watcher's interval: a request that moved to a sibling
 * worker shows in the probe's busy time up to an interval after /proc saw its CPU, and the
 * difference would be booked as waiting. The probe's cumulative counters are therefore read at each
 * interval's own boundaries, interpolated between the snapshots either side. An interval's
 * probe-derived fields are filled in once a snapshot at or after its end has arrived (or, at the
 * end of the window, from the last two snapshots' rate).
 */
class ProcessTrack {
  private pendingGc: GcPause[] = [];
  private snapshots: SnapshotMessage[] = [];
  private points: CounterPoint[] = [];
  private pending: PendingInterval[] = [];
  /** when the probe's counters started (its hello), on the target's clock */
  private probeStartMs: number | undefined;
  private intervalMs = 1000;
  private lastCompleted: number | undefined;
  private probeSeen = false;
  private loopSeen = false;
  private prev: { userS: number; systemS: number } | undefined;

  onSnapshot(snap: SnapshotMessage): void {
    this.probeSeen = true;
    if (snap.eventLoop?.delayNs !== undefined) this.loopSeen = true;
    for (const gc of snap.gc ?? []) this.pendingGc.push({ kind: gc.kind, durationS: gc.durationS });
    this.snapshots.push(snap);
    this.addPoint(snap);
    this.resolve(false);
  }

  /** The probe's next snapshot is still needed for an interval already closed. */
  get waiting(): boolean {
    const last = this.points[this.points.length - 1];
    return this.pending.length > 0 && last !== undefined && last.t < this.pending[this.pending.length - 1]!.endMs;
  }

  /** Fills in what is still pending from the snapshots there are. */
  finish(): void {
    this.resolve(true);
  }

  private addPoint(snap: SnapshotMessage): void {
    const point: CounterPoint = { t: snap.t };
    if (snap.work?.busyS !== undefined) point.busyS = snap.work.busyS;
    const loop = snap.eventLoop;
    if (loop?.idleS !== undefined && loop.idleBusyS !== undefined) {
      point.idleS = loop.idleS;
      point.idleBusyS = loop.idleBusyS;
      if (loop.idleRequestS !== undefined) point.idleRequestS = loop.idleRequestS;
    }
    const last = this.points[this.points.length - 1];
    if (last && point.t <= last.t) return; // out of order: the counters are cumulative, keep the order
    // Counters that went back belong to a new probe (restarted): the old ones say nothing of it.
    if (last && point.busyS !== undefined && last.busyS !== undefined && point.busyS < last.busyS) this.points = [];
    this.points.push(point);
    if (this.points.length > MAX_POINTS) this.points.shift();
  }

  /**
   * The process's interval since the last call; undefined for the first (it sets the baseline).
   * A process born inside the window (a respawned worker) has all its CPU in it: its baseline is 0.
   */
  interval(target: Target, windowStartMs: number): ProcessInterval | undefined {
    const p = target.lastProc;
    if (!p) return undefined;
    const bornInWindow = this.prev === undefined && target.identity.startTimeMs > windowStartMs;
    // The baseline call: the probe's last snapshot before the window is where its counters are read
    // from, so the window's first interval has the probe's evidence too (without it a sync worker's
    // wait on its downstream fell back to /proc's, which calls it idle).
    const snap = target.lastSnapshot;
    if (this.prev === undefined && !bornInWindow && snap && this.points.length === 0) {
      this.addPoint(snap);
      if (snap.work?.completed !== undefined) this.lastCompleted = snap.work.completed;
    }
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
    this.intervalMs = p.intervalS * 1000;
    const startMs = p.t - this.intervalMs;
    this.probeStartMs = target.probe.hello?.startedAt;
    const fromZero = this.probeStartMs !== undefined && this.probeStartMs >= startMs;
    if (fromZero || this.attachOverlaps(target, startMs, p.t)) out.probeArriving = true;
    if (this.probeSeen) this.addProbeData(out, snaps);
    // No requests in flight from a probe (none, or no hook for this server, e.g. gunicorn's sync
    // worker): the sockets say whether a server held accepted client connections.
    const pending: PendingInterval = { out, startMs, endMs: p.t, fromZero };
    if (p.serverSockets && p.serverSockets.listeningPorts > 0) pending.clientConnections = p.serverSockets.clientConnections > 0;
    this.pending.push(pending);
    this.resolve(false);
    return out;
  }

  /** Fills in the pending intervals a snapshot now brackets (all of them when `final`). */
  private resolve(final: boolean): void {
    const latest = this.points[this.points.length - 1]?.t ?? -Infinity;
    while (this.pending.length > 0) {
      const next = this.pending[0]!;
      if (!final && this.probeSeen && next.endMs > latest) return;
      this.pending.shift();
      this.fill(next);
    }
  }

  private fill(pending: PendingInterval): void {
    const { out, startMs, endMs } = pending;
    const durationS = (endMs - startMs) / 1000;
    // The interval the probe started in only sets the baselines: its counters cover part of it,
    // the threads' /proc times all of it (a launched service's start-up, an attach), so a loop's
    // waiting and CPU there cannot be told apart from its requests'. That process sits it out.
    const counted = this.probeSeen && !pending.fromZero && (this.probeStartMs === undefined || this.probeStartMs < startMs);
    const delta = (c: Counter): number | undefined => {
      if (!counted) return undefined;
      const a = this.at(c, startMs);
      const b = this.at(c, endMs);
      return a === undefined || b === undefined ? undefined : b - a;
    };
    const busy = delta('busyS');
    if (busy !== undefined) out.busyS = Math.min(durationS, Math.max(0, busy));
    else if (pending.clientConnections !== undefined) out.clientConnections = pending.clientConnections;
    const idleS = delta('idleS');
    const idleBusyS = delta('idleBusyS');
    // Under a millisecond of idle says nothing of how it splits (a loop busy throughout).
    if (out.busyS !== undefined && idleS !== undefined && idleBusyS !== undefined && idleS >= 0.001) {
      out.loopWaitBusyShare = Math.min(1, Math.max(0, idleBusyS / idleS));
      const idleRequestS = delta('idleRequestS');
      if (idleRequestS !== undefined) out.loopWaitRequestShare = Math.max(out.loopWaitBusyShare, idleRequestS / idleS);
    }
    // Snapshots older than what the next pending interval could need are done with.
    const keepFrom = (this.pending[0]?.startMs ?? endMs) - MAX_GAP_INTERVALS * this.intervalMs;
    while (this.points.length > 2 && this.points[1]!.t < keepFrom) this.points.shift();
  }

  /**
   * A counter's value at time `t`: interpolated between the snapshots either side, or read on
   * from the nearest two at the ends (not further than about an interval: a probe silent for
   * longer is not guessed for).
   */
  private at(counter: Counter, t: number): number | undefined {
    const pts = this.points.filter((p) => p[counter] !== undefined);
    if (pts.length === 0) return undefined;
    const maxGap = MAX_GAP_INTERVALS * this.intervalMs;
    const reach = MAX_REACH_INTERVALS * this.intervalMs;
    const line = (a: CounterPoint, b: CounterPoint): number => a[counter]! + ((b[counter]! - a[counter]!) * (t - a.t)) / (b.t - a.t);
    const after = pts.findIndex((p) => p.t >= t);
    if (after >= 0 && pts[after]!.t === t) return pts[after]![counter];
    if (after > 0) {
      const a = pts[after - 1]!;
      const b = pts[after]!;
      if (b.t - a.t <= maxGap) return line(a, b);
    }
    // Beyond the snapshots, or between two too far apart: read on from the nearest pair in reach.
    const before = after < 0 ? pts.length : after;
    if (before >= 2 && t - pts[before - 1]!.t <= reach && pts[before - 1]!.t - pts[before - 2]!.t <= maxGap)
      return line(pts[before - 2]!, pts[before - 1]!);
    if (after >= 0 && after + 1 < pts.length && pts[after]!.t - t <= reach && pts[after + 1]!.t - pts[after]!.t <= maxGap)
      return line(pts[after]!, pts[after + 1]!);
    return undefined;
  }

  /** An attach (gdb stops a CPython target while it injects; SIGUSR1 and the inspector pause a
   * Node one) ran during [startMs, endMs]: the stop is the attach's, not the service's. */
  private attachOverlaps(target: Target, startMs: number, endMs: number): boolean {
    const began = target.probe.attachStartedMs;
    if (began === undefined) return false;
    const ended = target.probe.attachEndedMs ?? endMs;
    return began <= endMs && ended >= startMs;
  }

  /** What the interval's snapshots say directly: GC pauses, requests, loop delay, offload threads. */
  private addProbeData(out: ProcessInterval, snaps: SnapshotMessage[]): void {
    out.gc = this.pendingGc;
    this.pendingGc = [];
    const last = snaps[snaps.length - 1];
    const work = last?.work;
    const tids = (last?.workers ?? []).map((w) => w.tid).filter((t): t is number => t !== undefined);
    if (tids.length > 0) out.offloadTids = tids;
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

/**
 * Collects a service's intervals: call onSample for each process sample, then onTick once per
 * interval; `finish()` gives the samples (the probe's part of an interval is known only once a
 * snapshot after its end arrived: `waiting` says whether one is still due).
 */
export class ServiceAssembler {
  private readonly samples: ProfileSample[] = [];

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

  /** Some process's probe still owes a snapshot for an interval already closed. */
  get waiting(): boolean {
    return [...this.tracks.values()].some((t) => t.waiting);
  }

  /** The window's samples, with what the probes said of each interval. */
  finish(): ProfileSample[] {
    for (const track of this.tracks.values()) track.finish();
    for (const sample of this.samples) {
      const processes = sample.processes ?? [];
      const busy = processes.filter((p) => p.busyS !== undefined);
      // The union of the processes' busy time is not known; the busiest process's is a lower bound.
      if (busy.length > 0) sample.busyS = Math.max(...busy.map((p) => p.busyS ?? 0));
      const withClients = processes.filter((p) => p.clientConnections !== undefined);
      if (busy.length === 0 && withClients.length > 0)
        sample.ioWaitOnConnectedS = withClients.some((p) => p.clientConnections) ? sample.threadTime.io : 0;
    }
    return this.samples;
  }

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
    this.samples.push(sample);
  }
}
