// The self-contained HTML report: verdict on top, the breakdown, the numbers, then charts over
// time (CPU, RSS, loop delay, GC pauses, stacked breakdown). No network at all: inline CSS, inline
// SVG made in charts.ts, one small inline script allowed by its hash in the page's CSP.
import { createHash } from 'node:crypto';
import { renderChart, type ChartSpec } from './charts';
import { containerParts } from './container';
import { escapeHtml, jsonForScript } from './escape';
import {
  busyPhrase,
  formatBytes,
  formatCores,
  formatCount,
  formatLoadDetail,
  formatPercent,
  formatSeconds,
  formatTrend,
  plural,
} from './format';
import { HTML_STYLE } from './htmlStyle';
import type { BreakdownState, ProfileDocument } from './model';
import { BREAKDOWN_STATES } from './model';

export const STATE_COLORS: Record<BreakdownState, string> = {
  cpu: '#d9480f',
  runqueue: '#ae3ec9',
  throttled: '#862e9c',
  io: '#1c7ed6',
  lock: '#f59f00',
  sleep: '#0ca678',
  other: '#868e96',
  idle: '#dee2e6',
};
const VERDICT_TEXT = { 'io-bound': 'I/O-bound', 'cpu-bound': 'CPU-bound', mixed: 'Mixed', idle: 'Idle' } as const;

// Exposes the document to the console (window.rtprofProfile) and makes the download link.
const SCRIPT =
  "(function(){var el=document.getElementById('rtprof-data');if(!el)return;var doc=JSON.parse(el.textContent);" +
  "window.rtprofProfile=doc;var a=document.getElementById('download-json');if(!a)return;" +
  "a.href=URL.createObjectURL(new Blob([JSON.stringify(doc,null,2)],{type:'application/json'}));})();";
const SCRIPT_HASH = createHash('sha256').update(SCRIPT).digest('base64');
const CSP = `default-src 'none'; style-src 'unsafe-inline'; img-src data:; script-src 'sha256-${SCRIPT_HASH}'`;

const esc = escapeHtml;

function stat(label: string, value: string, detail = ''): string {
  return `<div class="stat"><div class="label">${esc(label)}</div><div class="value">${esc(value)}</div>${detail ? `<div class="detail">${esc(detail)}</div>` : ''}</div>`;
}

function verdictSection(doc: ProfileDocument): string {
  return (
    `<section class="verdict v-${doc.verdict}"><div class="verdict-label">${VERDICT_TEXT[doc.verdict]}</div>` +
    `<p class="explanation">${esc(doc.explanation)}</p>` +
    `<p class="meta">${esc(busyPhrase(doc.verdict, doc.busy.fraction))} · evidence: ${esc(doc.evidence.detail)}</p></section>`
  );
}

function breakdownSection(doc: ProfileDocument): string {
  const segments = BREAKDOWN_STATES.filter((s) => doc.breakdown[s] > 0)
    .map(
      (s) =>
        `<span class="seg" style="width:${(doc.breakdown[s] * 100).toFixed(3)}%;background:${STATE_COLORS[s]}" title="${s} ${esc(formatPercent(doc.breakdown[s]))}"></span>`,
    )
    .join('');
  const rows = BREAKDOWN_STATES.map((s) => {
    const busy = s === 'idle' || doc.verdict === 'idle' ? '' : esc(formatPercent(doc.busy.shares[s], 0));
    return `<tr><td><span class="swatch" style="background:${STATE_COLORS[s]}"></span>${s}</td><td>${esc(formatPercent(doc.breakdown[s]))}</td><td>${busy}</td></tr>`;
  }).join('');
  return (
    `<section><h2>Where the main thread's time went</h2><div class="stackbar">${segments}</div>` +
    `<table class="shares"><thead><tr><th>state</th><th>of window</th><th>of busy time</th></tr></thead><tbody>${rows}</tbody></table></section>`
  );
}

/** The processes of a service and its busiest threads, as tables (nothing for a lone main thread). */
function serviceSection(doc: ProfileDocument): string {
  const parts: string[] = [];
  if (doc.processes.length > 1) {
    const rows = doc.processes
      .map((p) => {
        const cells = [
          String(p.pid),
          p.role,
          p.runtime,
          formatCores(p.cpu.avgCores),
          p.memory.pssBytes !== null ? formatBytes(p.memory.pssBytes) : '',
          formatBytes(p.memory.rssBytes),
          p.eventLoop ? formatSeconds(p.eventLoop.delayP99S) : '',
          p.requests !== null ? String(p.requests) : '',
          p.exited ? `exited at ${p.lastSeenS.toFixed(1)} s` : '',
        ];
        return `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
      })
      .join('');
    parts.push(
      `<h2>Processes</h2><table class="shares"><thead><tr><th>pid</th><th>role</th><th>runtime</th><th>cores</th><th>pss</th><th>rss</th><th>loop p99</th><th>requests</th><th></th></tr></thead><tbody>${rows}</tbody></table>`,
    );
  }
  if (doc.threads.some((t) => t.work && t.tid !== t.pid) || doc.processes.length > 1) {
    const rows = doc.threads
      .map((t) => {
        const cells = [
          String(t.pid),
          `${t.name}${t.count > 1 ? ` ×${t.count}` : ''}`,
          t.role,
          ...(['cpu', 'runqueue', 'io', 'lock', 'idle'] as const).map((k) => formatPercent(t.shares[k], 0)),
        ];
        return `<tr>${cells.map((c) => `<td>${esc(c)}</td>`).join('')}</tr>`;
      })
      .join('');
    parts.push(
      `<h2>Busiest threads</h2><table class="shares"><thead><tr><th>pid</th><th>thread</th><th>role</th><th>cpu</th><th>runqueue</th><th>io</th><th>lock</th><th>idle</th></tr></thead><tbody>${rows}</tbody></table>`,
    );
  }
  return parts.length ? `<section>${parts.join('')}</section>` : '';
}

function statsSection(doc: ProfileDocument): string {
  const cards: string[] = [];
  const { cpu, memory, eventLoop: loop, gc, load } = doc;
  cards.push(
    stat(
      'CPU',
      `${formatCores(cpu.avgCores)} cores avg`,
      `max ${formatCores(cpu.maxCores)} · user ${formatSeconds(cpu.userS)} · system ${formatSeconds(cpu.systemS)}`,
    ),
  );
  cards.push(
    stat(
      'RSS',
      formatBytes(memory.rssBytes.avg),
      `min ${formatBytes(memory.rssBytes.min)} · max ${formatBytes(memory.rssBytes.max)} · trend ${formatTrend(memory.trend, 'long')}`,
    ),
  );
  cards.push(
    loop
      ? stat(
          'Event-loop delay p99',
          formatSeconds(loop.delayS.p99),
          `p50 ${formatSeconds(loop.delayS.p50)} · max ${formatSeconds(loop.delayS.max)} · utilization ${formatPercent(loop.utilization, 0)}`,
        )
      : stat('Event loop', 'n/a', doc.target.attach !== 'none' ? 'no event loop running in this process' : 'no probe in this target'),
  );
  cards.push(
    gc
      ? stat(
          'GC',
          plural(gc.count, 'pause'),
          `total ${formatSeconds(gc.totalS)} · max ${formatSeconds(gc.maxS)} · p99 ${formatSeconds(gc.p99S)}`,
        )
      : stat('GC', 'n/a', 'no probe in this target'),
  );
  if (load) {
    cards.push(stat('Load', `${formatCount(load.rps)} req/s`, `${plural(load.requests, 'request')} · ${formatLoadDetail(load)}`));
  }
  return `<section class="stats">${cards.join('')}</section>`;
}

function legend(spec: ChartSpec): string {
  return spec.series
    .map((s) => `<span class="key"><span class="swatch" style="background:${s.color}"></span>${esc(s.name)}</span>`)
    .join('');
}

function chartBlock(spec: ChartSpec | null, title: string, missing: string): string {
  const body = spec ? `<div class="legend">${legend(spec)}</div>${renderChart(spec)}` : `<p class="missing">${esc(missing)}</p>`;
  return `<figure class="chart-block"><figcaption>${esc(title)}</figcaption>${body}</figure>`;
}

function chartsSection(doc: ProfileDocument): string {
  const series = doc.series;
  const startMs = Date.parse(doc.window.start);
  const base = { xs: series.map((p) => (p.t - startMs) / 1000), widths: series.map((p) => p.durationS) };
  const none = series.length === 0;
  const ms = (v: number): string => `${Math.round(v * 1e4) / 10} ms`;
  const charts: string[] = [
    chartBlock(
      none
        ? null
        : {
            ...base,
            id: 'cpu',
            title: 'CPU (cores)',
            kind: 'line',
            formatY: (v) => v.toFixed(2),
            series: [{ name: 'cores', color: STATE_COLORS.cpu, values: series.map((p) => p.cpuCores) }],
          },
      'CPU (cores)',
      'no samples',
    ),
    chartBlock(
      none
        ? null
        : {
            ...base,
            id: 'rss',
            title: 'RSS',
            kind: 'line',
            formatY: formatBytes,
            yUnit: 'bytes',
            fitMin: true,
            series: [{ name: 'RSS', color: '#5f3dc4', values: series.map((p) => p.rssBytes) }],
          },
      'Resident memory (RSS)',
      'no samples',
    ),
    chartBlock(
      doc.eventLoop && !none
        ? {
            ...base,
            id: 'loop',
            title: 'Event-loop delay',
            kind: 'line',
            formatY: ms,
            series: [
              { name: 'p99', color: '#1c7ed6', values: series.map((p) => p.loopDelayP99S) },
              { name: 'max', color: '#e03131', values: series.map((p) => p.loopDelayMaxS) },
            ],
          }
        : null,
      'Event-loop delay',
      'No event-loop data: no probe ran in this target.',
    ),
    chartBlock(
      doc.gc && !none
        ? {
            ...base,
            id: 'gc',
            title: 'GC pause time per interval',
            kind: 'bars',
            formatY: ms,
            series: [{ name: 'GC pause', color: '#f08c00', values: series.map((p) => p.gcPauseS) }],
          }
        : null,
      'GC pause time per interval',
      'No GC data: no probe ran in this target.',
    ),
    chartBlock(
      none
        ? null
        : {
            ...base,
            id: 'breakdown',
            title: 'Main-thread time breakdown',
            kind: 'stacked',
            yMax: 1,
            formatY: (v) => `${Math.round(v * 100)}%`,
            series: BREAKDOWN_STATES.map((s) => ({ name: s, color: STATE_COLORS[s], values: series.map((p) => p.breakdown?.[s] ?? null) })),
          },
      'Main-thread time breakdown per interval',
      'no samples',
    ),
  ];
  return `<section class="charts">${charts.join('')}</section>`;
}

function headerSection(doc: ProfileDocument): string {
  const t = doc.target;
  const runtime = t.runtimeVersion ? `${t.runtime} ${t.runtimeVersion}` : t.runtime;
  return (
    `<header><h1>rtprof profile · pid ${esc(String(t.pid))}</h1>` +
    `<p class="meta">${esc(runtime)} · attach: ${esc(t.attach)} · ${esc(doc.window.start)} · ${esc(formatSeconds(doc.window.durationS))}${doc.targetExited ? ' · <strong>target exited</strong>' : ''}</p>` +
    (t.command ? `<pre class="command">${esc(t.command)}</pre>` : '') +
    (doc.container ? `<p class="meta container">container · ${esc(containerParts(doc.container).join(' · '))}</p>` : '') +
    `</header>`
  );
}

export function renderHtml(doc: ProfileDocument): string {
  const warnings = doc.warnings.length
    ? `<section class="warnings"><ul>${doc.warnings.map((w) => `<li>${esc(w)}</li>`).join('')}</ul></section>`
    : '';
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rtprof · pid ${esc(String(doc.target.pid))} · ${VERDICT_TEXT[doc.verdict]}</title>
<style>${HTML_STYLE}</style></head>
<body><main>
${headerSection(doc)}
${verdictSection(doc)}
${warnings}
${breakdownSection(doc)}
${statsSection(doc)}
${serviceSection(doc)}
${chartsSection(doc)}
<footer><a id="download-json" download="rtprof-profile-${esc(String(doc.target.pid))}.json">Download the JSON document</a> · rtprof ${esc(doc.rtprofVersion)}</footer>
</main>
<script type="application/json" id="rtprof-data">${jsonForScript(doc)}</script>
<script>${SCRIPT}</script>
</body></html>
`;
}
