// Where a process's cgroups live on this host: /proc/PID/cgroup (v1 and v2 lines) joined with the
// cgroup mounts the agent sees in /proc/self/mountinfo. Pure parsers plus one small reader.
import { readdirSync, readFileSync } from 'node:fs';
import { join, posix } from 'node:path';

export type CgroupVersion = 1 | 2;

/** One line of /proc/PID/cgroup: `hierarchy-ID:controller-list:path` (v2 is `0::path`). */
export interface CgroupEntry {
  hierarchyId: number;
  /** v1 controllers (`cpu`, `memory`, `name=systemd`…); empty for the v2 line. */
  controllers: string[];
  /** Relative to the root of the reader's cgroup namespace. */
  path: string;
}

export interface CgroupMount {
  version: CgroupVersion;
  /** v1: the controllers this hierarchy carries (from the super options); v2: empty. */
  controllers: string[];
  /** Which cgroup of the hierarchy is mounted here (`/` on a host; a container's own cgroup inside one). */
  root: string;
  mountPoint: string;
}

/** A controller's cgroup directory in the host's filesystem, and the mount it hangs from. */
export interface CgroupDir {
  version: CgroupVersion;
  dir: string;
  mountPoint: string;
}

export interface CgroupLocation {
  entries: CgroupEntry[];
  cpu: CgroupDir | null;
  /** cgroup v1 keeps CPU usage in cpuacct, which may be mounted apart from cpu; v2: same as cpu. */
  cpuacct: CgroupDir | null;
  memory: CgroupDir | null;
}

export function parseProcCgroup(text: string): CgroupEntry[] {
  const entries: CgroupEntry[] = [];
  for (const line of text.split('\n')) {
    const first = line.indexOf(':');
    const second = line.indexOf(':', first + 1);
    if (first <= 0 || second < 0) continue;
    const hierarchyId = Number(line.slice(0, first));
    if (!Number.isInteger(hierarchyId)) continue;
    const list = line.slice(first + 1, second);
    // The path may itself contain ':' (systemd escapes little), so everything after the second colon is the path.
    entries.push({ hierarchyId, controllers: list ? list.split(',') : [], path: line.slice(second + 1) });
  }
  return entries;
}

/** mountinfo escapes space, tab, newline and backslash as \ooo octal. */
function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)));
}

export function parseCgroupMounts(mountinfo: string): CgroupMount[] {
  const mounts: CgroupMount[] = [];
  for (const line of mountinfo.split('\n')) {
    const dash = line.indexOf(' - ');
    if (dash < 0) continue;
    const left = line.slice(0, dash).split(' ');
    const [fstype, , superOptions = ''] = line.slice(dash + 3).split(' ');
    if (fstype !== 'cgroup' && fstype !== 'cgroup2') continue;
    const root = unescapeMountField(left[3] ?? '/');
    const mountPoint = unescapeMountField(left[4] ?? '');
    if (!mountPoint) continue;
    const controllers =
      fstype === 'cgroup' ? superOptions.split(',').filter((o) => !['rw', 'ro'].includes(o) && !o.startsWith('release_agent')) : [];
    mounts.push({ version: fstype === 'cgroup2' ? 2 : 1, controllers, root, mountPoint });
  }
  return mounts;
}

/** A path as /proc/PID/cgroup and mountinfo print it: the levels it climbs above the reader's cgroup-namespace root, then its names. */
export function splitUp(path: string): { up: number; rest: string[] } {
  const parts = path.split('/').filter(Boolean);
  let up = 0;
  while (parts[up] === '..') up++;
  return { up, rest: parts.slice(up) };
}

/** Our own cgroup-namespace root as `depth` names below a mount's root, when it has to be looked up. */
export type FindSelf = (mount: CgroupMount, depth: number) => string[] | null;

/**
 * The host directory of `path` under `mount`, or null when the mount does not show that cgroup.
 * Both are printed relative to the agent's cgroup namespace. On a host that is its root and both
 * start at `/`. In a private namespace (a pod on cgroup v2) other containers read `/../../x` and a
 * host cgroupfs mounted in reads `/../../..`: climbing the same number of levels, the rest is a
 * plain path below the mount; climbing fewer needs the names of our own ancestors, which
 * `findSelf` looks up in the mounted tree.
 */
export function dirUnder(mount: CgroupMount, path: string, findSelf?: FindSelf): string | null {
  const r = splitUp(mount.root);
  const p = splitUp(path);
  let rel: string[];
  if (p.up === r.up) {
    if (r.rest.some((name, i) => p.rest[i] !== name)) return null;
    rel = p.rest.slice(r.rest.length);
  } else if (p.up < r.up && r.rest.length === 0) {
    const self = findSelf?.(mount, r.up);
    if (!self || self.length !== r.up) return null;
    rel = [...self.slice(0, r.up - p.up), ...p.rest];
  } else {
    return null; // above the mount's root: this mount does not show it
  }
  if (rel.includes('..')) return null;
  return join(mount.mountPoint, ...rel);
}

/** Several mounts of one hierarchy (bind mounts) are common: prefer the one showing the whole tree. */
function mountFor(mounts: readonly CgroupMount[], version: CgroupVersion, controller?: string): CgroupMount[] {
  const fit = mounts.filter((m) => m.version === version && (controller === undefined || m.controllers.includes(controller)));
  return [...fit.filter((m) => m.root === '/'), ...fit.filter((m) => m.root !== '/')];
}

function locate(
  entries: readonly CgroupEntry[],
  mounts: readonly CgroupMount[],
  controller: string,
  findSelf?: FindSelf,
): CgroupDir | null {
  // A v1 hierarchy carrying the controller wins: on a hybrid host the v2 tree has no such controller.
  const v1 = entries.find((e) => e.hierarchyId !== 0 && e.controllers.includes(controller));
  // The root cgroup accounts the whole host, not a container: its usage would be misread as the target's.
  if (v1?.path === '/') return null;
  if (v1) {
    for (const mount of mountFor(mounts, 1, controller)) {
      const dir = dirUnder(mount, v1.path, findSelf);
      if (dir) return { version: 1, dir, mountPoint: mount.mountPoint };
    }
    return null;
  }
  const v2 = entries.find((e) => e.hierarchyId === 0);
  if (!v2 || v2.path === '/') return null;
  for (const mount of mountFor(mounts, 2)) {
    const dir = dirUnder(mount, v2.path, findSelf);
    if (dir) return { version: 2, dir, mountPoint: mount.mountPoint };
  }
  return null;
}

export function locateCgroups(entries: CgroupEntry[], mounts: readonly CgroupMount[], findSelf?: FindSelf): CgroupLocation {
  return {
    entries,
    cpu: locate(entries, mounts, 'cpu', findSelf),
    cpuacct: locate(entries, mounts, 'cpuacct', findSelf),
    memory: locate(entries, mounts, 'memory', findSelf),
  };
}

/** The directory and its ancestors up to (and including) the mount point, leaf first. */
export function ancestors(cg: CgroupDir): string[] {
  const out: string[] = [];
  let dir = cg.dir;
  for (;;) {
    out.push(dir);
    if (dir === cg.mountPoint || dir.length <= cg.mountPoint.length) break;
    const up = posix.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return out;
}

/** Reads where `pid`'s cgroups are; throws the fs error when the process is gone. */
export function readCgroupLocation(pid: number): CgroupLocation {
  const entries = parseProcCgroup(readFileSync(`/proc/${pid}/cgroup`, 'utf8'));
  const mounts = parseCgroupMounts(readFileSync('/proc/self/mountinfo', 'utf8'));
  return locateCgroups(entries, mounts, findOwnCgroup);
}

const ownCgroup = new Map<string, string[] | null>();
/** Directories looked at before giving up: a node has hundreds of cgroups, not tens of thousands. */
const SEARCH_LIMIT = 20_000;

/**
 * The cgroup `depth` levels below the mount holding this process (our namespace root): found by
 * its cgroup.procs, once per mount. In a cgroup namespace the kernel prints our own cgroup as `/`,
 * so the tree is the only place its name shows.
 */
export function findOwnCgroup(mount: CgroupMount, depth: number): string[] | null {
  const key = `${mount.mountPoint}:${depth}`;
  if (ownCgroup.has(key)) return ownCgroup.get(key)!;
  const me = String(process.pid);
  let level: string[][] = [[]];
  let visited = 0;
  let found: string[] | null = null;
  for (let d = 0; d < depth && level.length > 0; d++) {
    const next: string[][] = [];
    for (const names of level) {
      try {
        for (const e of readdirSync(join(mount.mountPoint, ...names), { withFileTypes: true })) {
          if (e.isDirectory() && ++visited <= SEARCH_LIMIT) next.push([...names, e.name]);
        }
      } catch {
        // removed while we looked
      }
    }
    level = next;
  }
  for (const names of level) {
    try {
      if (
        readFileSync(join(mount.mountPoint, ...names, 'cgroup.procs'), 'utf8')
          .split('\n')
          .includes(me)
      ) {
        found = names;
        break;
      }
    } catch {
      // removed while we looked
    }
  }
  ownCgroup.set(key, found);
  return found;
}
