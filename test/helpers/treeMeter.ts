// Polls a process tree's kernel counters without rtprof: each process's CPU (utime+stime), each
// thread's on-CPU and run-queue time, and the tree's PSS, as time series that serviceTruth.ts reads
// over any window afterwards.
import { readPssBytes, readProcStat, readThreadSchedstats, treePids } from './processTree';

/** Wall clock in ms with sub-ms resolution, comparable with the ISO times in a profile document. */
export const nowMs = (): number => performance.timeOrigin + performance.now();

/** A cumulative counter sampled over time; `seenAtStart` says whether it existed at the meter's first poll. */
class Series {
  readonly points: Array<{ t: number; v: number }> = [];
  constructor(readonly seenAtStart: boolean) {}

  /** Linear between polls; 0 before a counter born after the meter started; the last value after it ended. */
  at(t: number): number {
    const p = this.points;
    if (p.length === 0) return 0;
    if (t <= p[0]!.t) return this.seenAtStart ? p[0]!.v : 0;
    if (t >= p[p.length - 1]!.t) return p[p.length - 1]!.v;
    let i = 1;
    while (p[i]!.t < t) i++;
    const [l, r] = [p[i - 1]!, p[i]!];
    return l.v + ((r.v - l.v) * (t - l.t)) / (r.t - l.t);
  }

  between(a: number, b: number): number {
    return Math.max(0, this.at(b) - this.at(a));
  }
}

export type Interval = [start: number, end: number];

/** Sorted, non-overlapping cover of the intervals, clipped to [a, b]. */
export function union(intervals: Interval[], a: number, b: number): Interval[] {
  const out: Interval[] = [];
  for (const [s, e] of [...intervals].sort((x, y) => x[0] - y[0])) {
    const [cs, ce] = [Math.max(s, a), Math.min(e, b)];
    if (ce <= cs) continue;
    const last = out[out.length - 1];
    if (last && cs <= last[1]) last[1] = Math.max(last[1], ce);
    else out.push([cs, ce]);
  }
  return out;
}

export interface ThreadKey {
  pid: number;
  tid: number;
}

/** Polls every everyMs; membership (a scan of /proc on kernels without children files) 5× less often, PSS 40×. */
export class TreeMeter {
  private readonly cpu = new Map<number, Series>();
  private readonly threads = new Map<string, { key: ThreadKey; cpu: Series; runqueue: Series }>();
  private readonly pss: Array<{ t: number; bytes: number }> = [];
  private pids: number[] = [];
  private polls = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    readonly root: number,
    private readonly everyMs = 25,
  ) {}

  start(): this {
    this.poll();
    this.timer = setInterval(() => this.poll(), this.everyMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
    this.poll();
  }

  /** Every pid the meter ever saw in the tree. */
  seen(): number[] {
    return [...this.cpu.keys()];
  }

  threadKeys(): ThreadKey[] {
    return [...this.threads.values()].map((t) => t.key);
  }

  /** Σ utime+stime of the processes over [a, b], per pid. */
  cpuS(a: number, b: number): Map<number, number> {
    return new Map([...this.cpu].map(([pid, s]) => [pid, s.between(a, b)]));
  }

  /** Σ on-CPU seconds the per-thread reads saw over [a, b] (less than cpuS when threads ended between polls). */
  threadCpuS(a: number, b: number): number {
    return [...this.threads.values()].reduce((acc, t) => acc + t.cpu.between(a, b), 0);
  }

  /** A thread's on-CPU and run-queue seconds inside the given (non-overlapping) intervals. */
  threadOver(key: ThreadKey, intervals: Interval[]): { cpuS: number; runqueueS: number } {
    const t = this.threads.get(`${key.pid}/${key.tid}`);
    if (!t) return { cpuS: 0, runqueueS: 0 };
    const sum = (s: Series): number => intervals.reduce((acc, [a, b]) => acc + s.between(a, b), 0);
    return { cpuS: sum(t.cpu), runqueueS: sum(t.runqueue) };
  }

  /** Σ PSS of the tree, averaged over the polls inside [a, b] (undefined with none). */
  pssBytes(a: number, b: number): number | undefined {
    const inside = this.pss.filter((p) => p.t >= a && p.t <= b);
    return inside.length > 0 ? inside.reduce((x, p) => x + p.bytes, 0) / inside.length : undefined;
  }

  private poll(): void {
    const first = this.polls === 0;
    const withPss = this.polls % 40 === 0;
    if (this.polls++ % 5 === 0) this.pids = treePids(this.root);
    const t = nowMs();
    let pss = 0;
    for (const pid of this.pids) {
      const stat = readProcStat(pid);
      if (!stat) continue;
      let s = this.cpu.get(pid);
      if (!s) this.cpu.set(pid, (s = new Series(first)));
      s.points.push({ t, v: stat.cpuS });
      for (const [tid, sched] of readThreadSchedstats(pid)) {
        let th = this.threads.get(`${pid}/${tid}`);
        if (!th) this.threads.set(`${pid}/${tid}`, (th = { key: { pid, tid }, cpu: new Series(first), runqueue: new Series(first) }));
        th.cpu.points.push({ t, v: sched.cpuNs / 1e9 });
        th.runqueue.points.push({ t, v: sched.runqueueNs / 1e9 });
      }
      if (withPss) pss += readPssBytes(pid) ?? 0;
    }
    if (withPss && pss > 0) this.pss.push({ t, bytes: pss });
  }
}
