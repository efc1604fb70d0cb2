// A Node cluster primary passes its inspector on. When the primary's inspector starts (our SIGUSR1
// included), Node's cluster module sends SIGUSR1 to every worker (`process._debugProcess` on the
// NODE_DEBUG_ENABLED internal message). Each worker then tries to open its own inspector on its
// debug port, twice over like any SIGUSR1 (a V8 interrupt, and a libuv callback at its next loop
// turn). While we hold the primary's inspector open the port is taken and both tries fail; but a
// worker busy in JavaScript for longer than our attach of the primary runs its second try after we
// closed the primary's inspector, and opens one for good. Nobody asked for that inspector: the
// worker's own attach would take it for one the application opened and leave it open, and its
// siblings would find the debug port taken and go unprobed.
//
// So before signalling a process we note its cluster workers and the sockets they already listen
// on; an inspector that appears in one of them afterwards is ours to close: in its own attach (the
// probe goes in through it, then it is closed), before any other attach (it would hold the port),
// or by a watcher within a fraction of a second.
import { readEnvVar, readExe } from '../proc/procfs';
import { childrenOf } from '../proc/tree';
import { withAttachLock } from './attach-lock';
import { DEFAULT_INSPECTOR_PORT, safeListeners, type Target } from './attachTarget';
import { closeInspectorLater } from './inspectorSession';
import { inspectFlags, isSameProcess, looksLikeNode, nodeOptionArgs, readCmdline, readNodeOptions, readStartTime } from './target-facts';
import type { Listener } from './target-facts';

/** A worker's second try waits for its loop to turn: a request handler that holds it this long is
 * beyond any service's budget. */
const WATCH_MS = 60_000;
const WATCH_EVERY_MS = 250;

interface Signalled {
  /** The worker, as a target to close an inspector in (the primary's probe file and namespace). */
  target: Target;
  /** Socket inodes it listened on before its primary was signalled. */
  before: Set<string>;
  until: number;
}

export interface ClusterWorker {
  pid: number;
  startTime: string;
  port: number;
  before: Set<string>;
}

const signalled = new Map<number, Signalled>();
let watcher: NodeJS.Timeout | undefined;
let closing = false;

/** The primary's cluster workers as they are now (before it is signalled): Node children started
 * by `cluster.fork()`, which sets NODE_UNIQUE_ID in their environment. */
export function clusterWorkersOf(pid: number): ClusterWorker[] {
  const out: ClusterWorker[] = [];
  for (const child of childrenOf(pid)) {
    const startTime = readStartTime(child);
    if (startTime === undefined || readEnvVar(child, 'NODE_UNIQUE_ID') === undefined) continue;
    const exe = readExe(child);
    const cmdline = readCmdline(child);
    if (exe === undefined || !looksLikeNode(exe, cmdline[0])) continue;
    const flags = inspectFlags(nodeOptionArgs(cmdline, readNodeOptions(child) ?? ''));
    out.push({
      pid: child,
      startTime,
      port: flags.port ?? DEFAULT_INSPECTOR_PORT,
      before: new Set(safeListeners(child).map((l) => l.inode)),
    });
  }
  return out;
}

/** The primary was signalled: its workers (as noted before) may open an inspector we must close. */
export function noteSignalled(primary: Target, workers: ClusterWorker[]): void {
  const until = Date.now() + WATCH_MS;
  for (const w of workers) {
    const flags = { openedAtStart: false, disableSigusr1: false, noHttpEndpoint: false, port: w.port };
    signalled.set(w.pid, { target: { ...primary, pid: w.pid, startTime: w.startTime, flags }, before: w.before, until });
  }
  if (signalled.size > 0 && !watcher) {
    watcher = setInterval(watch, WATCH_EVERY_MS);
    watcher.unref();
  }
}

/** The inspector a signalled worker opened because its primary was signalled, if it has one. */
export function forwardedInspector(pid: number, startTime: string | undefined): Listener | undefined {
  const entry = signalled.get(pid);
  if (!entry || entry.target.startTime !== startTime) return undefined;
  return opened(entry);
}

/** Our own attach of the worker ran a loop turn with its inspector open (inspectorSession.ts), so
 * any try still pending from the forwarded signal has run: nothing more can open. */
export function settled(pid: number): void {
  signalled.delete(pid);
}

/** Closes every forwarded inspector except `exceptPid`'s; the caller holds the attach lock.
 * Returns how many it closed. */
export async function closeForwarded(exceptPid?: number): Promise<number> {
  let closed = 0;
  for (const [pid, entry] of [...signalled]) {
    if (pid === exceptPid) continue;
    if (expired(pid, entry)) continue;
    const inspector = opened(entry);
    if (!inspector) continue;
    signalled.delete(pid);
    await closeInspectorLater(entry.target, inspector).catch(() => undefined);
    closed++;
  }
  return closed;
}

function opened(entry: Signalled): Listener | undefined {
  const port = entry.target.flags.port;
  return safeListeners(entry.target.pid).find((l) => l.port === port && !entry.before.has(l.inode));
}

function expired(pid: number, entry: Signalled): boolean {
  if (Date.now() <= entry.until && isSameProcess(pid, entry.target.startTime)) return false;
  signalled.delete(pid);
  return true;
}

function watch(): void {
  for (const [pid, entry] of [...signalled]) expired(pid, entry);
  if (signalled.size === 0) {
    clearInterval(watcher);
    watcher = undefined;
    return;
  }
  if (closing || ![...signalled.values()].some((e) => opened(e))) return;
  // Under the attach lock: an attach in progress may be the one that opened this listener.
  closing = true;
  withAttachLock(10_000, () => closeForwarded())
    .catch(() => undefined)
    .finally(() => (closing = false));
}
