// Process trees as the kernel reports them, read without rtprof: a service's pids (root and every
// descendant), their CPU and memory counters, and killing a whole tree the test started.
import { readFileSync, readdirSync } from 'node:fs';

/** USER_HZ: the unit of utime/stime in /proc/PID/stat (100 on every Linux architecture Node runs on). */
const CLOCK_TICKS_PER_S = 100;

export interface ProcStat {
  ppid: number;
  pgrp: number;
  /** utime + stime of every thread the process ever had, in seconds (the kernel keeps ended threads' time). */
  cpuS: number;
}

/** /proc/PID/stat, parsed after the last ')' because the command name may itself hold spaces and parens. */
export function readProcStat(pid: number): ProcStat | undefined {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const f = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { ppid: Number(f[1]), pgrp: Number(f[2]), cpuS: (Number(f[11]) + Number(f[12])) / CLOCK_TICKS_PER_S };
}

/** Per thread: on-CPU and run-queue nanoseconds since the thread started (/proc/PID/task/TID/schedstat). */
export function readThreadSchedstats(pid: number): Map<number, { cpuNs: number; runqueueNs: number }> {
  const out = new Map<number, { cpuNs: number; runqueueNs: number }>();
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    try {
      const [cpu, rq] = readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').trim().split(/\s+/);
      out.set(Number(tid), { cpuNs: Number(cpu), runqueueNs: Number(rq) });
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return out;
}

/** Proportional set size of a process in bytes (/proc/PID/smaps_rollup), undefined once it is gone. */
export function readPssBytes(pid: number): number | undefined {
  try {
    const m = /^Pss:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

/** Whether this kernel lists children per thread (CONFIG_PROC_CHILDREN; some VM kernels leave it out). */
export function hasChildrenFiles(): boolean {
  try {
    readFileSync(`/proc/${process.pid}/task/${process.pid}/children`);
    return true;
  } catch {
    return false;
  }
}

/** Direct children of pid: from /proc/PID/task/TID/children where the kernel has it, else by
 * scanning every process's parent pid. */
export function childPids(pid: number): number[] {
  if (hasChildrenFiles()) {
    const out: number[] = [];
    for (const tid of safeReaddir(`/proc/${pid}/task`)) {
      try {
        for (const part of readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1').split(' '))
          if (Number(part) > 0) out.push(Number(part));
      } catch {
        // the thread ended
      }
    }
    return out;
  }
  return [...parentMap()].filter(([, ppid]) => ppid === pid).map(([child]) => child);
}

/** root and every live descendant, parents before children. */
export function treePids(root: number): number[] {
  const byParent = hasChildrenFiles() ? undefined : invert(parentMap());
  const out: number[] = [];
  const queue = [root];
  while (queue.length > 0 && out.length < 4096) {
    const pid = queue.shift()!;
    if (readProcStat(pid) === undefined) continue;
    out.push(pid);
    queue.push(...(byParent ? (byParent.get(pid) ?? []) : childPids(pid)));
  }
  return out;
}

/**
 * SIGKILLs a tree this test started: its process group (start() puts each service in its own), then
 * any pid listed under root that left the group (a child may call setsid). Never by name.
 */
export function killTree(root: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  const pids = treePids(root);
  const pgrp = readProcStat(root)?.pgrp;
  if (pgrp === root) {
    try {
      process.kill(-root, signal);
    } catch {
      // the group is already empty
    }
  }
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}

function parentMap(): Map<number, number> {
  const out = new Map<number, number>();
  for (const name of safeReaddir('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const stat = readProcStat(Number(name));
    if (stat) out.set(Number(name), stat.ppid);
  }
  return out;
}

function invert(parents: Map<number, number>): Map<number, number[]> {
  const out = new Map<number, number[]>();
  for (const [pid, ppid] of parents) out.set(ppid, [...(out.get(ppid) ?? []), pid]);
  return out;
}
