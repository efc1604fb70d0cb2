// The threads other than the main one (libuv's pool, V8's GC helpers, a Python service's worker
// threads), sampled at a lower rate: their time by state, summed. Bounded: at most MAX_THREADS
// are followed, so a process with thousands of threads costs the agent a fixed amount.
import { isGone, listTids } from './procfs';
import { ThreadProbe } from './threadState';
import { addTimes, splitInterval, zeroTimes, type ThreadTimes } from './threadTime';

const MAX_THREADS = 128;

interface Followed {
  probe: ThreadProbe;
  last: { wallNs: bigint; onCpuNs: number; runqueueNs: number } | undefined;
}

export class OtherThreads {
  /** cumulative seconds per state, summed over the followed threads */
  readonly time: ThreadTimes = zeroTimes();
  private readonly followed = new Map<number, Followed>();
  private ticks = 0;
  /** set when the process has more threads than are followed */
  skipped = 0;

  constructor(
    readonly pid: number,
    private readonly everyNthTick: number,
  ) {}

  /** Called at the main thread's rate; samples the others on every n-th call. */
  tick(): void {
    if (++this.ticks % this.everyNthTick !== 0) return;
    for (const [tid, f] of this.followed) {
      try {
        f.probe.sample();
      } catch (err) {
        if (isGone(err)) this.drop(tid);
      }
    }
  }

  /** Once per interval: account each thread's interval, then pick up new threads and drop dead ones. */
  collect(): void {
    const wallNs = process.hrtime.bigint();
    for (const [tid, f] of this.followed) {
      let sched;
      try {
        sched = f.probe.schedstat();
      } catch {
        this.drop(tid);
        continue;
      }
      const tally = f.probe.takeTally();
      if (f.last) {
        const delta = splitInterval(
          Number(wallNs - f.last.wallNs),
          sched.onCpuNs - f.last.onCpuNs,
          sched.runqueueNs - f.last.runqueueNs,
          tally,
        );
        addTimes(this.time, delta);
      }
      f.last = { wallNs, ...sched };
    }
    this.refresh();
  }

  private refresh(): void {
    let tids: number[];
    try {
      tids = listTids(this.pid).filter((tid) => tid !== this.pid);
    } catch {
      return;
    }
    const alive = new Set(tids);
    for (const tid of this.followed.keys()) if (!alive.has(tid)) this.drop(tid);
    this.skipped = 0;
    for (const tid of tids) {
      if (this.followed.has(tid)) continue;
      if (this.followed.size >= MAX_THREADS) {
        this.skipped++;
        continue;
      }
      try {
        // A new thread starts with a baseline: its time before now is not attributed.
        this.followed.set(tid, { probe: new ThreadProbe(this.pid, tid), last: undefined });
      } catch {
        // gone already, or forbidden: the main thread's probe reports permission problems
      }
    }
  }

  get count(): number {
    return this.followed.size;
  }

  private drop(tid: number): void {
    this.followed.get(tid)?.probe.close();
    this.followed.delete(tid);
  }

  close(): void {
    for (const tid of [...this.followed.keys()]) this.drop(tid);
  }
}
