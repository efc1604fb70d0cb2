// What a pid is, as far as attaching a Python probe goes: CPython or not, which version, whose,
// and whether it refused remote debugging. Read from /proc only; nothing is run in the target.
import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { sameNamespace } from '../proc/namespaces';

export interface PythonTarget {
  pid: number;
  /** /proc/PID/exe resolved, or the magic link itself when the file was replaced or is elsewhere. */
  exe: string;
  major: number;
  minor: number;
  uid: number;
  gid: number;
  /** PYTHON_DISABLE_REMOTE_DEBUG or -X disable_remote_debug (3.14+). */
  remoteDebugDisabled: boolean;
}

export type TargetLookup = { ok: true; target: PythonTarget } | { ok: false; reason: string; code: TargetFailure };
export type TargetFailure = 'gone' | 'forbidden' | 'not_cpython' | 'too_old';

export const PTRACE_REFUSED =
  'not permitted to attach: run as the same user or with CAP_SYS_PTRACE; in Kubernetes add SYS_PTRACE to the container securityContext';

export function ptraceRefused(detail?: string): string {
  return detail ? `${PTRACE_REFUSED} (${detail})` : PTRACE_REFUSED;
}

function read(pid: number, file: string): string {
  return fs.readFileSync(`/proc/${pid}/${file}`, 'utf8');
}

/** major.minor of the CPython in a maps file or an exe name (libpython3.11.so, python3.11). */
export function versionFromNames(maps: string, exe: string): { major: number; minor: number } | null {
  const m = /libpython(\d)\.(\d+)/.exec(maps) ?? /python(\d)\.(\d+)/.exec(path.basename(exe));
  return m ? { major: Number(m[1]), minor: Number(m[2]) } : null;
}

/** The Python's own answer, for an exe named plain `python3` without a libpython (static build). */
function askInterpreter(exe: string): Promise<{ impl: string; major: number; minor: number } | null> {
  const code = 'import sys; print(sys.implementation.name, sys.version_info[0], sys.version_info[1])';
  return new Promise((resolve) => {
    execFile(exe, ['-I', '-S', '-c', code], { timeout: 5000 }, (err, stdout) => {
      const m = /^(\w+) (\d+) (\d+)/.exec(String(stdout));
      resolve(err || !m ? null : { impl: m[1], major: Number(m[2]), minor: Number(m[3]) });
    });
  });
}

export function remoteDebugDisabled(environ: string, cmdline: string): boolean {
  const env = environ.split('\0').some((kv) => /^PYTHON_DISABLE_REMOTE_DEBUG=./.test(kv));
  const args = cmdline.split('\0');
  const x = args.some((a, i) => {
    const opt = a === '-X' ? (args[i + 1] ?? '') : a.startsWith('-X') ? a.slice(2) : '';
    return /^disable[-_]remote[-_]debug/.test(opt);
  });
  return env || x;
}

export async function lookupPythonTarget(pid: number): Promise<TargetLookup> {
  let exe: string;
  let maps: string;
  let status: string;
  try {
    status = read(pid, 'status');
  } catch {
    return { ok: false, code: 'gone', reason: `process ${pid} does not exist (it may have exited)` };
  }
  try {
    exe = fs.readlinkSync(`/proc/${pid}/exe`);
    maps = read(pid, 'maps');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ESRCH') return { ok: false, code: 'gone', reason: `process ${pid} exited` };
    return { ok: false, code: 'forbidden', reason: ptraceRefused(`cannot read /proc/${pid}: ${code}`) };
  }
  const runnable = exe.endsWith(' (deleted)') || !fs.existsSync(exe) ? `/proc/${pid}/exe` : exe;
  const base = path.basename(exe);
  if (/pypy/i.test(base) || /libpypy/.test(maps)) {
    return { ok: false, code: 'not_cpython', reason: `pid ${pid} runs PyPy (${base}), not CPython: no probe, watched from /proc` };
  }
  let version = versionFromNames(maps, exe);
  // A container's own binary is not run by the agent (see runtimeVersionOf in src/discovery.ts).
  if (!version && /^python[\d.]*$/.test(base) && sameNamespace(pid, 'mnt') !== false) {
    const answer = await askInterpreter(runnable);
    if (answer && answer.impl !== 'cpython') {
      return { ok: false, code: 'not_cpython', reason: `pid ${pid} runs ${answer.impl}, not CPython: no probe, watched from /proc` };
    }
    if (answer) version = { major: answer.major, minor: answer.minor };
  }
  if (!version) {
    return { ok: false, code: 'not_cpython', reason: `pid ${pid} (${base}) is not a CPython process: no probe, watched from /proc` };
  }
  if (version.major !== 3 || version.minor < 8) {
    return {
      ok: false,
      code: 'too_old',
      reason: `pid ${pid} runs CPython ${version.major}.${version.minor}; the probe needs 3.8 or newer: watched from /proc`,
    };
  }
  const ids = (key: string): number => Number(new RegExp(`^${key}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? -1);
  let disabled = false;
  if (version.minor >= 14) {
    try {
      disabled = remoteDebugDisabled(read(pid, 'environ'), read(pid, 'cmdline'));
    } catch (err) {
      return {
        ok: false,
        code: 'forbidden',
        reason: ptraceRefused(`cannot read /proc/${pid}/environ: ${(err as NodeJS.ErrnoException).code}`),
      };
    }
  }
  return {
    ok: true,
    target: { pid, exe: runnable, ...version, uid: ids('Uid'), gid: ids('Gid'), remoteDebugDisabled: disabled },
  };
}
