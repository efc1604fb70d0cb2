// Directories rtprof keeps its own files in (the probe socket, the Node attach lock): made by us
// and private, or, when they already exist, checked and never modified. A root agent must not
// chmod a directory someone else made (`--socket /tmp/x.sock` would strip /tmp's sticky bit).
import * as fs from 'node:fs';

/** Why an existing directory cannot hold our files; null when it can. */
export function unsafeDirReason(dir: string, st: fs.Stats, allowShared: boolean): string | null {
  const uid = process.geteuid?.();
  if (!st.isDirectory()) return `${dir} is not a directory`;
  if (uid === undefined) return null;
  // A shared directory must be root's (/tmp, /run): anyone else could remove it from under us.
  if (st.uid !== uid && !(allowShared && st.uid === 0)) return `${dir} belongs to uid ${st.uid}, not to us (uid ${uid})`;
  const othersWrite = (st.mode & 0o022) !== 0;
  // With the sticky bit set, other users cannot rename or remove what we put there (as in /tmp).
  if (othersWrite && !(allowShared && (st.mode & 0o1000) !== 0)) {
    return `${dir} is writable by other users (mode ${(st.mode & 0o7777).toString(8)}), who could replace what rtprof puts there`;
  }
  return null;
}

/**
 * Makes `dir` (and missing parents) mode 0700, or checks the existing one. `allowShared` accepts an
 * existing sticky shared directory such as /tmp (a socket in it cannot be replaced by others).
 * Throws `Error` with a one-line reason; never changes the mode or owner of a directory it did not make.
 */
export function ensureOwnDir(dir: string, allowShared = false): void {
  const made = fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = fs.lstatSync(dir);
  if (made !== undefined) {
    // Ours from this call: the umask may have loosened the mode we asked for; tightening is safe.
    if ((st.mode & 0o077) !== 0) fs.chmodSync(dir, 0o700);
    return;
  }
  const why = unsafeDirReason(dir, st, allowShared);
  if (why) throw new Error(why);
}
