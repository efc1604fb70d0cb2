// CPython 3.14+: sys.remote_exec(pid, script) (PEP 768), run with the target's own interpreter so
// major.minor match. The target runs the script at its next safe point; the script only loads the
// probe. No 3.14 is installed on our machines: the command is unit-tested, the run is not.
import { execFile } from 'node:child_process';
import { ptraceRefused } from './target';

export interface RemoteExecCommand {
  file: string;
  args: string[];
}

/**
 * `<target exe> -I -S -c "<check version; sys.remote_exec(pid, script)>"`. -I -S: no site, no user
 * paths, nothing of the caller's environment gets into the helper interpreter.
 */
export function buildRemoteExecCommand(opts: {
  pid: number;
  exe: string;
  scriptPath: string;
  major: number;
  minor: number;
  /** The target is in another mount namespace: run the helper there (nsenter), with the exe path as it sees it. */
  enterMountNs?: boolean;
}): RemoteExecCommand {
  const code = [
    'import sys',
    `if sys.version_info[:2] != (${opts.major}, ${opts.minor}): sys.exit("rtprof: interpreter is %d.%d, target is ${opts.major}.${opts.minor}" % sys.version_info[:2])`,
    `sys.remote_exec(${opts.pid}, ${JSON.stringify(opts.scriptPath)})`,
  ].join('\n');
  if (opts.enterMountNs) {
    // Pids are still read in the agent's pid namespace: this serves a sidecar sharing the pod's.
    return { file: 'nsenter', args: [`--mount=/proc/${opts.pid}/ns/mnt`, '--', opts.exe, '-I', '-S', '-c', code] };
  }
  return { file: opts.exe, args: ['-I', '-S', '-c', code] };
}

/** One line from a failed remote_exec run (pure). */
export function readRemoteExecFailure(stderr: string, pid: number): string {
  if (/PermissionError|Operation not permitted|EPERM/.test(stderr)) return ptraceRefused();
  if (/[Rr]emote debugging is not enabled|disable.remote.debug|not enabled in the remote/.test(stderr)) {
    return ptraceRefused('the target disabled remote debugging: PYTHON_DISABLE_REMOTE_DEBUG or -X disable_remote_debug');
  }
  if (/ProcessLookupError|No such process/.test(stderr)) return `process ${pid} exited during attach`;
  const last = stderr.trim().split('\n').pop() ?? '';
  return `sys.remote_exec failed: ${last}`.slice(0, 300);
}

export function runRemoteExec(
  cmd: RemoteExecCommand,
  pid: number,
  timeoutMs: number,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  return new Promise((resolve) => {
    execFile(cmd.file, cmd.args, { timeout: timeoutMs }, (err, _stdout, stderr) => {
      if (!err) resolve({ ok: true });
      else resolve({ ok: false, reason: readRemoteExecFailure(String(stderr) || err.message, pid) });
    });
  });
}
