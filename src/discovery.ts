// Finding Node and Python processes on this host (--discover, `rtprof ps`) and telling whether
// this agent could attach to them. What a process is comes from collectors/proc/identity.
import { userInfo } from 'node:os';
import { identify, isNodeOrPython, type ProcessIdentity } from '../collectors/proc/identity';
import { listPids, readEnvVar, readStat } from '../collectors/proc/procfs';
import { otherUidWindow } from '../collectors/node/inspectorWindow';

export { identify, isNodeOrPython, type ProcessIdentity };

export function discover(match?: RegExp, excludePids: ReadonlySet<number> = new Set([process.pid])): ProcessIdentity[] {
  const found: ProcessIdentity[] = [];
  for (const pid of listPids()) {
    if (excludePids.has(pid) || !isNodeOrPython(pid)) continue;
    const identity = identify(pid);
    if (!identity || identity.runtime === 'other') continue;
    if (match && !match.test(identity.argv.join(' ')) && !match.test(identity.serviceName)) continue;
    found.push(identity);
  }
  return found;
}

/** Whether this agent could inject a probe, and why not. */
export function attachability(identity: ProcessIdentity): { ok: boolean; why: string } {
  const me = userInfo().uid;
  if (me !== 0 && me !== identity.uid) return { ok: false, why: 'other user: run as the same user or with CAP_SYS_PTRACE' };
  if (identity.runtime === 'nodejs') {
    const flags = `${identity.argv.join(' ')} ${readEnvVar(identity.pid, 'NODE_OPTIONS') ?? ''}`;
    if (flags.includes('--disable-sigusr1')) return { ok: false, why: '--disable-sigusr1: start it with rtprof run or NODE_OPTIONS' };
    // The inspector window would be open to every user of this network namespace (docs/SECURITY.md):
    // the attach's own rule, real and effective uid (a setuid Node runs code as the effective one).
    let window: ReturnType<typeof otherUidWindow>;
    try {
      window = otherUidWindow(identity.pid);
    } catch {
      return { ok: false, why: 'exited' };
    }
    if (window) return { ok: false, why: 'other uid: preload it, or --inspector-attach any' };
    return { ok: true, why: 'inspector (SIGUSR1)' };
  }
  if (identity.runtime === 'cpython') {
    // Unknown in another mount namespace until its probe says (its binary is not run there).
    if (identity.runtimeVersion === undefined) return { ok: true, why: 'gdb, or sys.remote_exec on 3.14+' };
    const [major, minor] = (identity.runtimeVersion ?? '').split('.').map(Number);
    if (major === 3 && (minor ?? 0) >= 14) return { ok: true, why: 'sys.remote_exec' };
    if (major === 3 && (minor ?? 0) >= 8) return { ok: true, why: 'gdb' };
    return { ok: false, why: `CPython ${identity.runtimeVersion ?? '?'}: attach needs 3.8+ (watched from /proc only)` };
  }
  return { ok: false, why: 'not Node or Python (watched from /proc only)' };
}

/** rtprof's own processes (another agent, a CLI run) are not service targets. */
export function isOwnHelper(identity: ProcessIdentity): boolean {
  return identity.argv.some((arg) => /(^|\/)rtprof(\.js)?$/.test(arg) || arg.endsWith('/bin/rtprof.js'));
}

/**
 * `--discover`: each scan returns the Node/Python processes not seen before that match. A process
 * is looked at once per (pid, start time, comm): comm is part of the key because a shell that
 * later exec()s node keeps its pid and start time.
 */
export class Discoverer {
  private readonly skipped = new Set<string>();

  constructor(private readonly match: RegExp | undefined) {}

  scan(isWatched: (pid: number) => boolean): ProcessIdentity[] {
    const found: ProcessIdentity[] = [];
    for (const pid of listPids()) {
      if (pid === process.pid || isWatched(pid)) continue;
      const key = keyOf(pid);
      if (key === undefined || this.skipped.has(key)) continue;
      const identity = isNodeOrPython(pid) ? identify(pid) : undefined;
      if (!identity || identity.runtime === 'other' || isOwnHelper(identity) || !this.matches(identity)) {
        this.skipped.add(key);
        continue;
      }
      found.push(identity);
    }
    if (this.skipped.size > 10_000) this.skipped.clear(); // bounded: re-checking is cheap
    return found;
  }

  private matches(identity: ProcessIdentity): boolean {
    return !this.match || this.match.test(identity.argv.join(' ')) || this.match.test(identity.serviceName);
  }
}

/** pid:startTicks:comm, or undefined when the process is gone. */
export function keyOf(pid: number): string | undefined {
  try {
    const stat = readStat(pid);
    return `${pid}:${stat.startTicks}:${stat.comm}`;
  } catch {
    return undefined;
  }
}
