// A target's container: who it is (container id, pod) and where its cgroups are, read once when the
// target is added. Never throws: a process outside any container simply has nothing to show.
import { readCgroupLocation, type CgroupLocation } from './cgroup';
import { readCgroupStats, type CgroupStats } from './cgroupStats';
import { readContainerIdentity, type ContainerIdentity } from './containerIdentity';

export interface ContainerInfo {
  identity: ContainerIdentity;
  location: CgroupLocation | null;
}

const NO_IDENTITY: ContainerIdentity = { containerId: null, podUid: null, podName: null, namespace: null };

export function describeContainer(pid: number): ContainerInfo {
  try {
    const location = readCgroupLocation(pid);
    return { identity: readContainerIdentity(pid, location.entries), location };
  } catch {
    // The process is gone or /proc is restricted: no container facts, the rest of collection goes on.
    return { identity: NO_IDENTITY, location: null };
  }
}

/** Current limits and usage, or null without a cgroup location. Never throws. */
export function containerStats(info: ContainerInfo | undefined): CgroupStats | null {
  if (!info?.location) return null;
  try {
    return readCgroupStats(info.location);
  } catch {
    return null;
  }
}

export type { CgroupStats, ContainerIdentity };
