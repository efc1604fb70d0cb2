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
import { ProbeConfig } from '../probeConfig';
import { CdpSession, listInspectorTargets } from './cdp';
import type { Dialer } from './cdp';
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
import type { InspectFlags, Listener } from './target-facts';
import { withAttachLock } from './attach-lock';

export type { AttachRequest, AttachResult } from '../attach-types';

const DEFAULT_TIMEOUT_MS = 10_000;
const DEFAULT_INSPECTOR_PORT = 9229;
const POLL_MS = 25;
// An inspector that opens after we gave up (target was busy) is closed by a watcher for this long.
const LATE_INSPECTOR_WATCH_MS = 60_000;

class AttachError extends Error {
  constructor(
    message: string,
    readonly retry = false,
  ) {
    super(message);
  }
}

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
const PROBE_FILES = ['probe.js', 'sampler.js', 'workers.js', 'in-worker.js', 'link.js', 'work.js'];

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
    if (err instanceof AttachError) return { ok: false, reason: err.message, ...(err.retry ? { retry: true } : {}) };
    return { ok: false, reason: `attach to ${req.pid} failed: ${(err as Error).message}` };
  }
}

interface Target {
  pid: number;
  startTime: string | undefined;
  flags: InspectFlags;
  req: AttachRequest;
  deadline: number;
  /** The probe file as the target sees it. */
  probeFile: string;
  /** In another network namespace: its inspector is reached through a relay. */
  otherNetns: boolean;
  dial?: Dialer;
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
  const existing = await findOpenInspector(target);
  if (existing) {
    await injectProbe(target, existing, false);
    return { ok: true, method: 'inspector', note: 'used the inspector the target already had open (left open)' };
  }
  const before = new Set(targetListeners(target.pid).map((l) => l.inode));
  checkPortFree(target);
  signal(target);
  let opened: Listener | undefined;
  try {
    opened = await waitForNewListener(target, before);
  } catch (err) {
    if (isSameProcess(target.pid, target.startTime)) closeLateInspector(target, before);
    throw err;
  }
  try {
    await injectProbe(target, opened, true);
  } catch (err) {
    await closeInspector(target, opened).catch(() => undefined);
    throw err;
  }
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

function remaining(target: Target): number {
  return Math.max(0, target.deadline - Date.now());
}

function ensureAlive(target: Target): void {
  if (!isSameProcess(target.pid, target.startTime)) throw new AttachError(`process ${target.pid} exited during attach`);
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

/** Node does not fall back to another port: if the debug port is taken, SIGUSR1 would only log an error. */
function checkPortFree(target: Target): void {
  const port = target.flags.port ?? DEFAULT_INSPECTOR_PORT;
  if (port === 0) return;
  // SIGUSR1 binds IPv4 (127.0.0.1 unless --inspect-port names a host): a listener on an IPv6
  // address such as [::1] does not stop it; a v4 one or the dual-stack wildcard [::] may.
  const taken = listeningSockets(target.pid).find((l) => l.port === port && (!l.host.includes(':') || l.host === '::'));
  if (taken) {
    throw new AttachError(
      `cannot attach to Node process ${target.pid}: its inspector port ${port} is taken by another process; free it, or ${fixHint()}`,
    );
  }
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

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A listener that appeared since `before` on the port SIGUSR1 opens. Any other new port is the
 * application's (its own inspector.open(), an HTTP server starting): never ours to use or close.
 */
function newInspectorListener(target: Target, before: Set<string>): Listener | undefined {
  const port = target.flags.port ?? DEFAULT_INSPECTOR_PORT;
  return safeListeners(target.pid).find((l) => !before.has(l.inode) && (port === 0 || l.port === port));
}

async function waitForNewListener(target: Target, before: Set<string>): Promise<Listener> {
  while (remaining(target) > 0) {
    ensureAlive(target);
    const opened = newInspectorListener(target, before);
    if (opened) return opened;
    await sleep(POLL_MS);
  }
  ensureAlive(target);
  throw new AttachError(
    `no inspector port appeared in process ${target.pid} within ${target.req.timeoutMs ?? DEFAULT_TIMEOUT_MS} ms of SIGUSR1 ` +
      `(its code may handle SIGUSR1 itself, or the loop is blocked); ${fixHint()}`,
  );
}

function safeListeners(pid: number): Listener[] {
  try {
    return targetListeners(pid);
  } catch {
    return [];
  }
}

// The expression runs synchronously inside the target. `require` from the inspector's command-line
// API exists only during this evaluation, so everything that needs it happens before it returns.
function requireExpression(probeFile: string): string {
  return `(function () {
    var p = ${JSON.stringify(probeFile)};
    if (typeof process.getBuiltinModule === 'function') return process.getBuiltinModule('module').createRequire(p);
    try { if (typeof require === 'function') return require; } catch (e) {}
    if (process.mainModule) return process.mainModule.require.bind(process.mainModule);
    return null;
  })()`;
}

function startExpression(target: Target): string {
  const config = ProbeConfig.inspector(target.req);
  return `(function () {
    try {
      var req = ${requireExpression(target.probeFile)};
      if (!req) return { ok: false, error: 'no require() reachable in the target' };
      return req(${JSON.stringify(target.probeFile)}).start(${JSON.stringify(config.toJSON())});
    } catch (e) { return { ok: false, error: String(e && e.message || e) }; }
  })()`;
}

const CLOSE_EXPRESSION = `(function () {
  var req = ${'REQUIRE'};
  if (req) req('inspector').close(); else process._debugEnd();
})()`;

async function injectProbe(target: Target, inspector: Listener, openedByUs: boolean): Promise<void> {
  const host = connectHost(inspector);
  const list = await listInspectorTargets(host, inspector.port, Math.max(500, remaining(target)), target.dial);
  ensureAlive(target);
  const url = list?.[0]?.webSocketDebuggerUrl;
  if (!url) {
    // A target that exits as its inspector opens stops answering a moment before it is gone.
    for (const until = Date.now() + 500; Date.now() < until; await sleep(POLL_MS)) ensureAlive(target);
    throw new AttachError(`process ${target.pid}: port ${inspector.port} did not answer as a Node inspector`);
  }
  let session: CdpSession;
  try {
    session = await CdpSession.connect(url, Math.max(500, remaining(target)), target.dial);
  } catch (err) {
    ensureAlive(target);
    throw new AttachError(`cannot connect to process ${target.pid}'s inspector: ${(err as Error).message}`);
  }
  try {
    const outcome = await session.evaluate(startExpression(target), Math.max(500, remaining(target)));
    ensureAlive(target);
    const value = outcome.value as { ok?: boolean; error?: string } | undefined;
    if (outcome.closed) throw new AttachError(`process ${target.pid}: the inspector connection closed during attach`);
    if (outcome.exception || !value?.ok) {
      const why = outcome.exception ?? value?.error ?? 'no answer';
      throw new AttachError(`probe did not start in process ${target.pid}: ${why.split('\n')[0]} (can its user read ${target.probeFile}?)`);
    }
    if (openedByUs) await closeWithSession(target, session, inspector);
  } finally {
    await session.close(1000);
  }
}

/** inspector.close() drops every session, ours included, so no answer comes: we watch the port. */
// SIGUSR1 asks Node to open its inspector twice over: by a V8 interrupt and by a libuv async
// callback; whichever runs second finds it open and does nothing. Interrupts are served even while
// the loop is blocked (a busy loop, Atomics.wait), so the whole attach can happen before the loop
// turns; closing then would let the late async callback open the inspector again. One loop turn
// (a setImmediate) first runs that callback.
const LOOP_TURN_EXPRESSION = 'new Promise(function (resolve) { setImmediate(resolve); })';

async function closeWithSession(target: Target, session: CdpSession, inspector: Listener): Promise<void> {
  const expression = CLOSE_EXPRESSION.replace('REQUIRE', requireExpression(target.probeFile));
  await session.evaluate(LOOP_TURN_EXPRESSION, 3000, true).catch(() => undefined);
  await session.evaluate(expression, 2000).catch(() => undefined);
  await session.waitClosed(2000);
  if (!(await waitListenerGone(target, inspector, 3000))) {
    throw new AttachError(
      `probe started in process ${target.pid}, but its inspector port ${inspector.port} did not close; restart it or close it by hand`,
    );
  }
}

async function waitListenerGone(target: Target, inspector: Listener, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!isSameProcess(target.pid, target.startTime)) return true;
    if (!safeListeners(target.pid).some((l) => l.inode === inspector.inode)) return true;
    if (Date.now() > until) return false;
    await sleep(POLL_MS);
  }
}

/** Closes an inspector we opened, on a fresh session (used when the attach failed half way). */
async function closeInspector(target: Target, inspector: Listener): Promise<void> {
  if (!isSameProcess(target.pid, target.startTime)) return;
  const list = await listInspectorTargets(connectHost(inspector), inspector.port, 2000, target.dial);
  const url = list?.[0]?.webSocketDebuggerUrl;
  if (!url) return;
  const session = await CdpSession.connect(url, 2000, target.dial);
  try {
    await closeWithSession(target, session, inspector);
  } finally {
    await session.close(1000);
  }
}

/** SIGUSR1 was sent but the port did not appear in time: if it shows up later, close it. */
function closeLateInspector(target: Target, before: Set<string>): void {
  const until = Date.now() + LATE_INSPECTOR_WATCH_MS;
  const timer = setInterval(() => {
    if (Date.now() > until || !isSameProcess(target.pid, target.startTime)) return clearInterval(timer);
    const opened = newInspectorListener(target, before);
    if (!opened) return;
    clearInterval(timer);
    const late: Target = { ...target, deadline: Date.now() + 5000 };
    if (!target.otherNetns) return void closeInspector(late, opened).catch(() => undefined);
    // The attach's relay is closed by now: a fresh one for this close.
    openRelay(target.pid, 5000)
      .then((relay) => closeInspector({ ...late, dial: relay.dial }, opened).finally(() => relay.close()))
      .catch(() => undefined);
  }, 200);
  timer.unref();
}
