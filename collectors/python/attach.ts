// Attaching the Python probe to a running CPython: 3.14+ through sys.remote_exec, 3.8-3.13 through
// gdb (a pending call queued from a thread in a system call, or at a safe point). Either way the target then imports
// the package collectors/python/rtprof_probe and calls start(); that load happens in the target's main
// thread when it next runs Python code, so a parked target gets it with its next request. A target
// in another mount namespace gets the probe, its attach marker and loader error file in a directory
// made inside its own filesystem (req.targetDir); gdb itself needs no path of the target's.
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AttachRequest, AttachResult } from '../attach-types';
import { findGdb, GDB_MISSING, runGdb } from './gdb';
import {
  buildInjectionCode,
  loaderError,
  newMarkerPath,
  pythonProbeDir,
  removeQuietly,
  waitForMarkerGone,
  writeForTarget,
} from './injection';
import { ProbeConfig } from '../probeConfig';
import { buildRemoteExecCommand, runRemoteExec } from './remoteExec';
import { lookupPythonTarget, ptraceRefused } from './target';
import { isGunicornWorker, wakeParkedWorker } from './wake';
import { sameNamespace } from '../proc/namespaces';
import type { PythonTarget } from './target';

export { buildRemoteExecCommand } from './remoteExec';

const DEFAULT_TIMEOUT_MS = 10_000;
// Active Python code reaches a safe point within microseconds; a thread sleeping in a 1 s loop
// within a second. Beyond that we take the target as parked.
const SAFE_POINT_WAIT_MS = 1000;
// After the load was queued on a parked target, how long we wait before answering "pending".
const PARKED_GRACE_MS = 300;
const SAFE_POINT_CONNECT_MS = 2500;
// A woken gunicorn worker runs the load at once; the probe connects within this.
const WOKEN_CONNECT_MS = 1500;
const CODE_PAGE_BYTES = 4096;

let cachedProbeDir: string | null = null;

/** Absolute path of collectors/python in the package (this file runs from dist/collectors/python): gdb_inject.py. */
export function probeDir(): string {
  if (cachedProbeDir) return cachedProbeDir;
  let dir = __dirname;
  while (!fs.existsSync(path.join(dir, 'package.json'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`rtprof package root (package.json) not found above ${__dirname}`);
    dir = parent;
  }
  cachedProbeDir = path.join(dir, 'collectors', 'python');
  return cachedProbeDir;
}

/**
 * The probe file(s) the target loads, as shipped in this package: the one place that says which,
 * so a probe that becomes a package directory is copied whole into a container (TargetDir.place
 * copies a directory tree).
 */
export function probeSource(): string {
  return pythonProbeDir();
}

/** The probe's path as the target sees it: ours, or a copy placed in its own filesystem. */
function probeForTarget(req: AttachRequest): string {
  return req.targetDir ? req.targetDir.place(probeSource()) : probeSource();
}

/** A fresh attach marker: [as the target sees it, as the agent reaches it]. */
function markerFor(req: AttachRequest, suffix = '.marker'): [string, string] {
  if (req.targetDir) return req.targetDir.freshName(`rtprof-attach-${req.pid}-`, suffix);
  const marker = newMarkerPath(req.pid).replace(/\.marker$/, suffix);
  return [marker, marker];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether pid is gone, or a zombie, within ms. */
async function exitsWithin(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (!alive(pid)) return true;
    try {
      if (/\) Z /.test(fs.readFileSync(`/proc/${pid}/stat`, 'latin1'))) return true;
    } catch {
      return true;
    }
    if (Date.now() >= deadline) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** After the load was queued: connected (marker deleted), pending, or a clear failure. */
async function awaitProbe(
  pid: number,
  method: 'gdb' | 'remote_exec',
  marker: string, // as the agent reaches it
  waitMs: number,
  note: string,
): Promise<AttachResult> {
  // A gunicorn worker still parked after a short wait is woken by a signal it takes as a no-op
  // (wake.ts); anything else loads the probe when it next runs Python code.
  const worker = isGunicornWorker(pid);
  let connected = await waitForMarkerGone(marker, worker ? Math.min(waitMs, PARKED_GRACE_MS) : waitMs, () => alive(pid));
  let error = loaderError(marker);
  const woken = worker && !connected && !error && alive(pid) && wakeParkedWorker(pid);
  if (woken) {
    connected = await waitForMarkerGone(marker, WOKEN_CONNECT_MS, () => alive(pid));
    error = loaderError(marker);
  }
  const how = woken ? `${note}; a parked gunicorn worker, woken with SIGWINCH` : note;
  if (error) {
    removeQuietly(marker + '.error');
    removeQuietly(marker);
    return { ok: false, reason: `the probe failed to load in pid ${pid}: ${error}` };
  }
  if (connected) return { ok: true, method, note: how };
  if (!alive(pid)) {
    removeQuietly(marker);
    return { ok: false, reason: `process ${pid} exited during attach` };
  }
  return { ok: true, method, pending: true, marker, note: `probe pending: target idle (${how})` };
}

async function attachWithGdb(req: AttachRequest, target: PythonTarget, deadline: number): Promise<AttachResult> {
  const gdb = findGdb();
  if (!gdb) return { ok: false, reason: GDB_MISSING };
  const [markerInTarget, marker] = markerFor(req);
  // Read by gdb in the agent's own filesystem and copied into the target's memory: never translated.
  const codePath = `${newMarkerPath(req.pid)}.code`;
  const code = Buffer.concat([
    Buffer.from(buildInjectionCode(probeForTarget(req), ProbeConfig.python(req, 'gdb', markerInTarget))),
    Buffer.from([0]),
  ]);
  if (code.length > CODE_PAGE_BYTES) return { ok: false, reason: 'injection code too long (socket path?)' };
  try {
    writeForTarget(marker, '', target);
    fs.writeFileSync(codePath, code, { mode: 0o600 });
    const outcome = await runGdb({
      gdb,
      pid: req.pid,
      injectScript: path.join(probeDir(), 'gdb_inject.py'),
      codePath,
      codeBytes: CODE_PAGE_BYTES,
      safePointWaitMs: SAFE_POINT_WAIT_MS,
      hardTimeoutMs: Math.max(15_000, deadline - Date.now()),
    });
    if (!outcome.ok) {
      removeQuietly(marker);
      // A target shutting down refuses the pending call (CPython is finalizing), and a task already
      // exiting refuses ptrace itself (EPERM, read as "not permitted"): say what happened. A real
      // refusal costs 300 ms more to tell apart.
      if (await exitsWithin(req.pid, outcome.code === 'forbidden' ? 300 : 500))
        return { ok: false, reason: `process ${req.pid} exited during attach` };
      return { ok: false, reason: outcome.reason, retry: outcome.code === 'busy' || undefined };
    }
    // Queued at a safe point, the load runs within an eval tick if the main thread runs Python;
    // if it does not connect within a couple of seconds, the main thread is parked. Queued on a
    // thread in a system call, the target may be busy (a recv) or parked (epoll_wait): the same.
    const waitMs =
      outcome.via === 'idle' ? PARKED_GRACE_MS : Math.min(SAFE_POINT_CONNECT_MS, Math.max(PARKED_GRACE_MS, deadline - Date.now()));
    return await awaitProbe(
      req.pid,
      'gdb',
      marker,
      waitMs,
      `queued at ${outcome.via === 'idle' ? 'a parked ' + outcome.detail : outcome.detail}`,
    );
  } finally {
    removeQuietly(codePath);
  }
}

async function attachWithRemoteExec(req: AttachRequest, target: PythonTarget, deadline: number): Promise<AttachResult> {
  if (target.remoteDebugDisabled) {
    return {
      ok: false,
      reason: ptraceRefused('the target disabled remote debugging: PYTHON_DISABLE_REMOTE_DEBUG or -X disable_remote_debug'),
    };
  }
  // The script is the marker: the target reads it when it runs it, the probe deletes it once connected.
  const [scriptInTarget, script] = markerFor(req, '.py');
  writeForTarget(script, buildInjectionCode(probeForTarget(req), ProbeConfig.python(req, 'remote_exec', scriptInTarget)), target);
  const enterMountNs = sameNamespace(req.pid, 'mnt') === false;
  const cmd = buildRemoteExecCommand({
    pid: req.pid,
    // In its mount namespace the exe is found by the path it has there.
    exe: enterMountNs ? fs.readlinkSync(`/proc/${req.pid}/exe`).replace(/ \(deleted\)$/, '') : target.exe,
    scriptPath: scriptInTarget,
    major: target.major,
    minor: target.minor,
    // The helper interpreter must be the target's own, with its stdlib: run it in its mount namespace.
    enterMountNs,
  });
  const ran = await runRemoteExec(cmd, req.pid, Math.max(1000, deadline - Date.now()));
  if (!ran.ok) {
    removeQuietly(script);
    return { ok: false, reason: ran.reason };
  }
  return awaitProbe(req.pid, 'remote_exec', script, Math.max(PARKED_GRACE_MS, deadline - Date.now()), 'sys.remote_exec');
}

/** Injects the probe into a running CPython. Answers, never throws; on failure the target is untouched. */
export async function attachPython(req: AttachRequest): Promise<AttachResult> {
  const deadline = Date.now() + (req.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  try {
    const found = await lookupPythonTarget(req.pid);
    if (!found.ok) return { ok: false, reason: found.reason };
    const target = found.target;
    if (target.minor >= 14) return await attachWithRemoteExec(req, target, deadline);
    return await attachWithGdb(req, target, deadline);
  } catch (err) {
    return { ok: false, reason: `attach to pid ${req.pid} failed: ${(err as Error).message}` };
  }
}
