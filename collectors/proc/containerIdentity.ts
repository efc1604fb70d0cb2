// Which container and Kubernetes pod a process belongs to: container id and pod uid from the shapes
// container runtimes give cgroup paths, pod name and namespace from what the target itself can see.
import { readFileSync, readlinkSync } from 'node:fs';
import { posix } from 'node:path';
import type { CgroupEntry } from './cgroup';

export interface ContainerIdentity {
  containerId: string | null;
  podUid: string | null;
  podName: string | null;
  namespace: string | null;
}

/**
 * A container's own cgroup, as each runtime names it:
 * cgroupfs driver `…/pod<uid>/<64hex>` (containerd, Docker) or `…/crio-<64hex>`; systemd driver
 * `cri-containerd-<64hex>.scope`, `crio-<64hex>.scope`, `docker-<64hex>.scope`, `libpod-<64hex>.scope`;
 * plain Docker `/docker/<64hex>`. `crio-conmon-<id>` is CRI-O's monitor process, not the container.
 */
const CONTAINER_SEGMENT = /^(?:(?:cri-containerd|crio|docker|libpod)-)?([0-9a-f]{64})(?:\.scope)?$/;
/** `pod<uid>` (cgroupfs) or `kubepods-<qos>-pod<uid_with_underscores>.slice` (systemd escapes '-' as '_'). */
const POD_SEGMENT = /(?:^|-)pod([0-9a-f]{8}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{4}[-_][0-9a-f]{12})(?:\.slice)?$/;

/** Container id and pod uid from one cgroup path; either is null when the path does not show it. */
export function parseContainerPath(path: string): { containerId: string | null; podUid: string | null } {
  let containerId: string | null = null;
  let podUid: string | null = null;
  for (const segment of path.split('/')) {
    const c = CONTAINER_SEGMENT.exec(segment);
    // The innermost match wins: nested runtimes (kind, Docker-in-Docker) put the outer id first.
    if (c) containerId = c[1]!;
    const p = POD_SEGMENT.exec(segment);
    if (p) podUid = p[1]!.replace(/_/g, '-');
  }
  return { containerId, podUid };
}

/** The v2 line first (on a unified host it is the only one), then each v1 hierarchy until one shows a container. */
export function identityFromCgroups(entries: readonly CgroupEntry[]): { containerId: string | null; podUid: string | null } {
  const ordered = [...entries.filter((e) => e.hierarchyId === 0), ...entries.filter((e) => e.hierarchyId !== 0)];
  let best = { containerId: null as string | null, podUid: null as string | null };
  for (const entry of ordered) {
    const found = parseContainerPath(entry.path);
    if (found.containerId) return { containerId: found.containerId, podUid: found.podUid ?? best.podUid };
    if (found.podUid && !best.podUid) best = found;
  }
  return best;
}

/** NUL-separated KEY=VALUE pairs of /proc/PID/environ (the environment the process started with). */
export function envValue(environ: string, key: string): string | null {
  for (const pair of environ.split('\0')) {
    if (pair.startsWith(`${key}=`)) return pair.slice(key.length + 1);
  }
  return null;
}

const NAME = /^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/;

function readOrNull(path: string): string | null {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return null;
  }
}

/**
 * `path` as the target sees it, under /proc/PID/root. The kernel resolves an absolute symlink met
 * below /proc/PID/root against the *reader's* root, and /var/run is such a link (to /run) in most
 * images, so each component is resolved here, inside the target's root. null when it escapes or loops.
 */
export function resolveInRoot(pid: number, path: string): string | null {
  const root = `/proc/${pid}/root`;
  const todo = path.split('/').filter(Boolean);
  const done: string[] = [];
  for (let links = 0; todo.length > 0;) {
    const part = todo.shift()!;
    if (part === '.') continue;
    if (part === '..') {
      done.pop();
      continue;
    }
    let target: string;
    try {
      target = readlinkSync(posix.join(root, ...done, part));
    } catch {
      done.push(part); // not a link (or absent: the read that follows says so)
      continue;
    }
    if (++links > 40) return null;
    if (target.startsWith('/')) done.length = 0;
    todo.unshift(...target.split('/').filter(Boolean));
  }
  return posix.join(root, ...done);
}

/**
 * Pod name and namespace, only for a process in a pod: the kubelet sets a container's HOSTNAME to
 * its pod's name (unless the pod sets hostname or uses the host network), and the service-account
 * volume holds the namespace. Read through /proc/PID/root, i.e. the target's own mount namespace.
 */
export function readPodFacts(pid: number): { podName: string | null; namespace: string | null } {
  const environ = readOrNull(`/proc/${pid}/environ`);
  const host = environ ? envValue(environ, 'HOSTNAME') : null;
  const file = resolveInRoot(pid, '/var/run/secrets/kubernetes.io/serviceaccount/namespace');
  const ns = file ? (readOrNull(file)?.trim() ?? null) : null;
  return {
    podName: host && NAME.test(host) ? host : null,
    namespace: ns && NAME.test(ns) ? ns : null,
  };
}

export function readContainerIdentity(pid: number, entries: readonly CgroupEntry[]): ContainerIdentity {
  const { containerId, podUid } = identityFromCgroups(entries);
  const pod = podUid ? readPodFacts(pid) : { podName: null, namespace: null };
  return { containerId, podUid, ...pod };
}
