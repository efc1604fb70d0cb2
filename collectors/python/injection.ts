// The Python code an attacher makes a running CPython execute, and the files around it. The code
// only runs the package's own loader (rtprof_probe/_loader.py, the preload runs the same one) and
// calls start(config): a loaded probe is reused, so attaching twice does not stack. It runs in its
// own namespace, never in the target's __main__, and leaves sys.path alone.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { packageRoot } from '../paths';
import type { PythonProbeConfig } from '../probeConfig';

/**
 * The Python probe package (collectors/python/rtprof_probe): the one directory to ship into a
 * target. It is self-contained and works from wherever it is copied to (under any name); give
 * buildInjectionCode the path the target sees it at.
 */
export function pythonProbeDir(): string {
  return path.join(packageRoot(), 'collectors', 'python', 'rtprof_probe');
}

/** The package's files, relative to pythonProbeDir() (sorted; no bytecode caches): what to copy. */
export function pythonProbeFiles(): string[] {
  const dir = pythonProbeDir();
  const files: string[] = [];
  const walk = (rel: string): void => {
    for (const entry of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const child = rel ? `${rel}/${entry.name}` : entry.name;
      if (entry.isDirectory() && entry.name !== '__pycache__') walk(child);
      else if (entry.isFile() && entry.name.endsWith('.py')) files.push(child);
    }
  };
  walk('');
  return files.sort();
}

/**
 * One line of Python that loads the package found at packageDir (as the target sees it) and
 * starts it. Loader failures are written next to the marker (`<marker>.error`) for the attacher to
 * report; nothing is printed in the target.
 */
export function buildInjectionCode(packageDir: string, config: PythonProbeConfig): string {
  const marker = config.attachMarker;
  const loader = path.posix.join(packageDir, '_loader.py');
  const body = [
    'try:',
    '    g = {}',
    `    with open(${JSON.stringify(loader)}, "rb") as f:`,
    `        exec(compile(f.read(), ${JSON.stringify(loader)}, "exec"), g)`,
    `    g["load"](${JSON.stringify(packageDir)}).start(__import__("json").loads(${JSON.stringify(JSON.stringify(config.toJSON()))}))`,
    'except Exception as e:',
    '    try:',
    `        with open(${JSON.stringify(marker + '.error')}, "w") as f:`,
    '            f.write("%s: %s" % (type(e).__name__, e))',
    '    except Exception:',
    '        pass',
  ].join('\n');
  return `exec(${JSON.stringify(body)}, {"__name__": "__rtprof_inject__"})\n`;
}

/** A fresh marker path in the temp dir, named rtprof-* (the probe deletes only such names). */
export function newMarkerPath(pid: number): string {
  return path.join(os.tmpdir(), `rtprof-attach-${pid}-${crypto.randomBytes(6).toString('hex')}.marker`);
}

/**
 * Writes a file private to us and, when we are root attaching to another user's process, owned by
 * the target's user, so the probe can read it (remote_exec) and delete it (marker).
 */
export function writeForTarget(file: string, content: string | Buffer, owner: { uid: number; gid: number }): void {
  // Through the open file, not its name: in a container the directory may be the target's, which
  // could swap the name for a symlink to a file of the agent's in between.
  const fd = fs.openSync(file, 'wx', 0o600);
  try {
    fs.writeFileSync(fd, content);
    if (process.getuid?.() === 0 && owner.uid >= 0 && owner.uid !== 0) fs.fchownSync(fd, owner.uid, owner.gid);
  } finally {
    fs.closeSync(fd);
  }
}

export function removeQuietly(file: string): void {
  fs.rmSync(file, { force: true, recursive: true });
}

/** Resolves true once the marker is gone (the probe connected), false after timeoutMs. */
export async function waitForMarkerGone(marker: string, timeoutMs: number, alive: () => boolean): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (!fs.existsSync(marker)) return true;
    if (!alive()) return false;
    await new Promise((r) => setTimeout(r, 25));
  }
  return !fs.existsSync(marker);
}

/** What the injected loader wrote when it failed in the target, if anything. */
export function loaderError(marker: string): string | null {
  try {
    // O_NOFOLLOW: in a container the target owns that directory, and a symlink it planted would
    // resolve against the agent's filesystem.
    const fd = fs.openSync(marker + '.error', fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
    try {
      return fs.readFileSync(fd, 'utf8').slice(0, 300);
    } finally {
      fs.closeSync(fd);
    }
  } catch {
    return null;
  }
}
