// The universal per-process collector: everything /proc says about one pid, no injection.
// A file that cannot be read for lack of permission is reported unavailable; a vanished
// process ends the collector (collect() returns null).
import { availableParallelism } from 'node:os';
import { CLK_TCK, PAGE_SIZE, countFds, isForbidden, isGone, readIo, readPssBytes, readStat, readStatus, startTimeEpochMs } from './procfs';
import { serverSockets, type ServerSockets } from './connections';
import { ThreadSet, type ThreadInterval } from './threadSet';
import { ThreadProbe } from './threadState';
import { addTimes, splitInterval, zeroTimes, type ThreadTimes } from './threadTime';

export interface ProcSample {
  /** epoch ms of this sample */
  t: number;
  intervalS: number;
  cpuUserS: number;
  cpuSystemS: number;
  /** fraction of all CPUs over the last interval, per mode (semconv process.cpu.utilization) */
  cpuUtilUser: number;
  cpuUtilSystem: number;
  rssBytes: number;
  vmBytes: number;
  threads: number;
  ctxVoluntary: number;
  ctxInvoluntary: number;
  minorFaults: number;
  majorFaults: number;
  diskReadBytes?: number;
  diskWriteBytes?: number;
  fds?: number;
  uptimeS: number;
  /** cumulative seconds of the main thread per state since the collector started */
  threadTime: ThreadTimes;
  /** the last interval's split of the main thread */
  threadTimeDelta: ThreadTimes;
  /** cumulative seconds per state of the other threads, summed (sampled at a lower rate) */
  otherThreadsTime: ThreadTimes;
  /** every thread's share of the last interval, by the finer wait kinds (threads that ended included) */
  threadIntervals: ThreadInterval[];
  /** proportional set size (profile only; absent when unreadable) */
  pssBytes?: number;
  /** accepted client connections and listening ports right now (profile only) */
  serverSockets?: ServerSockets;
}

export interface ProcCollectorOptions {
  /** Every thread is looked at on each n-th tick of the sampler (default 10: 50 Hz → 5 Hz). A
   * profile looks at every tick, so that a thread living for one request is seen. */
  threadsEveryNthTick?: number;
  /** Also read, every interval, what a profile needs and an agent does not pay for: PSS
   * (smaps_rollup walks every mapping) and the server-socket evidence (the tcp tables). */
  profile?: boolean;
}

const OTHER_THREADS_EVERY_NTH_TICK = 10;

const CPUS = availableParallelism();

export class ProcCollector {
  readonly unavailable = new Map<string, string>();
  private readonly main: ThreadProbe | undefined;
  private readonly threadTime = zeroTimes();
  private readonly others: ThreadSet;
  private last: { wallNs: bigint; onCpuNs: number; runqueueNs: number; userS: number; systemS: number } | undefined;
  private gone = false;
  private readonly forProfile: boolean;

  constructor(
    readonly pid: number,
    readonly startTicks: number,
    options: ProcCollectorOptions = {},
  ) {
    this.others = new ThreadSet(pid, options.threadsEveryNthTick ?? OTHER_THREADS_EVERY_NTH_TICK);
    this.forProfile = options.profile ?? false;
    try {
      // The main thread's tid is the pid for Node and CPython alike.
      this.main = new ThreadProbe(pid, pid);
      if (this.main.syscallUnavailable) this.unavailable.set('syscall', this.main.syscallUnavailable);
    } catch (err) {
      if (isGone(err)) this.gone = true;
      else this.unavailable.set('threadState', `cannot open /proc/${pid}/task/${pid}: ${(err as Error).message}`);
    }
  }

  /** One thread-state observation of the main thread; called by the sampler hub at tens of Hz. */
  sampleThreads(): void {
    if (this.gone || !this.main) return;
    try {
      this.main.sample();
    } catch (err) {
      if (isGone(err)) this.gone = true;
      return;
    }
    this.others.tick();
  }

  get exited(): boolean {
    return this.gone;
  }

  /** Reads everything once. Returns null when the process is gone (or the pid was reused). */
  collect(): ProcSample | null {
    if (this.gone) return null;
    const wallNs = process.hrtime.bigint();
    let stat;
    let status;
    try {
      stat = readStat(this.pid);
      status = readStatus(this.pid);
    } catch (err) {
      if (isGone(err)) this.gone = true;
      else this.unavailable.set('stat', `cannot read /proc/${this.pid}/stat: ${(err as Error).message}`);
      return null;
    }
    if (stat.startTicks !== this.startTicks || stat.state === 'Z' || stat.state === 'X') {
      this.gone = true; // pid reused by another process, or a zombie waiting to be reaped
      return null;
    }
    const userS = stat.utimeTicks / CLK_TCK;
    const systemS = stat.stimeTicks / CLK_TCK;
    const sample: ProcSample = {
      t: Date.now(),
      intervalS: 0,
      cpuUserS: userS,
      cpuSystemS: systemS,
      cpuUtilUser: 0,
      cpuUtilSystem: 0,
      rssBytes: status.rssBytes || stat.rssPages * PAGE_SIZE,
      vmBytes: stat.vsizeBytes,
      threads: stat.numThreads,
      ctxVoluntary: status.voluntaryCtxt,
      ctxInvoluntary: status.nonvoluntaryCtxt,
      minorFaults: stat.minorFaults,
      majorFaults: stat.majorFaults,
      uptimeS: Math.max(0, (Date.now() - startTimeEpochMs(stat.startTicks)) / 1000),
      threadTime: this.threadTime,
      threadTimeDelta: zeroTimes(),
      otherThreadsTime: this.others.othersTime,
      threadIntervals: [],
    };
    this.readOptional(sample);
    if (this.forProfile) {
      sample.pssBytes = readPssBytes(this.pid);
      sample.serverSockets = serverSockets(this.pid);
    }
    this.advanceThreadTime(sample, wallNs, userS, systemS);
    sample.threadIntervals = this.others.collect();
    if (this.others.skipped > 0)
      this.unavailable.set('threads', `${this.others.skipped} threads beyond the first ${this.others.count} are not sampled`);
    else this.unavailable.delete('threads');
    return sample;
  }

  private readOptional(sample: ProcSample): void {
    try {
      const io = readIo(this.pid);
      sample.diskReadBytes = io.readBytes;
      sample.diskWriteBytes = io.writeBytes;
      this.unavailable.delete('diskIo');
    } catch (err) {
      if (isForbidden(err)) this.unavailable.set('diskIo', `no permission to read /proc/${this.pid}/io`);
    }
    try {
      sample.fds = countFds(this.pid);
      this.unavailable.delete('fds');
    } catch (err) {
      if (isForbidden(err)) this.unavailable.set('fds', `no permission to read /proc/${this.pid}/fd`);
    }
  }

  private advanceThreadTime(sample: ProcSample, wallNs: bigint, userS: number, systemS: number): void {
    if (!this.main) return;
    let sched;
    try {
      sched = this.main.schedstat();
    } catch {
      return;
    }
    const tally = this.main.takeTally();
    if (this.last) {
      const elapsedNs = Number(wallNs - this.last.wallNs);
      sample.intervalS = elapsedNs / 1e9;
      const delta = splitInterval(elapsedNs, sched.onCpuNs - this.last.onCpuNs, sched.runqueueNs - this.last.runqueueNs, tally);
      addTimes(this.threadTime, delta);
      sample.threadTimeDelta = delta;
      if (elapsedNs > 0) {
        sample.cpuUtilUser = Math.max(0, userS - this.last.userS) / (elapsedNs / 1e9) / CPUS;
        sample.cpuUtilSystem = Math.max(0, systemS - this.last.systemS) / (elapsedNs / 1e9) / CPUS;
      }
    }
    this.last = { wallNs, onCpuNs: sched.onCpuNs, runqueueNs: sched.runqueueNs, userS, systemS };
  }

  close(): void {
    this.main?.close();
    this.others.close();
  }
}
