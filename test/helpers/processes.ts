// Starting and reaping the real processes tests watch. Every process is started in its own
// process group and killed by that group id, never by name.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { once } from 'node:events';
import { after } from 'node:test';

const started = new Set<ChildProcess>();
/** Process groups we created: killed at the end even when their leader exited first (an app a
 * wrapper started can outlive the wrapper). */
const groups = new Set<number>();

function killGroup(child: ChildProcess, signal: NodeJS.Signals = 'SIGKILL'): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

after(() => {
  for (const child of started) killGroup(child);
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // the group is empty
    }
  }
});

export interface Started {
  child: ChildProcess;
  pid: number;
  stdout: () => string;
  stderr: () => string;
  /** resolves with the first stdout/stderr line matching re */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  kill: (signal?: NodeJS.Signals) => void;
}

export function start(command: string, args: string[], options: SpawnOptions = {}): Started {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], detached: true, ...options });
  started.add(child);
  if (options.detached !== false && child.pid !== undefined) groups.add(child.pid);
  let out = '';
  let err = '';
  const waiters: Array<() => void> = [];
  child.stdout?.on('data', (d: Buffer) => {
    out += d.toString();
    waiters.forEach((w) => w());
  });
  child.stderr?.on('data', (d: Buffer) => {
    err += d.toString();
    waiters.forEach((w) => w());
  });
  const exited = once(child, 'exit').then(([code, signal]) => {
    started.delete(child);
    waiters.forEach((w) => w());
    return { code: code as number | null, signal: signal as NodeJS.Signals | null };
  });
  const waitFor = (re: RegExp, timeoutMs = 15_000): Promise<RegExpMatchArray> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out waiting for ${re} in output of ${command} ${args.join(' ')}:\n${out}\n${err}`)),
        timeoutMs,
      );
      const check = (): void => {
        const m = re.exec(out) ?? re.exec(err);
        if (m) {
          clearTimeout(timer);
          resolve(m);
        } else if (child.exitCode !== null || child.signalCode !== null) {
          clearTimeout(timer);
          reject(new Error(`${command} exited (${child.exitCode ?? child.signalCode}) before printing ${re}:\n${out}\n${err}`));
        }
      };
      waiters.push(check);
      check();
    });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  return { child, pid: child.pid, stdout: () => out, stderr: () => err, waitFor, exited, kill: (signal) => killGroup(child, signal) };
}

/** Whether a process with this pid exists (signal 0). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Polls fn every everyMs until it gives a value (a throw counts as none); rejects after timeoutMs. */
export async function until<T>(
  what: string | (() => string),
  fn: () => Promise<T | undefined>,
  timeoutMs = 30_000,
  everyMs = 500,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await fn().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out: ${typeof what === 'string' ? what : what()}`);
    await sleep(everyMs);
  }
}

export const PYTHON = '/usr/bin/python3';
