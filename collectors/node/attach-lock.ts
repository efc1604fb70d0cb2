// One Node attach at a time on this host: every target opens its inspector on the same default
// port (9229) of the network namespace, so two concurrent SIGUSR1 attaches would collide. Inside
// one agent a promise chain serializes; across agents an O_EXCL lock file does.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';

const LOCK_FILE = path.join(os.tmpdir(), 'rtprof-node-attach.lock');
// A holder that died without cleaning up, or hangs, is stale after this long (an attach is ~1 s).
const STALE_AFTER_MS = 120_000;
const POLL_MS = 50;

let chain: Promise<unknown> = Promise.resolve();

export function withAttachLock<T>(waitMs: number, fn: () => Promise<T>): Promise<T> {
  const run = chain.then(async () => {
    await acquireFileLock(Date.now() + waitMs);
    try {
      return await fn();
    } finally {
      releaseFileLock();
    }
  });
  chain = run.catch(() => undefined);
  return run;
}

function holderIsGone(): boolean {
  try {
    const st = fs.statSync(LOCK_FILE);
    if (Date.now() - st.mtimeMs > STALE_AFTER_MS) return true;
    const pid = Number(fs.readFileSync(LOCK_FILE, 'utf8').trim());
    if (!Number.isInteger(pid) || pid <= 0) return Date.now() - st.mtimeMs > 5000;
    process.kill(pid, 0);
    return false;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'ESRCH' || code === 'ENOENT';
  }
}

async function acquireFileLock(deadline: number): Promise<void> {
  for (;;) {
    try {
      const fd = fs.openSync(LOCK_FILE, 'wx', 0o644);
      fs.writeSync(fd, `${process.pid}\n`);
      fs.closeSync(fd);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    if (holderIsGone()) {
      try {
        fs.unlinkSync(LOCK_FILE);
      } catch {
        // someone else removed it first
      }
      continue;
    }
    if (Date.now() > deadline) throw new Error(`another Node attach on this host is in progress (${LOCK_FILE}); try again`);
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
}

function releaseFileLock(): void {
  try {
    if (fs.readFileSync(LOCK_FILE, 'utf8').trim() === String(process.pid)) fs.unlinkSync(LOCK_FILE);
  } catch {
    // gone already
  }
}
