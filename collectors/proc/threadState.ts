// The thread-state sampler: tens of times a second it looks at what a thread is blocked in
// (state letter from stat, syscall number from /proc/PID/task/TID/syscall) and tallies the
// off-CPU observations by WaitState. schedstat then gives the exact on-CPU and run-queue time of
// the interval, and these tallies split the rest (see threadTime.ts).
// Hot path of the agent: files stay open and are re-read with pread at offset 0 (seq_file
// regenerates on a read at 0), an order of magnitude cheaper than readFileSync (docs/BENCHMARKS.md).
import { closeSync, openSync, readSync } from 'node:fs';
import { classifyWait, type WaitState } from './syscalls';

export type WaitTally = Record<WaitState, number>;

export function emptyTally(): WaitTally {
  return { io: 0, lock: 0, sleep: 0, other: 0 };
}

const buffer = Buffer.alloc(1024);

/** Re-reads a /proc file kept open (seq_file regenerates it on a read at offset 0). */
export function preadText(fd: number): string {
  const n = readSync(fd, buffer, 0, buffer.length, 0);
  return buffer.toString('latin1', 0, n);
}

/** Open files of one thread, re-read at every tick. */
export class ThreadProbe {
  private statFd: number | undefined;
  private syscallFd: number | undefined;
  private schedFd: number | undefined;
  /** Why the syscall file cannot be read (then wchan-less classification falls back to state). */
  syscallUnavailable: string | undefined;
  tally: WaitTally = emptyTally();
  samples = 0;

  constructor(
    readonly pid: number,
    readonly tid: number,
  ) {
    const base = `/proc/${pid}/task/${tid}`;
    this.statFd = openSync(`${base}/stat`, 'r');
    this.schedFd = openSync(`${base}/schedstat`, 'r');
    try {
      this.syscallFd = openSync(`${base}/syscall`, 'r');
    } catch (err) {
      this.syscallUnavailable = `no permission to read ${base}/syscall (${(err as NodeJS.ErrnoException).code}); waits counted as 'other'`;
    }
  }

  /** One observation. Throws when the thread is gone (ESRCH on read). */
  sample(): void {
    if (this.statFd === undefined) return;
    const stat = preadText(this.statFd);
    const state = stat.charAt(stat.lastIndexOf(')') + 2);
    this.samples++;
    if (state === 'R') return; // on CPU or runnable: schedstat accounts for that time exactly
    let syscall: string | undefined;
    if (this.syscallFd !== undefined) {
      try {
        const text = preadText(this.syscallFd);
        const space = text.indexOf(' ');
        syscall = (space < 0 ? text : text.slice(0, space)).trim();
      } catch {
        syscall = undefined; // the thread woke mid-read or the file became unreadable
      }
    }
    this.tally[classifyWait(state, syscall)]++;
  }

  /** Cumulative on-CPU and run-queue nanoseconds of this thread. */
  schedstat(): { onCpuNs: number; runqueueNs: number } {
    if (this.schedFd === undefined) throw Object.assign(new Error('closed'), { code: 'ESRCH' });
    const [cpu, rq] = preadText(this.schedFd).split(' ');
    return { onCpuNs: Number(cpu), runqueueNs: Number(rq) };
  }

  takeTally(): WaitTally {
    const tally = this.tally;
    this.tally = emptyTally();
    return tally;
  }

  close(): void {
    for (const fd of [this.statFd, this.syscallFd, this.schedFd]) {
      if (fd !== undefined) {
        try {
          closeSync(fd);
        } catch {
          // already closed: nothing to release
        }
      }
    }
    this.statFd = this.syscallFd = this.schedFd = undefined;
  }
}
