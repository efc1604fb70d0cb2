// One Node attach at a time: every target opens its inspector on the same default port (9229) of
// its network namespace, so two concurrent SIGUSR1 attaches would collide. Inside one agent a
// promise chain serializes; across agents of one user an O_EXCL lock file does. The file lives in
// a directory only that user can write (root's in /run), so another user can neither plant a
// live pid in it to block every attach nor leave a file there that we cannot remove.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureOwnDir } from '../privateDir';

const LOCK_NAME = 'node-attach.lock';
// A holder that died without cleaning up, or hangs, is stale after this long (an attach is ~1 s).
const STALE_AFTER_MS = 120_000;
const POLL_MS = 50;

let chain: Promise<unknown> = Promise.resolve();

/** Where the lock may live, best first: `/run/rtprof` for root, else `$XDG_RUNTIME_DIR/rtprof`; then `<tmp>/rtprof-<uid>`. */
export function lockDirs(): string[] {
  const uid = process.geteuid?.() ?? 'user';
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  const first = uid === 0 ? '/run/rtprof' : runtimeDir && path.isAbsolute(runtimeDir) ? path.join(runtimeDir, 'rtprof') : undefined;
  const tmp = path.join(os.tmpdir(), `rtprof-${uid}`);
  return first ? [first, tmp] : [tmp];
}

export function withAttachLock<T>(waitMs: number, fn: () => Promise<T>): Promise<T> {
  const run = chain.then(async () => {
    const file = lockFile();
    await acquireFileLock(file, Date.now() + waitMs);
    try {
      return await fn();
    } finally {
      releaseFileLock(file);
    }
  });
  chain = run.catch(() => undefined);
  return run;
}

function lockFile(): string {
  const dirs = lockDirs();
  for (const [i, dir] of dirs.entries()) {
    try {
      ensureOwnDir(dir);
      return path.join(dir, LOCK_NAME);
    } catch (err) {
      // Cannot be made (a read-only /run in a container): the next place. Made by someone else,
      // or open to others: never fall back from that, it is what an attacker would arrange.
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== undefined && i < dirs.length - 1) continue;
      throw new Error(`the Node attach lock's directory is unsafe: ${(err as Error).message}; remove it and try again`);
    }
  }
  throw new Error('no directory for the Node attach lock');
}

type Holder = 'live' | 'gone' | 'missing';

function holder(file: string): Holder {
  let st: fs.Stats;
  let pid: number;
  try {
    st = fs.lstatSync(file);
    const uid = process.geteuid?.();
    // Only root can put a file in our private directory; still, never trust another user's pid.
    if (!st.isFile() || (uid !== undefined && st.uid !== uid)) {
      throw new Error(`the Node attach lock ${file} is not ours (uid ${st.uid}); remove it and try again`);
    }
    pid = Number(fs.readFileSync(file, 'utf8').trim());
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return 'missing';
    throw err;
  }
  if (Date.now() - st.mtimeMs > STALE_AFTER_MS) return 'gone';
  // Written between our O_EXCL create and its write: give the writer a moment.
  if (!Number.isInteger(pid) || pid <= 0) return Date.now() - st.mtimeMs > 5000 ? 'gone' : 'live';
  try {
    process.kill(pid, 0);
    return 'live';
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH' ? 'gone' : 'live';
  }
}

async function acquireFileLock(file: string, deadline: number): Promise<void> {
  for (;;) {
    try {
      const fd = fs.openSync(file, 'wx', 0o600);
      try {
        fs.writeSync(fd, `${process.pid}\n`);
      } finally {
        fs.closeSync(fd);
      }
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'EEXIST') throw new Error(`cannot create the Node attach lock ${file}: ${code ?? (err as Error).message}`);
    }
    const state = holder(file);
    if (state === 'gone') {
      try {
        fs.unlinkSync(file);
      } catch (err) {
        const code = (err as NodeJS.ErrnoException).code;
        // Anything but "someone removed it first" would make this loop spin: fail once instead.
        if (code !== 'ENOENT') throw new Error(`cannot remove the stale Node attach lock ${file} (${code}): remove it by hand`);
      }
      continue;
    }
    if (state === 'missing') continue;
    if (Date.now() > deadline) throw new Error(`another Node attach by this user is in progress (${file}); try again`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function releaseFileLock(file: string): void {
  try {
    if (fs.readFileSync(file, 'utf8').trim() === String(process.pid)) fs.unlinkSync(file);
  } catch {
    // gone already
  }
}
