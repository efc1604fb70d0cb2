// A side-by-side table of profile documents: the same rows for each, aligned in columns.
import type { ProfileDocument } from '../report';
import { formatTrend } from '../report/format';

const pct = (x: number): string => `${(x * 100).toFixed(0)} %`;
const ms = (s: number | undefined): string => (s === undefined ? '—' : `${(s * 1000).toFixed(s < 0.01 ? 2 : 1)} ms`);
const mib = (b: number): string => `${(b / 1048576).toFixed(1)} MiB`;

const ROWS: Array<[string, (d: ProfileDocument) => string]> = [
  ['verdict', (d) => d.verdict],
  ['busy time on CPU', (d) => pct(d.busy.shares.cpu)],
  ['busy time waiting on I/O', (d) => pct(d.busy.shares.io)],
  ['busy time waiting for a CPU', (d) => pct(d.busy.shares.runqueue)],
  ['loop delay p99', (d) => ms(d.eventLoop?.delayS.p99)],
  ['loop delay max', (d) => ms(d.eventLoop?.delayS.max)],
  ['GC pauses (count, total)', (d) => (d.gc ? `${d.gc.count}, ${ms(d.gc.totalS)}` : '—')],
  ['RSS (avg)', (d) => mib(d.memory.rssBytes.avg)],
  ['RSS trend', (d) => (d.memory.trend.status === 'unknown' ? 'not enough time to tell' : formatTrend(d.memory.trend, 'short'))],
  ['CPU (avg cores)', (d) => d.cpu.avgCores.toFixed(2)],
  ['throughput', (d) => (d.load ? `${d.load.rps.toFixed(0)} req/s` : '—')],
  ['latency p50 / p99', (d) => (d.load ? `${ms(d.load.latencyS.p50)} / ${ms(d.load.latencyS.p99)}` : '—')],
  ['errors', (d) => (d.load ? String(d.load.errors) : '—')],
  ['CPU per request', (d) => (d.load && d.load.requests > 0 ? ms((d.cpu.userS + d.cpu.systemS) / d.load.requests) : '—')],
];

export function compareTable(columns: Array<[string, ProfileDocument]>): string {
  const cells = ROWS.map(([label, get]) => [label, ...columns.map(([, d]) => get(d))]);
  const header = ['', ...columns.map(([name]) => name)];
  const widths = header.map((_, i) => Math.max(...[header, ...cells].map((row) => row[i]!.length)));
  const line = (row: string[]): string => row.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('   ');
  return [line(header), widths.map((w) => '─'.repeat(w)).join('   '), ...cells.map(line)].join('\n');
}
