// CPython 3.8-3.13: gdb queues the probe loader as a pending call at a safe point
// (gdb_inject.py runs inside gdb and says why it is safe). This file runs gdb, tells it when to
// stop waiting for a safe point, and turns its output into one clear line.
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ptraceRefused } from './target';

export const GDB_MISSING =
  'gdb is not installed (not in PATH, /usr/bin or /usr/local/bin): apt-get install gdb (needed to attach to CPython 3.8-3.13)';

export type GdbOutcome =
  | { ok: true; via: 'syscall' | 'safepoint' | 'idle'; detail: string }
  | { ok: false; reason: string; code: 'forbidden' | 'gone' | 'no_symbols' | 'busy' | 'failed' };

export interface GdbRun {
  gdb: string;
  pid: number;
  injectScript: string;
  codePath: string;
  codeBytes: number;
  /** How long threads get to reach a safe point before the target counts as parked. */
  safePointWaitMs: number;
  /** A last resort only: gdb is asked to quit (it detaches and removes its breakpoints). */
  hardTimeoutMs: number;
}

/** The gdb on PATH, or null. */
// Where distributions install gdb: an agent started with a narrow PATH (a unit file, sudo's
// secure_path, a container's ENV) still finds it.
const GDB_DIRS = ['/usr/bin', '/usr/local/bin', '/bin', '/usr/libexec/gdb'];

export function findGdb(envPath: string = process.env.PATH ?? '', usual: readonly string[] = GDB_DIRS): string | null {
  for (const dir of [...envPath.split(path.delimiter), ...usual]) {
    if (!dir) continue;
    const candidate = path.join(dir, 'gdb');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  return null;
}

export function gdbArgs(pid: number, injectScript: string): string[] {
  const root = `/proc/${pid}/root`;
  return [
    '-batch',
    '-nx',
    // The target's files through /proc: by default gdb opens a target's executable and libraries in
    // the target's mount namespace by entering it (setns), which takes CAP_SYS_ADMIN; through
    // /proc/PID/root and /proc/PID/exe ptrace rights suffice (a container's app, from a sidecar).
    '-iex',
    `set sysroot ${root}`,
    // Symbols of libc and libpython only: reading every library's symbols is most of gdb's attach time.
    '-iex',
    'set auto-solib-add off',
    '-x',
    injectScript,
    '-p',
    String(pid),
    `/proc/${pid}/exe`,
  ];
}

/** One line from gdb's whole output (pure; tested on recorded outputs). */
export function readGdbOutput(output: string, pid: number): GdbOutcome {
  const marker = (name: string): string | null => {
    const m = new RegExp(`^RTPROF-${name} ?(.*)$`, 'm').exec(output);
    return m ? m[1].trim() : null;
  };
  const queued = marker('QUEUED');
  if (queued !== null) {
    if (queued !== '0')
      return {
        ok: false,
        code: 'failed',
        reason: `CPython refused the pending call (Py_AddPendingCall returned ${queued}: the interpreter is shutting down, or its queue of pending calls is full); try again`,
      };
    const syscall = marker('SYSCALL');
    if (syscall !== null) return { ok: true, via: 'syscall', detail: `thread ${syscall.split(' ')[0]} in a system call` };
    const idle = marker('IDLE');
    return idle !== null
      ? { ok: true, via: 'idle', detail: `thread ${idle}` }
      : { ok: true, via: 'safepoint', detail: marker('SAFEPOINT') ?? '' };
  }
  if (/ptrace: Operation not permitted|Could not attach to process/.test(output)) {
    return { ok: false, code: 'forbidden', reason: ptraceRefused() };
  }
  if (/ptrace: No such process|exited (normally|with code)|\bhas exited\b|Target 'None'|The program is not being run/.test(output)) {
    return { ok: false, code: 'gone', reason: `process ${pid} exited during attach` };
  }
  const missing = marker('NOSYMBOLS');
  if (missing !== null) {
    return {
      ok: false,
      code: 'no_symbols',
      reason: `pid ${pid} is not a CPython with its C API symbols (missing ${missing}; static or stripped build?): no probe, watched from /proc`,
    };
  }
  if (marker('BUSY') !== null) {
    return { ok: false, code: 'busy', reason: `pid ${pid}: no thread reached a safe point and none is parked in a system call; try again` };
  }
  if (/Python scripting is not supported/.test(output)) {
    return { ok: false, code: 'failed', reason: 'this gdb has no Python support: apt-get install gdb (not gdb-minimal)' };
  }
  const error = marker('ERROR');
  const last =
    output
      .trim()
      .split('\n')
      .filter((l) => !l.startsWith('RTPROF-'))
      .pop() ?? '';
  return { ok: false, code: 'failed', reason: `gdb could not inject the probe: ${error ?? last}`.slice(0, 300) };
}

/** Runs gdb; resolves with its outcome (never rejects). */
export function runGdb(run: GdbRun): Promise<GdbOutcome> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtprof-gdb-'));
  const params = path.join(dir, 'params.json');
  fs.writeFileSync(params, JSON.stringify({ codePath: run.codePath, codeBytes: run.codeBytes }), { mode: 0o600 });
  return new Promise((resolve) => {
    const child = spawn(run.gdb, gdbArgs(run.pid, run.injectScript), {
      env: { ...process.env, RTPROF_GDB_PARAMS: params },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    let waitTimer: NodeJS.Timeout | null = null;
    const onData = (d: Buffer): void => {
      output += d.toString();
      if (waitTimer === null && /^RTPROF-WAITING/m.test(output)) {
        // No thread reached a safe point in time: the target is parked. SIGURG (ignored by default,
        // and stopped and swallowed by gdb here) wakes gdb into the parked-thread path.
        waitTimer = setTimeout(() => {
          if (!/^RTPROF-(SAFEPOINT|IDLE)/m.test(output)) {
            try {
              process.kill(run.pid, 'SIGURG');
            } catch {
              // gone: gdb will say so
            }
          }
        }, run.safePointWaitMs);
      }
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    const hard = setTimeout(() => child.kill('SIGTERM'), run.hardTimeoutMs);
    const finish = (outcome: GdbOutcome): void => {
      if (waitTimer) clearTimeout(waitTimer);
      clearTimeout(hard);
      fs.rmSync(dir, { recursive: true, force: true });
      resolve(outcome);
    };
    child.on('error', (err) => finish({ ok: false, code: 'failed', reason: `cannot run gdb: ${err.message}` }));
    child.on('close', () => finish(readGdbOutput(output, run.pid)));
  });
}
