// The text report's service part: a PSS line under memory, one line per process of the tree
// (pid, role, runtime, CPU, PSS, loop delay p99, requests) and the threads that did the work.
// Only for a service of several processes, or one whose work ran off its main thread.
import { formatBytes, formatCores, formatCount, formatPercent, formatSeconds } from './format';
import type { ProfileDocument, ProcessRow, ThreadRow } from './model';

const MAX_PROCESS_LINES = 16;
const MAX_THREAD_LINES = 6;

function processLine(p: ProcessRow): string {
  const loop = p.eventLoop ? `loop p99 ${formatSeconds(p.eventLoop.delayP99S)}` : 'loop n/a';
  const mem = p.memory.pssBytes !== null ? `pss ${formatBytes(p.memory.pssBytes)}` : `rss ${formatBytes(p.memory.rssBytes)}`;
  const req = p.requests !== null ? `${formatCount(p.requests)} req` : 'req n/a';
  const life = p.exited ? ` · exited at ${p.lastSeenS.toFixed(1)} s` : p.firstSeenS > 1.5 ? ` · from ${p.firstSeenS.toFixed(1)} s` : '';
  return `  ${String(p.pid).padEnd(8)}${p.role.padEnd(7)}${p.runtime.padEnd(8)}${formatCores(p.cpu.avgCores)} cores · ${mem} · ${loop} · ${req}${life}`;
}

function threadLine(t: ThreadRow): string {
  const name = `${t.name}${t.count > 1 ? ` ×${t.count}` : ''}`;
  const s = t.shares;
  return `  ${String(t.pid).padEnd(8)}${name.slice(0, 18).padEnd(19)}${t.role.padEnd(8)}cpu ${formatPercent(s.cpu, 0)} · io ${formatPercent(s.io, 0)} · lock ${formatPercent(s.lock, 0)} · idle ${formatPercent(s.idle, 0)}`;
}

export function serviceLines(doc: ProfileDocument): string[] {
  const lines: string[] = [];
  const several = doc.processes.length > 1;
  const offMain = doc.threads.some((t) => t.work && t.role !== 'loop' && t.tid !== t.pid);
  if (several) {
    lines.push(`processes   ${doc.processes.length} (cpu summed over them; pss shares pages fairly)`);
    lines.push(...doc.processes.slice(0, MAX_PROCESS_LINES).map(processLine));
    if (doc.processes.length > MAX_PROCESS_LINES) lines.push(`  … ${doc.processes.length - MAX_PROCESS_LINES} more in --json`);
  }
  if (several || offMain) {
    lines.push('threads     busiest first (the breakdown covers loop and request threads)');
    lines.push(...doc.threads.slice(0, MAX_THREAD_LINES).map(threadLine));
  }
  return lines;
}
