// Process trees from /proc: a service is the process a pid names and its descendants as they come
// and go (gunicorn and uvicorn workers, Node cluster workers). Children are read from
// /proc/PID/task/TID/children (one file per thread: a child belongs to the thread that forked it),
// so following a tree costs a few small reads, not a scan of every pid on the host.
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readStat } from './procfs';

/** Bounds: a fork bomb under a root must not make the agent read forever. */
const MAX_DEPTH = 16;
const MAX_PROCESSES = 1024;

/** Kernels built without CONFIG_PROC_CHILDREN have no children files: then the parent field of
 * every process's stat is read instead (a scan of /proc, still cheap at the tree's 250 ms). */
let childrenFiles: boolean | undefined;

function childrenByScan(pid: number): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    const child = Number(name);
    if (!(child > 0)) continue;
    try {
      if (readStat(child).ppid === pid) out.push(child);
    } catch {
      // gone
    }
  }
  return out;
}

export function childrenOf(pid: number): number[] {
  childrenFiles ??= existsSync(`/proc/self/task/${process.pid}/children`);
  if (!childrenFiles) return childrenByScan(pid);
  const out: number[] = [];
  let tids: string[];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/task/${tid}/children`, 'latin1');
    } catch {
      continue; // the thread ended between the listing and the read
    }
    for (const part of text.split(' ')) {
      const child = Number(part);
      if (child > 0) out.push(child);
    }
  }
  return out;
}

/** Every live descendant of root (not root itself), parents before their children. */
export function descendantsOf(root: number): number[] {
  const out: number[] = [];
  let level = [root];
  for (let depth = 0; depth < MAX_DEPTH && level.length > 0 && out.length < MAX_PROCESSES; depth++) {
    const next: number[] = [];
    for (const pid of level) for (const child of childrenOf(pid)) next.push(child);
    out.push(...next.slice(0, MAX_PROCESSES - out.length));
    level = next;
  }
  return out;
}

/** The nearest ancestor of pid (not pid itself) for which `isMember` holds, if any. */
export function nearestAncestor(pid: number, isMember: (pid: number) => boolean): number | undefined {
  let current = pid;
  for (let i = 0; i < MAX_DEPTH * 2; i++) {
    let ppid: number;
    try {
      ppid = readStat(current).ppid;
    } catch {
      return undefined;
    }
    if (ppid <= 1) return undefined;
    if (isMember(ppid)) return ppid;
    current = ppid;
  }
  return undefined;
}
