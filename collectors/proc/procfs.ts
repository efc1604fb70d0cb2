// Low-level /proc readers. Each returns parsed numbers or throws the fs error unchanged, so the
// caller can tell a vanished target (ENOENT/ESRCH) from a forbidden file (EACCES/EPERM).
import { execFileSync } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** Clock ticks per second (USER_HZ): 100 on every mainstream Linux build; asked once. */
export const CLK_TCK = readConf('CLK_TCK', 100);
export const PAGE_SIZE = readConf('PAGESIZE', 4096);

function readConf(name: string, fallback: number): number {
  try {
    const value = Number(execFileSync('getconf', [name], { encoding: 'utf8' }).trim());
    return Number.isFinite(value) && value > 0 ? value : fallback;
  } catch {
    return fallback;
  }
}

export interface ProcStat {
  comm: string;
  state: string;
  ppid: number;
  minorFaults: number;
  majorFaults: number;
  utimeTicks: number;
  stimeTicks: number;
  numThreads: number;
  /** Start time in clock ticks after boot: with the pid, the identity of a process. */
  startTicks: number;
  vsizeBytes: number;
  rssPages: number;
}

/** Parses /proc/PID/stat (or task/TID/stat). comm may hold spaces and ')' — split at the last ')'. */
export function parseStat(text: string): ProcStat {
  const open = text.indexOf('(');
  const close = text.lastIndexOf(')');
  const f = text.slice(close + 2).split(' ');
  // f[0] is field 3 (state) of proc(5); field n is f[n - 3].
  return {
    comm: text.slice(open + 1, close),
    state: f[0] ?? '?',
    ppid: Number(f[1]),
    minorFaults: Number(f[7]),
    majorFaults: Number(f[9]),
    utimeTicks: Number(f[11]),
    stimeTicks: Number(f[12]),
    numThreads: Number(f[17]),
    startTicks: Number(f[19]),
    vsizeBytes: Number(f[20]),
    rssPages: Number(f[21]),
  };
}

export function readStat(pid: number, tid?: number): ProcStat {
  const path = tid === undefined ? `/proc/${pid}/stat` : `/proc/${pid}/task/${tid}/stat`;
  return parseStat(readFileSync(path, 'latin1'));
}

export interface ProcStatus {
  uid: number;
  voluntaryCtxt: number;
  nonvoluntaryCtxt: number;
  rssBytes: number;
  vmSizeBytes: number;
  threads: number;
}

export function parseStatus(text: string): ProcStatus {
  const out: ProcStatus = { uid: -1, voluntaryCtxt: 0, nonvoluntaryCtxt: 0, rssBytes: 0, vmSizeBytes: 0, threads: 0 };
  for (const line of text.split('\n')) {
    const colon = line.indexOf(':');
    if (colon < 0) continue;
    const key = line.slice(0, colon);
    const value = line.slice(colon + 1).trim();
    switch (key) {
      case 'Uid':
        out.uid = Number(value.split(/\s+/)[0]);
        break;
      case 'voluntary_ctxt_switches':
        out.voluntaryCtxt = Number(value);
        break;
      case 'nonvoluntary_ctxt_switches':
        out.nonvoluntaryCtxt = Number(value);
        break;
      case 'VmRSS':
        out.rssBytes = parseInt(value, 10) * 1024;
        break;
      case 'VmSize':
        out.vmSizeBytes = parseInt(value, 10) * 1024;
        break;
      case 'Threads':
        out.threads = Number(value);
        break;
    }
  }
  return out;
}

export function readStatus(pid: number): ProcStatus {
  return parseStatus(readFileSync(`/proc/${pid}/status`, 'latin1'));
}

export interface ProcIo {
  readBytes: number;
  writeBytes: number;
}

/** /proc/PID/io needs ptrace-read access to the target (same user or CAP_SYS_PTRACE). */
export function readIo(pid: number): ProcIo {
  const text = readFileSync(`/proc/${pid}/io`, 'latin1');
  const value = (key: string): number => Number(new RegExp(`^${key}: (\\d+)`, 'm').exec(text)?.[1] ?? 0);
  return { readBytes: value('read_bytes'), writeBytes: value('write_bytes') };
}

export function countFds(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

export interface SchedStat {
  onCpuNs: number;
  runqueueNs: number;
}

/** /proc/PID/task/TID/schedstat: ns on CPU, ns waiting on a run queue, timeslices. */
export function parseSchedstat(text: string): SchedStat {
  const [cpu, rq] = text.trim().split(' ');
  return { onCpuNs: Number(cpu), runqueueNs: Number(rq) };
}

export function readCmdline(pid: number): string[] {
  const raw = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  return raw.split('\0').filter((part, i, all) => part !== '' || i < all.length - 1);
}

/** The target's initial environment (NAME=value entries), or undefined when not permitted (environ
 * needs ptrace-read access) or the process is gone. */
export function readEnviron(pid: number): string[] | undefined {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return undefined;
  }
}

/** One variable of the target's initial environment, or undefined (absent or not permitted). */
export function readEnvVar(pid: number, name: string): string | undefined {
  const prefix = `${name}=`;
  return readEnviron(pid)
    ?.find((entry) => entry.startsWith(prefix))
    ?.slice(prefix.length);
}

/** Field 22 of /proc/PID/stat as the kernel wrote it: with the pid, the identity of a process
 * (pids are reused); undefined when the process is gone. */
export function readStartTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function isSameProcess(pid: number, startTime: string | undefined): boolean {
  const now = readStartTime(pid);
  return now !== undefined && now === startTime;
}

export interface SignalMasks {
  /** SigCgt: signals with a handler */
  caught: bigint;
  /** SigIgn: signals ignored */
  ignored: bigint;
}

/** The signal masks of /proc/PID/status (bit n-1 is signal n); throws the fs error when unreadable. */
export function readSignalMasks(pid: number): SignalMasks {
  const status = readFileSync(`/proc/${pid}/status`, 'latin1');
  const mask = (key: string): bigint => {
    const hex = new RegExp(`^${key}:\\s*([0-9a-f]+)`, 'm').exec(status)?.[1];
    return hex === undefined ? 0n : BigInt(`0x${hex}`);
  };
  return { caught: mask('SigCgt'), ignored: mask('SigIgn') };
}

export function readExe(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`).replace(/ \(deleted\)$/, '');
  } catch {
    return undefined;
  }
}

export function listPids(): number[] {
  const pids: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (Number.isInteger(pid) && pid > 0) pids.push(pid);
  }
  // libuv's readdir sorts names as strings ("10" before "9"): callers and `rtprof ps` want pid order.
  return pids.sort((a, b) => a - b);
}

export function listTids(pid: number): number[] {
  return readdirSync(`/proc/${pid}/task`)
    .map(Number)
    .filter((tid) => tid > 0)
    .sort((a, b) => a - b);
}

let bootTimeMs: number | undefined;
/** Boot time from /proc/stat btime, to turn start ticks into a wall-clock time. */
export function bootTimeEpochMs(): number {
  if (bootTimeMs === undefined) {
    const btime = /^btime (\d+)/m.exec(readFileSync('/proc/stat', 'latin1'))?.[1];
    bootTimeMs = Number(btime ?? 0) * 1000;
  }
  return bootTimeMs;
}

export function startTimeEpochMs(startTicks: number): number {
  return bootTimeEpochMs() + (startTicks / CLK_TCK) * 1000;
}

/** True for errors that mean the process (or thread) is gone. */
export function isGone(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'ENOENT' || code === 'ESRCH';
}

export function isForbidden(err: unknown): boolean {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  return code === 'EACCES' || code === 'EPERM';
}

/** Pss from /proc/PID/smaps_rollup (kernel 4.14+), or undefined when unreadable. */
export function readPssBytes(pid: number): number | undefined {
  try {
    const kb = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'))?.[1];
    return kb === undefined ? undefined : Number(kb) * 1024;
  } catch {
    return undefined;
  }
}
