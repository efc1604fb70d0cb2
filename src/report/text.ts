// The compact text report of `rtprof profile`: the verdict and its sentence on top, bars for the
// breakdown, one line each for event loop, GC, memory, CPU and load. Fits 80 columns; ANSI colour
// only when the caller asks (the CLI passes process.stdout.isTTY).
import {
  busyPhrase,
  formatBytes,
  formatBytesGroup,
  formatCores,
  formatCount,
  formatLoadDetail,
  formatPercent,
  formatSeconds,
  formatTrend,
  plural,
} from './format';
import { containerParts } from './container';
import type { BreakdownState, ProfileDocument, Verdict } from './model';
import { BREAKDOWN_STATES } from './model';
import { serviceLines } from './textService';

export interface TextOptions {
  color: boolean;
  /** Defaults to 80; never wider. */
  width?: number;
}

const MAX_WIDTH = 80;
const LABEL = 12;
const BAR = 40;
const EIGHTHS = ['', '▏', '▎', '▍', '▌', '▋', '▊', '▉'];

const STATE_COLOR: Record<BreakdownState, string> = {
  cpu: '31',
  runqueue: '35',
  throttled: '1;35',
  io: '36',
  lock: '33',
  sleep: '34',
  other: '37',
  idle: '2',
};
const VERDICT_COLOR: Record<Verdict, string> = { 'io-bound': '1;36', 'cpu-bound': '1;31', mixed: '1;33', idle: '1;2' };
const VERDICT_LABEL: Record<Verdict, string> = { 'io-bound': 'I/O-BOUND', 'cpu-bound': 'CPU-BOUND', mixed: 'MIXED', idle: 'IDLE' };

const ANSI = /\x1b\[[0-9;]*m/g;
/** Visible width: ANSI stripped, one column per code point (every glyph we emit is narrow). */
export function visibleWidth(line: string): number {
  return [...line.replace(ANSI, '')].length;
}

/** Strings from the target (command lines!) must not steer the terminal: control characters go. */

export function sanitize(text: string): string {
  return text.replace(/[\x00-\x1f\x7f-\x9f]/g, '?');
}

function truncate(text: string, width: number): string {
  const chars = [...text];
  return chars.length <= width ? text : `${chars.slice(0, width - 1).join('')}…`;
}

/** Greedy word wrap; continuation lines get `indent` spaces. Overlong words are cut. */
export function wrap(text: string, width: number, indent = 0): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(/ +/)) {
    const candidate = line ? `${line} ${word}` : `${lines.length ? ' '.repeat(indent) : ''}${word}`;
    if (visibleWidth(candidate) <= width || !line.trim()) line = candidate;
    else {
      lines.push(line);
      line = `${' '.repeat(indent)}${word}`;
    }
  }
  if (line) lines.push(line);
  return lines.map((l) => truncate(l, width));
}

function bar(fraction: number, width: number): string {
  const eighths = Math.round(Math.min(1, Math.max(0, fraction)) * width * 8);
  const full = Math.floor(eighths / 8);
  const partial = EIGHTHS[eighths % 8] ?? '';
  return ('█'.repeat(full) + partial).padEnd(width, ' ');
}

function headerLines(doc: ProfileDocument, width: number): string[] {
  const t = doc.target;
  const runtime = t.runtimeVersion ? `${t.runtime} ${sanitize(t.runtimeVersion)}` : t.runtime;
  const attach = t.attach === 'none' ? '/proc only' : `attach: ${t.attach}`;
  const head = `rtprof profile · pid ${t.pid} · ${runtime} · ${attach} · ${formatSeconds(doc.window.durationS)}`;
  const lines = [truncate(head, width)];
  if (t.command) lines.push(truncate(`$ ${sanitize(t.command)}`, width));
  const h = doc.host;
  if (h) lines.push(truncate(`host: ${h.cores} × ${sanitize(h.cpuModel)} · ${formatBytes(h.memTotalBytes)} · ${sanitize(h.os)}`, width));
  if (doc.container) lines.push(...metricLine('container', containerParts(doc.container).map(sanitize).join(' · '), width));
  return lines;
}

function verdictLines(doc: ProfileDocument, width: number, paint: Paint): string[] {
  const label = VERDICT_LABEL[doc.verdict];
  const body = wrap(sanitize(doc.explanation), width - LABEL);
  return body.map((line, i) => `${i === 0 ? paint(VERDICT_COLOR[doc.verdict], label.padEnd(LABEL)) : ' '.repeat(LABEL)}${line}`);
}

/** Whose time the bars split: the main thread, or the work threads of a service. */
function breakdownScope(doc: ProfileDocument): string {
  const work = doc.threads.filter((t) => t.work);
  const count = work.reduce((n, t) => n + t.count, 0);
  if (count === 0 || (count === 1 && work[0]!.tid === work[0]!.pid && doc.processes.length <= 1)) return 'Main thread';
  const processes = new Set(work.map((t) => t.pid)).size;
  return `Work threads (${count}${processes > 1 ? ` in ${processes} processes` : ''})`;
}

function breakdownLines(doc: ProfileDocument, width: number, paint: Paint): string[] {
  const title = `${breakdownScope(doc)} · ${busyPhrase(doc.verdict, doc.busy.fraction)} · evidence: ${doc.evidence.detail}`;
  const barWidth = Math.max(10, Math.min(BAR, width - LABEL - 18));
  // With nothing in flight there is no busy time to split: the busy column would only restate upkeep.
  const idle = doc.verdict === 'idle';
  const lines = [...wrap(title, width, 2), `${' '.repeat(LABEL + barWidth)}  window${idle ? '' : '    busy'}`];
  for (const state of BREAKDOWN_STATES) {
    const share = doc.breakdown[state];
    const busy = state === 'idle' || idle ? '' : formatPercent(doc.busy.shares[state], 0).padStart(7);
    const row = `  ${state.padEnd(LABEL - 2)}${paint(STATE_COLOR[state], bar(share, barWidth))} ${formatPercent(share).padStart(7)} ${busy}`;
    lines.push(row.trimEnd());
  }
  return lines;
}

/** Label column, then the body's " · "-separated parts packed into lines, never split mid-part. */
function metricLine(label: string, body: string, width: number): string[] {
  const room = width - LABEL;
  const lines: string[] = [];
  let line = '';
  for (const part of body.split(' · ')) {
    const candidate = line ? `${line} · ${part}` : part;
    if (!line || visibleWidth(candidate) <= room) line = candidate;
    else {
      lines.push(line);
      line = part;
    }
  }
  lines.push(line);
  return lines.map((l, i) => `${i === 0 ? label.padEnd(LABEL) : ' '.repeat(LABEL)}${truncate(l, room)}`);
}

function metricLines(doc: ProfileDocument, width: number): string[] {
  const lines: string[] = [];
  const loop = doc.eventLoop;
  lines.push(
    ...metricLine(
      'event loop',
      loop
        ? `delay p50 ${formatSeconds(loop.delayS.p50)}  p90 ${formatSeconds(loop.delayS.p90)}  p99 ${formatSeconds(loop.delayS.p99)}  max ${formatSeconds(loop.delayS.max)} · util ${formatPercent(loop.utilization, 0)}`
        : doc.target.attach !== 'none'
          ? 'n/a (no event loop running in this process)'
          : 'n/a (no probe in this target)',
      width,
    ),
  );
  const gc = doc.gc;
  const kinds = gc
    ? Object.entries(gc.byKind)
        .map(([kind, k]) => `${sanitize(kind)} ${formatCount(k.count)}`)
        .join(', ')
    : '';
  lines.push(
    ...metricLine(
      'gc',
      gc
        ? `${plural(gc.count, 'pause')} · total ${formatSeconds(gc.totalS)} · max ${formatSeconds(gc.maxS)} · p99 ${formatSeconds(gc.p99S)}${kinds ? ` (${kinds})` : ''}`
        : 'n/a (no probe in this target)',
      width,
    ),
  );
  const rss = doc.memory.rssBytes;
  const { numbers, unit } = formatBytesGroup([rss.min, rss.avg, rss.max, rss.last]);
  const [min, avg, max, last] = numbers;
  lines.push(
    ...metricLine(
      'memory',
      `rss min ${min} · avg ${avg} · max ${max} · last ${last} ${unit}${doc.memory.pssBytes ? ` · pss avg ${formatBytes(doc.memory.pssBytes.avg)}` : ''} · trend ${formatTrend(doc.memory.trend, 'short')}`,
      width,
    ),
  );
  const cpu = doc.cpu;
  lines.push(
    ...metricLine(
      'cpu',
      `${formatCores(cpu.avgCores)} cores avg · ${formatCores(cpu.maxCores)} max · user ${formatSeconds(cpu.userS)} · system ${formatSeconds(cpu.systemS)}`,
      width,
    ),
  );
  const load = doc.load;
  if (load) {
    lines.push(...metricLine('load', `${formatCount(load.requests)} req (${formatCount(load.rps)}/s) · ${formatLoadDetail(load)}`, width));
  }
  return lines;
}

type Paint = (code: string, text: string) => string;

export function renderText(doc: ProfileDocument, options: TextOptions): string {
  const width = Math.min(MAX_WIDTH, Math.max(40, options.width ?? MAX_WIDTH));
  const paint: Paint = options.color ? (code, text) => `\x1b[${code}m${text}\x1b[0m` : (_code, text) => text;
  const lines = [
    ...headerLines(doc, width),
    '',
    ...verdictLines(doc, width, paint),
    '',
    ...breakdownLines(doc, width, paint),
    '',
    ...metricLines(doc, width),
  ];
  const service = serviceLines(doc).map((l) => truncate(l, width));
  if (service.length) lines.push('', ...service);
  if (doc.warnings.length) {
    lines.push('');
    for (const warning of doc.warnings) lines.push(...wrap(`! ${sanitize(warning)}`, width, 2).map((l) => paint('33', l)));
  }
  return `${lines.join('\n')}\n`;
}
