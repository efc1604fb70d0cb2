// Attach the Node probe to a running process: SIGUSR1 opens its inspector, we find the port it
// actually opened, Runtime.evaluate starts collectors/node/probe.js, and — when we opened the
// inspector — we close it again and check that no debug port is left. Refuses before signalling
// whatever /proc says would go wrong (not Node, SIGUSR1 not handled, port taken). A target in
// another network namespace is reached through a relay entered into it (netns-relay.ts); one in
// another mount namespace loads a copy of the probe placed in its own filesystem.

import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AttachRequest, AttachResult } from '../attach-types';
import { RtprofError } from '../../src/errors';
import { listInspectorTargets } from './cdp';
import { openRelay } from './netns-relay';
import {
  connectHost,
  handlesSigusr1,
  inspectFlags,
  isSameProcess,
  listeningSockets,
  looksLikeNode,
  nodeOptionArgs,
  readCmdline,
  readNodeOptions,
  readStartTime,
  sameNetworkNamespace,
  targetListeners,
} from './target-facts';
import type { Listener } from './target-facts';
import { withAttachLock } from './attach-lock';

import {
  AttachError,
  DEFAULT_INSPECTOR_PORT,
  DEFAULT_TIMEOUT_MS,
  ensureAlive,
  newInspectorListener,
  POLL_MS,
  remaining,
  sleep,
  type Target,
} from './attachTarget';
import { closeInspector, closeLateInspector, injectProbe } from './inspectorSession';
import { checkInspectorWindow } from './inspectorWindow';
import { closeForwarded, clusterWorkersOf, forwardedInspector, noteSignalled, settled } from './clusterForward';

export type { AttachRequest, AttachResult } from '../attach-types';

let probePathCache: string | undefined;

/** Absolute path of collectors/node/probe.js in this package (we run compiled from dist/...). */
export function probePath(): string {
  if (probePathCache) return probePathCache;
  let dir = __dirname;
  for (;;) {
    const candidate = path.join(dir, 'collectors', 'node', 'probe.js');
    if (fs.existsSync(path.join(dir, 'package.json')) && fs.existsSync(candidate)) return (probePathCache = candidate);
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find collectors/node/probe.js above ${__dirname}`);
    dir = parent;
  }
}

/** The probe's own files: probe.js requires the others from its directory. */
const PROBE_FILES = [
  'probe.js',
  'config.js',
  'snapshot.js',
  'sampler.js',
  'workers.js',
  'worker-eval.js',
  'worker-samples.js',
  'in-worker.js',
  'link.js',
  'work.js',
];

function placeProbe(dir: NonNullable<AttachRequest['targetDir']>): string {
  const here = path.dirname(probePath());
  const placed = PROBE_FILES.map((name) => dir.place(path.join(here, name), name));
  return placed[0]!;
}

export async function attachNode(req: AttachRequest): Promise<AttachResult> {
  const timeoutMs = req.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  try {
    return await withAttachLock(timeoutMs, () => attachLocked(req, Date.now() + timeoutMs));
  } catch (err) {
    if (err instanceof RtprofError) return { ok: false, reason: err.message, code: err.code };
    // A target killed mid-attach makes a /proc read or the inspector socket fail first: say that.
    const message = (err as Error).message;
    if (readStartTime(req.pid) === undefined && !/exited|not found/.test(message)) {
      return { ok: false, reason: `process ${req.pid} exited during attach` };
    }
    if (err instanceof AttachError) return { ok: false, reason: err.message, ...(err.retry ? { retry: true } : {}) };
    return { ok: false, reason: `attach to ${req.pid} failed: ${(err as Error).message}` };
  }
}

async function attachLocked(req: AttachRequest, deadline: number): Promise<AttachResult> {
  const target = inspectTarget(req, deadline);
  if (!target.otherNetns) return attachReachable(target);
  const relay = await openRelay(target.pid, Math.min(5000, remaining(target)));
  try {
    return await attachReachable({ ...target, dial: relay.dial });
  } finally {
    relay.close();
  }
}

async function attachReachable(target: Target): Promise<AttachResult> {
  const forwarded = await settleForwarded(target);
  if (forwarded) return injectOpened(target, forwarded);
  const existing = await findOpenInspector(target);
  if (existing) {
    await injectProbe(target, existing, false);
    return { ok: true, method: 'inspector', note: 'used the inspector the target already had open (left open)' };
  }
  checkInspectorWindow(target.pid, target.req.inspectorAttach, probePath());
  const before = new Set(targetListeners(target.pid).map((l) => l.inode));
  const forwardedLate = await waitForPortFree(target);
  if (forwardedLate) return injectOpened(target, forwardedLate);
  const workers = clusterWorkersOf(target.pid);
  signal(target);
  noteSignalled(target, workers);
  let opened: Listener | undefined;
  try {
    opened = await waitForNewListener(target, before);
  } catch (err) {
    if (isSameProcess(target.pid, target.startTime)) closeLateInspector(target, before);
    throw err;
  }
  return injectOpened(target, opened);
}

/** Closes the siblings' inspectors their primary's forwarded signal opened (they would hold the
 * debug port), and returns the target's own, if it has one (clusterForward.ts). */
async function settleForwarded(target: Target): Promise<Listener | undefined> {
  await closeForwarded(target.pid);
  return forwardedInspector(target.pid, target.startTime);
}

/** An inspector we opened, or its cluster primary's forwarded signal did (clusterForward.ts): the
 * probe goes in through it, then it is closed. */
async function injectOpened(target: Target, inspector: Listener): Promise<AttachResult> {
  try {
    await injectProbe(target, inspector, true);
  } catch (err) {
    await closeInspector(target, inspector).catch(() => undefined);
    throw err;
  }
  settled(target.pid);
  return { ok: true, method: 'inspector' };
}

function fixHint(): string {
  return `start it with \`rtprof run -- node …\` or NODE_OPTIONS="--require ${probePath()}"`;
}

/** Everything /proc can tell before we touch the process; throws the one-line reason to refuse. */
function inspectTarget(req: AttachRequest, deadline: number): Target {
  const pid = req.pid;
  if (!Number.isInteger(pid) || pid <= 0) throw new AttachError(`bad pid ${pid}`);
  const startTime = readStartTime(pid);
  if (startTime === undefined) throw new AttachError(`process ${pid} not found`);
  let exe: string;
  let cmdline: string[];
  try {
    exe = fs.readlinkSync(`/proc/${pid}/exe`);
    cmdline = readCmdline(pid);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EACCES' || code === 'EPERM') {
      throw new AttachError(`no permission to inspect process ${pid}: run as the same user or with CAP_SYS_PTRACE`);
    }
    throw new AttachError(`process ${pid} exited`);
  }
  if (!looksLikeNode(exe, cmdline[0])) throw new AttachError(`process ${pid} is not Node.js (${path.basename(exe)})`);
  const nodeOptions = readNodeOptions(pid);
  if (nodeOptions === undefined) {
    throw new AttachError(`no permission to read process ${pid}'s environment: run as the same user or with CAP_SYS_PTRACE`);
  }
  const flags = inspectFlags(nodeOptionArgs(cmdline, nodeOptions));
  if (!handlesSigusr1(pid)) {
    const why = flags.disableSigusr1
      ? 'its inspector is disabled by --disable-sigusr1'
      : 'it does not handle SIGUSR1 (signalling would kill it)';
    // Node installs its handler early in start-up: a process found just after its exec() has not yet.
    throw new AttachError(`cannot attach to Node process ${pid}: ${why}; ${fixHint()}`, !flags.disableSigusr1);
  }
  if (flags.noHttpEndpoint) {
    throw new AttachError(`cannot attach to Node process ${pid}: --inspect-publish-uid hides the inspector's HTTP endpoint; ${fixHint()}`);
  }
  // A copy in the target's own filesystem when it cannot see ours (collectors/proc/namespaces.ts):
  // the probe and the files it requires beside it.
  const targetDir = req.targetDir;
  const probeFile = targetDir ? placeProbe(targetDir) : probePath();
  return { pid, startTime, flags, req, deadline, probeFile, otherNetns: sameNetworkNamespace(pid) === false };
}

async function isInspector(target: Target, l: Listener, timeoutMs: number): Promise<boolean> {
  return (await listInspectorTargets(connectHost(l), l.port, timeoutMs, target.dial)) !== null;
}

/**
 * An inspector the target opened itself (--inspect, or inspector.open() on its debug port): we use
 * it and leave it open. Only ports the flags point at are asked, so no request goes to the app.
 */
async function findOpenInspector(target: Target): Promise<Listener | undefined> {
  const listeners = targetListeners(target.pid);
  const port = target.flags.port ?? DEFAULT_INSPECTOR_PORT;
  const candidates = target.flags.openedAtStart && port === 0 ? listeners : listeners.filter((l) => l.port === port);
  for (const l of candidates) {
    if (await isInspector(target, l, Math.min(1000, remaining(target)))) return l;
  }
  return undefined;
}

/** How long a taken debug port is waited for: another attach (another agent's, a debugger's) holds
 * it for a fraction of a second; a port held longer is someone's for good. */
const PORT_TAKEN_WAIT_MS = 3000;

/**
 * Node does not fall back to another port: if the debug port is taken, SIGUSR1 would only log an
 * error. A cluster worker's inspector opened by its primary's forwarded signal is closed as soon as
 * it shows up (a busy worker opens it at its next loop turn); if the target's own shows up, it is
 * returned for the attach to use.
 */
async function waitForPortFree(target: Target): Promise<Listener | undefined> {
  const port = target.flags.port ?? DEFAULT_INSPECTOR_PORT;
  if (port === 0) return undefined;
  // SIGUSR1 binds IPv4 (127.0.0.1 unless --inspect-port names a host): a listener on an IPv6
  // address such as [::1] does not stop it; a v4 one or the dual-stack wildcard [::] may.
  const isTaken = (): boolean => listeningSockets(target.pid).some((l) => l.port === port && (!l.host.includes(':') || l.host === '::'));
  const until = Date.now() + Math.min(PORT_TAKEN_WAIT_MS, remaining(target));
  for (;;) {
    const own = await settleForwarded(target);
    if (own) return own;
    if (!isTaken()) return undefined;
    if (Date.now() >= until) break;
    await sleep(POLL_MS * 4);
  }
  throw new AttachError(
    `cannot attach to Node process ${target.pid}: its inspector port ${port} is taken by another process; free it, or ${fixHint()}`,
  );
}

function signal(target: Target): void {
  try {
    process.kill(target.pid, 'SIGUSR1');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EPERM') throw new AttachError(`no permission to signal process ${target.pid}: run as the same user or as root`);
    throw new AttachError(`process ${target.pid} exited during attach`);
  }
}

async function waitForNewListener(target: Target, before: Set<string>): Promise<Listener> {
  while (remaining(target) > 0) {
    ensureAlive(target);
    const opened = newInspectorListener(target, before);
    if (opened) return opened;
    // A sibling's forwarded inspector took the port just as we signalled: our target's try failed
    // on it. Once it is closed, signal again (a second SIGUSR1 to an open inspector does nothing).
    if ((await closeForwarded(target.pid)) > 0) signal(target);
    await sleep(POLL_MS);
  }
  ensureAlive(target);
  throw new AttachError(
    `no inspector port appeared in process ${target.pid} within ${target.req.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms of SIGUSR1 ` +
      `(its code may handle SIGUSR1 itself, or the loop is blocked); ${fixHint()}`,
  );
}
