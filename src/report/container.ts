// The container part of a profile: the summary the document carries, the memory-limit warning and
// the one line the text and HTML reports show (throttling's say in the verdict is in verdict.ts).
import { formatBytes, formatPercent, formatSeconds } from './format';
import type { ContainerSummary, ProfileMeta, ProfileSample } from './model';

/** Working set at this fraction of the limit: the kernel is reclaiming page cache and an OOM kill is near. */
export const MEMORY_WARN_FRACTION = 0.9;

/** null when the meta says nothing of a container (see ProfileDocument.container). */
export function summarizeContainer(samples: readonly ProfileSample[], meta: ProfileMeta): ContainerSummary | null {
  const c = meta.container;
  if (!c) return null;
  const identified = c.id !== null || c.podUid !== null;
  if (!identified && c.cpuLimitCores === null && c.memoryLimitBytes === null) return null;
  const measured = samples.filter((s) => s.throttledS !== undefined && Number.isFinite(s.throttledS));
  const throttledS =
    c.cpuLimitCores !== null && measured.length > 0 ? measured.reduce((sum, s) => sum + Math.max(0, s.throttledS!), 0) : null;
  return { ...c, throttledS };
}

/** "0.2", "1.5", "2": limits are set in millicores, so three decimals at most. */
export function formatLimitCores(cores: number): string {
  return String(Math.round(cores * 1000) / 1000);
}

export function memoryWarning(container: ContainerSummary | null): string | null {
  const limit = container?.memoryLimitBytes ?? null;
  const ws = container?.memoryWorkingSetBytes ?? null;
  if (limit === null || ws === null || limit <= 0 || ws < MEMORY_WARN_FRACTION * limit) return null;
  return (
    `memory working set ${formatBytes(ws)} is ${formatPercent(ws / limit, 0)} of the cgroup's ${formatBytes(limit)} limit: ` +
    `the kernel will reclaim cache and then OOM-kill; raise the limit or find what holds the memory`
  );
}

/** ["id 1a2b3c4d5e6f", "pod web-7d9 (shop, uid …)", "CPU limit 0.2 cores, throttled 2.41 s", "memory limit …"]. */
export function containerParts(c: ContainerSummary): string[] {
  const parts: string[] = [];
  if (c.id) parts.push(`id ${c.id.slice(0, 12)}`);
  if (c.podUid) {
    const where = [c.namespace, `uid ${c.podUid}`].filter(Boolean).join(', ');
    parts.push(`pod ${c.podName ?? '?'} (${where})`);
  }
  if (c.cpuLimitCores !== null) {
    const throttled = c.throttledS !== null ? `, throttled ${formatSeconds(c.throttledS)}` : '';
    parts.push(
      `CPU limit ${formatLimitCores(c.cpuLimitCores)} ${formatLimitCores(c.cpuLimitCores) === '1' ? 'core' : 'cores'}${throttled}`,
    );
  } else parts.push('no CPU limit');
  if (c.memoryLimitBytes !== null) {
    const ws =
      c.memoryWorkingSetBytes !== null
        ? `, working set ${formatBytes(c.memoryWorkingSetBytes)} (${formatPercent(c.memoryWorkingSetBytes / c.memoryLimitBytes, 0)})`
        : '';
    parts.push(`memory limit ${formatBytes(c.memoryLimitBytes)}${ws}`);
  } else parts.push('no memory limit');
  return parts;
}
