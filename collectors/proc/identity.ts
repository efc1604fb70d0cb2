// Who a process is, read from /proc once: pid and start time (its identity: a reused pid is a new
// process), parent, executable, command line, runtime, version and service name. Every other part
// of rtprof takes a ProcessIdentity rather than re-reading these files.
import { execFileSync } from 'node:child_process';
import { statSync } from 'node:fs';
import { basename } from 'node:path';
import { sameNamespace } from './namespaces';
import { isGone, readCmdline, readEnvVar, readExe, readStat, readStatus, startTimeEpochMs } from './procfs';

export type Runtime = 'nodejs' | 'cpython' | 'other';

export interface ProcessIdentity {
  pid: number;
  /** parent pid when identified (semconv process.parent_pid) */
  ppid: number;
  startTicks: number;
  startTimeMs: number;
  runtime: Runtime;
  runtimeVersion: string | undefined;
  exe: string | undefined;
  executableName: string;
  serviceName: string;
  argv: string[];
  uid: number;
}

const NODE_EXE = /^(node|nodejs)(\d+)?$/;
const PYTHON_EXE = /^python(\d+(\.\d+)?)?[dmu]*$/;

export function runtimeOf(exe: string | undefined, comm: string): Runtime {
  const name = basename(exe ?? comm);
  if (NODE_EXE.test(name) || (!exe && comm === 'node')) return 'nodejs';
  if (PYTHON_EXE.test(name) || /^python\d/.test(comm)) return 'cpython';
  return 'other';
}

const versionCache = new Map<string, string | undefined>();

/** Asks the target's own executable for its version once per (path, mtime). */
export function runtimeVersionOf(exe: string | undefined, runtime: Runtime, pid: number): string | undefined {
  if (!exe || runtime === 'other') return undefined;
  // A container's own binary is never run by the agent (often root on the host): its probe's hello
  // tells the version instead (Watcher.onHello).
  if (sameNamespace(pid, 'mnt') === false) return undefined;
  // /proc/PID/exe still works when the binary was replaced or deleted after start.
  const path = `/proc/${pid}/exe`;
  let key = exe;
  try {
    key = `${exe}@${statSync(path).mtimeMs}`;
  } catch {
    return undefined;
  }
  if (versionCache.has(key)) return versionCache.get(key);
  let version: string | undefined;
  try {
    const out = execFileSync(path, ['--version'], { encoding: 'utf8', timeout: 3000, stdio: ['ignore', 'pipe', 'pipe'], env: {} });
    version = /(\d+\.\d+\.\d+\S*)/.exec(out)?.[1];
  } catch {
    version = undefined;
  }
  versionCache.set(key, version);
  return version;
}

/** The script a node/python process runs: first argument after the interpreter's own flags. */
export function scriptOf(argv: string[]): string | undefined {
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i] ?? '';
    if (arg === '-m') return argv[i + 1];
    // inline code (-c, -e, -p) has no script name: the executable names the service
    if (arg === '-c' || arg === '-e' || arg === '-p' || arg === '--eval' || arg === '--print') return undefined;
    if (arg === '-r' || arg === '--require' || arg === '--import' || arg === '-X' || arg === '-W') {
      i++;
      continue;
    }
    if (arg.startsWith('-')) continue;
    return arg;
  }
  return undefined;
}

export function serviceNameOf(pid: number, argv: string[], executableName: string, runtime: Runtime): string {
  const fromEnv = readEnvVar(pid, 'OTEL_SERVICE_NAME');
  if (fromEnv) return fromEnv;
  // Only an interpreter's first argument is a script; `sleep 300` is the service "sleep".
  const script = runtime === 'other' ? undefined : scriptOf(argv);
  return script ? basename(script) : executableName;
}

/** Identity of one pid, or undefined when it is gone. Throws only for unexpected errors. */
export function identify(pid: number): ProcessIdentity | undefined {
  try {
    const stat = readStat(pid);
    const status = readStatus(pid);
    const exe = readExe(pid);
    const argv = readCmdline(pid);
    const runtime = runtimeOf(exe, stat.comm);
    // exe is unreadable for another user's process: argv[0], then comm, name it instead
    const executableName = basename(exe ?? argv[0] ?? stat.comm);
    return {
      pid,
      ppid: stat.ppid,
      startTicks: stat.startTicks,
      startTimeMs: startTimeEpochMs(stat.startTicks),
      runtime,
      runtimeVersion: runtimeVersionOf(exe, runtime, pid),
      exe,
      executableName,
      serviceName: serviceNameOf(pid, argv, executableName, runtime),
      argv,
      uid: status.uid,
    };
  } catch (err) {
    if (isGone(err)) return undefined;
    throw err;
  }
}

/** Cheap pre-filter on /proc/PID/stat comm and exe, before the full identify(). */
export function isNodeOrPython(pid: number): boolean {
  try {
    const stat = readStat(pid);
    return runtimeOf(readExe(pid), stat.comm) !== 'other';
  } catch {
    return false;
  }
}
