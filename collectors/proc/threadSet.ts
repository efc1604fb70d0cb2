// Every thread of one process, each accounted on its own: on-CPU and run-queue time from its
// schedstat, its off-CPU time by the kind of wait it was seen in (see WaitKind). Threads come and
// go between samples (a thread per request lives for one request), so accounting happens at every
// sample, not once per interval: a new thread is accounted from its birth, a thread that ended is
// credited half a sampling period in its last state (it ended, on average, half-way to the next
// look), and the rest of its life is already booked. Bounded: at most MAX_THREADS are followed.
import { closeSync, openSync, readdirSync, readSync } from 'node:fs';
import { ListenerWaits } from './listenerWait';
import { CLK_TCK } from './procfs';
import { classifyWaitKind, type WaitKind } from './syscalls';
import { preadText } from './threadState';
import { zeroTimes, type ThreadTimes } from './threadTime';

const MAX_THREADS = 256;

/** `accept`: a readiness wait that includes a listening socket (waiting for a new connection). */
export const KIND_STATES = ['cpu', 'runqueue', 'io', 'ready', 'accept', 'lock', 'wait', 'sleep', 'other'] as const;
export type KindState = (typeof KIND_STATES)[number];
/** Seconds per state of one thread. */
export type KindTimes = Record<KindState, number>;

export function zeroKinds(): KindTimes {
  return { cpu: 0, runqueue: 0, io: 0, ready: 0, accept: 0, lock: 0, wait: 0, sleep: 0, other: 0 };
}

/** One thread's share of one collection interval. */
export interface ThreadInterval {
  tid: number;
  name: string;
  main: boolean;
  seconds: KindTimes;
  /** it ended during this interval */
  ended: boolean;
}

interface Followed {
  tid: number;
  name: string;
  fds: { stat: number; sched: number; syscall: number | undefined; status?: number };
  /** voluntary context switches at the last look, read when the thread was seen runnable */
  lastVoluntary: number | undefined;
  last: { wallNs: number; cpuNs: number; rqNs: number; kind: KindState | undefined } | undefined;
  acc: KindTimes;
  /** wall seconds accounted this interval, and those a runnable thread could not yet explain */
  wallS: number;
  heldS: number;
  /** run-queue time booked before schedstat reported it, paid back when it does */
  debtS: number;
  /** the state letter at the last look */
  lastState: string;
  ended: boolean;
}

function open(path: string): number | undefined {
  try {
    return openSync(path, 'r');
  } catch {
    return undefined;
  }
}

function closeAll(f: Followed): void {
  for (const fd of [f.fds.stat, f.fds.sched, f.fds.syscall, f.fds.status]) {
    if (fd === undefined) continue;
    try {
      closeSync(fd);
    } catch {
      // already closed
    }
  }
}

/** Adds `add` (seconds) to `into` for one wait kind, or to cpu/runqueue. */
function book(into: KindTimes, state: KindState, seconds: number): void {
  if (seconds > 0 && Number.isFinite(seconds)) into[state] += seconds;
}

const WAIT_KINDS = KIND_STATES.filter((k) => k !== 'cpu' && k !== 'runqueue');

/** Books a wait no look saw in proportion to the waits seen so far this interval (else as `fallback`). */
function bookUnseenWait(into: KindTimes, fallback: KindState, seconds: number): void {
  if (!(seconds > 0)) return;
  const seen = WAIT_KINDS.map((k) => [k, into[k]] as const).filter(([, s]) => s > 0);
  const total = seen.reduce((sum, [, s]) => sum + s, 0);
  if (total <= 0) {
    book(into, fallback, seconds);
    return;
  }
  for (const [k, s] of seen) into[k] += (seconds * s) / total;
}

/**
 * Closes one thread's interval: its states must add up to the wall time it was watched. Run-queue
 * time that arrived late (a wait that began in an earlier interval) can overshoot: cpu and runqueue
 * are scaled back to fit beside the waits. Time held back while it was runnable and still not
 * explained is a wait for a CPU that has not ended yet: runqueue.
 */
function settle(f: Followed): void {
  const a = f.acc;
  const waits = a.io + a.ready + a.accept + a.lock + a.wait + a.sleep + a.other;
  const room = Math.max(0, f.wallS - waits);
  const onCpu = a.cpu + a.runqueue;
  if (onCpu > room) {
    const scale = onCpu > 0 ? room / onCpu : 0;
    a.cpu *= scale;
    a.runqueue *= scale;
  } else {
    const waitedS = Math.min(f.heldS, room - onCpu);
    a.runqueue += waitedS;
    f.debtS = Math.min(MAX_DEBT_S, f.debtS + waitedS);
    a.other += Math.max(0, room - onCpu - f.heldS);
  }
}

const statusBuffer = Buffer.alloc(4096);

/** A run-queue wait longer than this is not held against later reports. */
const MAX_DEBT_S = 2;

export class ThreadSet {
  private readonly followed = new Map<number, Followed>();
  private readonly startNs = Number(process.hrtime.bigint());
  private ticks = 0;
  private readonly listenerWaits: ListenerWaits;
  private lastTickNs = 0;
  private periodNs = 0;
  /** threads beyond MAX_THREADS at the last look */
  skipped = 0;
  /** cumulative seconds per coarse state of the threads other than the main one */
  readonly othersTime: ThreadTimes = zeroTimes();

  constructor(
    readonly pid: number,
    private readonly everyNthTick: number,
  ) {
    this.listenerWaits = new ListenerWaits(pid);
  }

  get count(): number {
    return this.followed.size;
  }

  /** Called at the sampler's rate; looks at every thread on each n-th call. */
  tick(): void {
    if (++this.ticks % this.everyNthTick !== 0) return;
    const now = Number(process.hrtime.bigint());
    if (this.lastTickNs > 0)
      this.periodNs = this.periodNs === 0 ? now - this.lastTickNs : 0.8 * this.periodNs + 0.2 * (now - this.lastTickNs);
    this.lastTickNs = now;
    this.look(now);
  }

  /** Hands over each thread's seconds since the last call, and forgets threads that ended. */
  collect(): ThreadInterval[] {
    const out: ThreadInterval[] = [];
    for (const f of this.followed.values()) {
      settle(f);
      out.push({ tid: f.tid, name: f.name, main: f.tid === this.pid, seconds: f.acc, ended: f.ended });
      if (f.tid !== this.pid) {
        this.othersTime.cpu += f.acc.cpu;
        this.othersTime.runqueue += f.acc.runqueue;
        this.othersTime.io += f.acc.io + f.acc.ready + f.acc.accept;
        this.othersTime.lock += f.acc.lock + f.acc.wait;
        this.othersTime.sleep += f.acc.sleep;
        this.othersTime.other += f.acc.other;
      }
      f.acc = zeroKinds();
      f.wallS = 0;
      f.heldS = 0;
    }
    for (const [tid, f] of this.followed) if (f.ended) this.followed.delete(tid);
    return out;
  }

  private look(now: number): void {
    let tids: number[];
    try {
      tids = readdirSync(`/proc/${this.pid}/task`).map(Number);
    } catch {
      tids = [];
    }
    const alive = new Set(tids);
    for (const f of this.followed.values()) {
      if (f.ended) continue;
      if (!alive.has(f.tid) || !this.observe(f, now)) this.end(f);
    }
    this.skipped = 0;
    for (const tid of tids) {
      if (!(tid > 0) || this.followed.has(tid)) continue;
      if (this.followed.size >= MAX_THREADS) {
        this.skipped++;
        continue;
      }
      const f = this.follow(tid);
      if (f && !this.observe(f, now)) this.end(f);
    }
  }

  private follow(tid: number): Followed | undefined {
    const base = `/proc/${this.pid}/task/${tid}`;
    const stat = open(`${base}/stat`);
    const sched = open(`${base}/schedstat`);
    if (stat === undefined || sched === undefined) {
      for (const fd of [stat, sched]) if (fd !== undefined) closeSync(fd);
      return undefined;
    }
    const f: Followed = {
      tid,
      name: '',
      fds: { stat, sched, syscall: open(`${base}/syscall`) },
      lastVoluntary: undefined,
      last: undefined,
      acc: zeroKinds(),
      wallS: 0,
      heldS: 0,
      debtS: 0,
      lastState: '',
      ended: false,
    };
    this.followed.set(tid, f);
    return f;
  }

  /** One look at one thread; false when it is gone. */
  private observe(f: Followed, now: number): boolean {
    let stat: string;
    let sched: string;
    try {
      stat = preadText(f.fds.stat);
      sched = preadText(f.fds.sched);
    } catch {
      return false;
    }
    const close = stat.lastIndexOf(')');
    f.name = stat.slice(stat.indexOf('(') + 1, close);
    let state = stat.charAt(close + 2);
    let kind: KindState | undefined;
    if (state !== 'R') {
      let line: string | undefined;
      try {
        line = f.fds.syscall !== undefined ? preadText(f.fds.syscall) : undefined;
      } catch {
        line = undefined; // woke mid-read
      }
      // "running": it woke between the two reads (on a busy host the reader itself is often
      // preempted there). Which wait it left is unknown: this look saw it runnable.
      if (line?.startsWith('running')) state = 'R';
      else {
        const wait: WaitKind = classifyWaitKind(state, line);
        kind = wait === 'ready' && line !== undefined && this.listenerWaits.waitsOnListener(line) === true ? 'accept' : wait;
      }
    }
    // Seen runnable: whether it slept since the last look (see below) is in its switch counts.
    const voluntary = state === 'R' ? this.voluntarySwitches(f) : undefined;
    const [cpuText, rqText] = sched.split(' ');
    const cpuNs = Number(cpuText);
    const rqNs = Number(rqText);
    const last = f.last ?? this.birth(stat);
    if (last) {
      const wallNs = now - last.wallNs;
      const cpuS = Math.max(0, cpuNs - last.cpuNs) / 1e9;
      let rqS = Math.max(0, rqNs - last.rqNs) / 1e9;
      f.wallS += wallNs / 1e9;
      // schedstat adds a run-queue wait only when the wait ends (the thread gets a CPU), so time a
      // runnable thread spent waiting shows up later, all at once: a thread seen runnable has its
      // unexplained time held back; when the wait arrives it pays back what was held (in this
      // interval) or what an earlier interval already booked as run queue (the debt).
      let remS = wallNs / 1e9 - cpuS - rqS;
      if (remS < 0) {
        const fromHeld = Math.min(f.heldS, -remS);
        f.heldS -= fromHeld;
        remS += fromHeld;
      }
      if (remS < 0) {
        const fromDebt = Math.min(f.debtS, -remS, rqS);
        f.debtS -= fromDebt;
        rqS -= fromDebt;
        remS += fromDebt;
      }
      book(f.acc, 'cpu', cpuS);
      book(f.acc, 'runqueue', rqS);
      // Seen running now after being seen waiting: it waited as seen, then woke. Seen runnable
      // both times: what schedstat has not explained yet is a run-queue wait still to come.
      // Seen runnable both times but it went to sleep in between (a voluntary switch: on a busy
      // host an event loop is often caught queued for a CPU at both looks while it slept between
      // them): the unexplained time is that sleep, not run queue. Which wait it was no look saw, so
      // it is shared out like the waits this thread was seen in this interval (a pool thread's
      // short downstream read between two looks at its CPU is like its other reads, not like the
      // idle wait for work it was last seen in).
      // Seen waiting at both looks, in two kinds of wait: it changed from one to the other at a
      // moment no look saw, on average half-way. Booking it all to the wait seen now would give a
      // request thread's downstream read, seen last, to the idle wait for the next connection it
      // went back to (a bias of half a period per request).
      if (state !== 'R' && kind !== undefined && last.kind !== undefined && f.lastState !== 'R' && last.kind !== kind) {
        book(f.acc, last.kind, remS / 2);
        book(f.acc, kind, remS / 2);
      } else if (state !== 'R') book(f.acc, kind ?? 'other', remS);
      else if (last.kind !== undefined && f.lastState !== 'R') book(f.acc, last.kind, remS);
      else if (voluntary !== undefined && f.lastVoluntary !== undefined && voluntary > f.lastVoluntary)
        bookUnseenWait(f.acc, last.kind ?? 'other', remS);
      else f.heldS += Math.max(0, remS);
    }
    f.last = { wallNs: now, cpuNs, rqNs, kind: kind ?? f.last?.kind };
    f.lastState = state;
    f.lastVoluntary = voluntary;
    return true;
  }

  /** voluntary_ctxt_switches from the thread's status file (opened on first need); undefined if unreadable. */
  private voluntarySwitches(f: Followed): number | undefined {
    try {
      if (f.fds.status === undefined) f.fds.status = openSync(`/proc/${this.pid}/task/${f.tid}/status`, 'r');
      // The counts are near the end of a ~1.4 KB file: past preadText's buffer.
      const n = readSync(f.fds.status, statusBuffer, 0, statusBuffer.length, 0);
      const text = statusBuffer.toString('latin1', 0, n);
      const at = text.indexOf('voluntary_ctxt_switches:');
      return at === -1 ? undefined : parseInt(text.slice(at + 24), 10);
    } catch {
      return undefined;
    }
  }

  /**
   * A thread born after this set started is accounted from its birth (schedstat counts from
   * there); one that was already running is only given a baseline. Start times are in clock
   * ticks, truncated: the birth is taken half a tick later.
   */
  private birth(stat: string): Followed['last'] {
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const bornNs = ((Number(fields[19]) + 0.5) * 1e9) / CLK_TCK;
    if (!Number.isFinite(bornNs) || bornNs <= this.startNs) return undefined;
    return { wallNs: bornNs, cpuNs: 0, rqNs: 0, kind: undefined };
  }

  private end(f: Followed): void {
    if (f.last?.kind && this.periodNs > 0) {
      book(f.acc, f.last.kind, this.periodNs / 2 / 1e9);
      f.wallS += this.periodNs / 2 / 1e9;
    }
    f.ended = true;
    closeAll(f);
  }

  close(): void {
    for (const f of this.followed.values()) closeAll(f);
    this.followed.clear();
    this.listenerWaits.close();
  }
}
