// What a profile knows of its target's container at the end of the window: identity, limits and
// the memory working set (throttling comes per interval from the samples).
import { containerStats, type ContainerInfo } from '../../collectors/proc/container';
import type { ProfileMeta } from '../report';

export function containerMeta(info: ContainerInfo): ProfileMeta['container'] {
  const stats = containerStats(info);
  const id = info.identity;
  return {
    id: id.containerId,
    podUid: id.podUid,
    podName: id.podName,
    namespace: id.namespace,
    cpuLimitCores: stats?.cpuLimitCores ?? null,
    memoryLimitBytes: stats?.memoryLimitBytes ?? null,
    memoryWorkingSetBytes: stats?.memoryWorkingSetBytes ?? null,
  };
}
