// Where a target lives compared with the agent: its mount, network, pid and user namespaces, and
// the directory inside its own filesystem (reached through /proc/PID/root) where the agent puts the
// files the target must read and the socket its probe connects to.
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { errors } from '../../src/errors';

export type NsKind = 'mnt' | 'net' | 'pid' | 'user';

export interface NamespaceView {
  pid: number;
  /** Whether the target shares the agent's namespace of each kind. */
  same: Record<NsKind, boolean>;
  /** The pid the target sees for itself (innermost NSpid): what its probe puts in its hello. */
  nsPid: number;
  uid: number;
  gid: number;
}

const KINDS: NsKind[] = ['mnt', 'net', 'pid', 'user'];
// Only these, in this order: a target whose /tmp is read-only often still has a tmpfs /dev/shm.
const CANDIDATE_DIRS = ['/tmp', '/dev/shm'];

function errCode(err: unknown): string {
  return (err as NodeJS.ErrnoException).code ?? String((err as Error).message);
}

/** Whether pid is in another user namespace, told by uid_map: anyone may read it, unlike ns/user. */
function otherUserNamespace(pid: number): boolean {
  try {
    return fs.readFileSync(`/proc/${pid}/uid_map`, 'utf8') !== fs.readFileSync('/proc/self/uid_map', 'utf8');
  } catch {
    return false;
  }
}

/** Whether pid shares the agent's namespace of this kind; undefined when that cannot be read. */
export function sameNamespace(pid: number, kind: NsKind): boolean | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/${kind}`) === fs.readlinkSync(`/proc/self/ns/${kind}`);
  } catch {
    return undefined;
  }
}

/** Reads the target's namespaces; throws a coded error when the agent may not look at them. */
export function namespaceView(pid: number): NamespaceView {
  const same = {} as Record<NsKind, boolean>;
  for (const kind of KINDS) {
    let theirs: string;
    try {
      theirs = fs.readlinkSync(`/proc/${pid}/ns/${kind}`);
    } catch (err) {
      const code = errCode(err);
      if (code === 'ENOENT' || code === 'ESRCH') throw new Error(`process ${pid} exited`);
      if (otherUserNamespace(pid)) throw errors.nsUser(String(pid));
      throw errors.nsNoAccess(String(pid), `/proc/${pid}/ns/${kind}: ${code}`);
    }
    same[kind] = theirs === fs.readlinkSync(`/proc/self/ns/${kind}`);
  }
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const field = (key: string): string[] => (new RegExp(`^${key}:\\s+(.*)$`, 'm').exec(status)?.[1] ?? '').trim().split(/\s+/);
  const nsPids = field('NSpid').map(Number);
  return {
    pid,
    same,
    nsPid: nsPids.length > 0 && Number.isInteger(nsPids.at(-1)) ? nsPids.at(-1)! : pid,
    uid: Number(field('Uid')[0] ?? -1),
    gid: Number(field('Gid')[0] ?? -1),
  };
}

/** Whether the probe's files and socket must be placed inside the target (not at the agent's paths). */
export function needsInsideChannel(view: NamespaceView): boolean {
  // Another pid namespace alone also gets its own socket: its hello carries a pid only that socket
  // can translate.
  // A root agent's socket dir is 0700: a target running as another user could not connect to it,
  // so it gets a socket of its own, owned by its uid.
  return !view.same.mnt || !view.same.pid || (process.geteuid?.() === 0 && view.uid !== 0);
}

/** A path of the target's filesystem as the agent reaches it. */
export function hostPathOf(pid: number, inTargetPath: string): string {
  return `/proc/${pid}/root${inTargetPath}`;
}

/** A directory made by the agent inside the target's filesystem: one per watched target. */
export interface TargetDir {
  /** The directory as the target sees it. */
  readonly inTarget: string;
  /** The same directory as the agent reaches it (through /proc/PID/root). */
  readonly onHost: string;
  readonly owner: { uid: number; gid: number };
  /** Copies a file (or a directory tree) into it once, owned by the target's user; returns its in-target path. */
  place(source: string, name?: string): string;
  /** A fresh name in its `m` subdirectory, which the target's user owns (its probe deletes its
   * attach markers there); not created: [as the target sees it, as the agent reaches it]. */
  freshName(prefix: string, suffix: string): [string, string];
  remove(): void;
}

function chownFor(file: string, owner: { uid: number; gid: number }): void {
  if (process.getuid?.() === 0 && owner.uid > 0) fs.lchownSync(file, owner.uid, owner.gid);
}

function copyTree(source: string, dest: string, owner: { uid: number; gid: number }): void {
  const st = fs.statSync(source);
  if (st.isDirectory()) {
    fs.mkdirSync(dest, { mode: 0o700 });
    for (const entry of fs.readdirSync(source)) {
      if (entry === '__pycache__') continue;
      copyTree(path.join(source, entry), path.join(dest, entry), owner);
    }
  } else {
    // O_EXCL: never write through a name the target may have planted (a symlink would resolve
    // against the agent's own root, not the target's).
    fs.writeFileSync(dest, fs.readFileSync(source), { mode: 0o600, flag: 'wx' });
  }
  chownFor(dest, owner);
}

/**
 * Makes `rtprof-<agent pid>-<random>` in the target's /tmp, else its /dev/shm. The parent must be a
 * real directory (an absolute symlink there would lead into the agent's own filesystem). Throws a
 * coded error: no access to /proc/PID/root, or nowhere writable.
 */
export function createTargetDir(view: NamespaceView): TargetDir {
  const owner = { uid: view.uid, gid: view.gid };
  for (const parent of CANDIDATE_DIRS) {
    const hostParent = hostPathOf(view.pid, parent);
    let st: fs.Stats;
    try {
      st = fs.lstatSync(hostParent);
    } catch (err) {
      const code = errCode(err);
      if (code === 'EACCES' || code === 'EPERM') {
        if (!view.same.user) throw errors.nsUser(String(view.pid));
        throw errors.nsNoAccess(String(view.pid), `${code}`);
      }
      continue;
    }
    if (!st.isDirectory()) continue;
    const name = `rtprof-${process.pid}-${crypto.randomBytes(4).toString('hex')}`;
    const onHost = path.join(hostParent, name);
    try {
      fs.mkdirSync(onHost, { mode: 0o700 });
    } catch {
      continue; // read-only, full, or not ours to write: try the next place
    }
    // The directory stays the agent's (the target can open the names in it, not rename or replace
    // them); only `m` is the target's.
    fs.chmodSync(onHost, 0o711);
    fs.mkdirSync(path.join(onHost, 'm'), { mode: 0o700 });
    chownFor(path.join(onHost, 'm'), owner);
    return targetDir(view.pid, path.join(parent, name), onHost, owner);
  }
  throw errors.nsReadOnly(String(view.pid));
}

/** Another live process in the same mount namespace as pid had (its own /proc/PID/root is gone). */
function sharingMountNamespace(mntId: string, exclude: number): number | undefined {
  for (const entry of fs.readdirSync('/proc')) {
    const other = Number(entry);
    if (!Number.isInteger(other) || other <= 0 || other === exclude) continue;
    try {
      if (fs.readlinkSync(`/proc/${other}/ns/mnt`) === mntId) return other;
    } catch {
      // gone, or not ours to look at
    }
  }
  return undefined;
}

function targetDir(pid: number, inTarget: string, onHost: string, owner: { uid: number; gid: number }): TargetDir {
  const placed = new Map<string, string>();
  let mntId: string | undefined;
  try {
    mntId = fs.readlinkSync(`/proc/${pid}/ns/mnt`);
  } catch {
    mntId = undefined;
  }
  return {
    inTarget,
    onHost,
    owner,
    place(source, name = path.basename(source)) {
      const known = placed.get(name);
      if (known) return known;
      copyTree(source, path.join(onHost, name), owner);
      const where = path.join(inTarget, name);
      placed.set(name, where);
      return where;
    },
    freshName(prefix, suffix) {
      const name = `${prefix}${crypto.randomBytes(6).toString('hex')}${suffix}`;
      return [path.join(inTarget, 'm', name), path.join(onHost, 'm', name)];
    },
    remove() {
      // After the target exited its /proc/PID/root is gone, but its container (mount namespace)
      // may live on in other processes: remove the directory through one of them.
      const via = fs.existsSync(`/proc/${pid}/root/`) ? pid : mntId ? sharingMountNamespace(mntId, pid) : undefined;
      if (via === undefined) return;
      try {
        fs.rmSync(via === pid ? onHost : hostPathOf(via, inTarget), { recursive: true, force: true });
      } catch {
        // removed meanwhile, with its container
      }
    },
  };
}
