// Real cgroups at Kubernetes-shaped paths for tests (root only): created under the cgroup v1 cpu,
// cpuacct and memory hierarchies, processes moved in by pid, and everything removed afterwards
// (processes moved back to where they came from, directories removed leaf to root).
import { randomBytes, randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';

export interface TestCgroup {
  podUid: string;
  containerId: string;
  /** controller → leaf directory */
  dirs: Record<string, string>;
  add: (pid: number) => void;
  /** cpu.stat throttled_time (ns) as seconds, read now. */
  throttledS: () => number;
  remove: () => void;
}

/** controller → the v1 mount point carrying it, and the cgroup this process is in there. */
function v1Mounts(): Map<string, { mountPoint: string; own: string }> {
  const own = new Map<string, string>();
  for (const line of readFileSync('/proc/self/cgroup', 'utf8').split('\n')) {
    const [id, list, path] = [line.split(':')[0], line.split(':')[1], line.split(':').slice(2).join(':')];
    if (id && id !== '0' && list) for (const c of list.split(',')) own.set(c, path);
  }
  const out = new Map<string, { mountPoint: string; own: string }>();
  for (const line of readFileSync('/proc/self/mountinfo', 'utf8').split('\n')) {
    const [left, right] = line.split(' - ');
    if (!left || !right?.startsWith('cgroup ')) continue;
    const mountPoint = left.split(' ')[4]!;
    for (const c of right.split(' ')[2]!.split(',')) if (own.has(c) && !out.has(c)) out.set(c, { mountPoint, own: own.get(c)! });
  }
  return out;
}

/** Whether this machine lets a test make cgroup v1 cpu and memory cgroups (root, hierarchies mounted). */
export function canMakeCgroups(): string | false {
  if (process.getuid?.() !== 0) return 'needs root';
  const mounts = v1Mounts();
  for (const c of ['cpu', 'memory']) if (!mounts.has(c)) return `no cgroup v1 ${c} hierarchy mounted`;
  return false;
}

const made: TestCgroup[] = [];
after(() => {
  for (const cg of made.splice(0)) cg.remove();
});

/**
 * `kubepods/burstable/pod<uid>/<64 hex>` in the cpu and cpuacct hierarchies (from their roots, where
 * the kubelet puts them) and in memory below this process's own memory cgroup (so the test stays
 * inside whatever memory limit it runs under).
 */
export function makeK8sCgroup(limits: { cpuQuotaUs?: number; memoryLimitBytes?: number }): TestCgroup {
  const podUid = randomUUID();
  const containerId = randomBytes(32).toString('hex');
  const rel = join('kubepods', 'burstable', `pod${podUid}`, containerId);
  const mounts = v1Mounts();
  const dirs: Record<string, string> = {};
  const created: string[] = [];
  for (const controller of ['cpu', 'cpuacct', 'memory']) {
    const m = mounts.get(controller);
    if (!m) continue;
    const base = controller === 'memory' ? join(m.mountPoint, m.own) : m.mountPoint;
    if (Object.values(dirs).includes(join(base, rel))) {
      dirs[controller] = join(base, rel); // cpu and cpuacct co-mounted
      continue;
    }
    let dir = base;
    for (const part of rel.split('/')) {
      dir = join(dir, part);
      if (!existsSync(dir)) {
        mkdirSync(dir);
        created.push(dir);
      }
    }
    dirs[controller] = dir;
  }
  const cg = handle(podUid, containerId, dirs, created, mounts);
  if (limits.cpuQuotaUs !== undefined) writeFileSync(join(dirs.cpu!, 'cpu.cfs_quota_us'), String(limits.cpuQuotaUs));
  if (limits.memoryLimitBytes !== undefined) writeFileSync(join(dirs.memory!, 'memory.limit_in_bytes'), String(limits.memoryLimitBytes));
  return cg;
}

function handle(
  podUid: string,
  containerId: string,
  dirs: Record<string, string>,
  created: string[],
  mounts: Map<string, { mountPoint: string; own: string }>,
): TestCgroup {
  const home = new Map<number, Record<string, string>>();
  const unique = [...new Set(Object.values(dirs))];
  const cg: TestCgroup = {
    podUid,
    containerId,
    dirs,
    add: (pid) => {
      const from: Record<string, string> = {};
      for (const [c, m] of mounts) from[c] = join(m.mountPoint, readOwnPath(pid, c) ?? m.own);
      home.set(pid, from);
      for (const dir of unique) writeFileSync(join(dir, 'cgroup.procs'), String(pid));
    },
    throttledS: () => Number(/throttled_time (\d+)/.exec(readFileSync(join(dirs.cpu!, 'cpu.stat'), 'utf8'))![1]) / 1e9,
    remove: () => {
      // Processes still alive go back to their own cgroups; a cgroup with members cannot be removed.
      for (const [pid, from] of home) {
        for (const c of Object.keys(dirs)) {
          try {
            if (from[c]) writeFileSync(join(from[c], 'cgroup.procs'), String(pid));
          } catch {
            // gone already
          }
        }
      }
      for (const dir of created.reverse()) {
        try {
          rmdirSync(dir);
        } catch {
          // a shared parent (kubepods/burstable) another test still uses
        }
      }
    },
  };
  made.push(cg);
  return cg;
}

function readOwnPath(pid: number, controller: string): string | undefined {
  try {
    for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
      const parts = line.split(':');
      if (parts[0] !== '0' && parts[1]?.split(',').includes(controller)) return parts.slice(2).join(':');
    }
  } catch {
    // gone
  }
  return undefined;
}
