// The soak's pass/fail rules and its table, as text for the terminal and markdown for
// docs/RELIABILITY.md.
import { median, slope } from './measure';
import type { SoakRun } from './run';

/** The RSS trend is judged over the churn's last 10 minutes, or its second half when shorter. */
const RSS_WINDOW_S = 600;
/** Fitted RSS growth over that window: a leak of a few KiB per target shows over ~200 targets. */
const RSS_GROWTH_MIB_LONG = 5;
/** Shorter runs: the window is a few GC cycles, so the bound is looser. */
const RSS_GROWTH_MIB_SHORT = 10;
const FD_SLACK = 3;

export interface Check {
  rule: string;
  measured: string;
  ok: boolean;
}

export function judge(run: SoakRun): Check[] {
  const churnS = run.options.churnMs / 1000;
  const windowS = Math.min(RSS_WINDOW_S, churnS / 2);
  const long = churnS >= 1800;
  const bound = long ? RSS_GROWTH_MIB_LONG : RSS_GROWTH_MIB_SHORT;
  const inWindow = run.samples.filter((s) => s.t >= churnS - windowS && s.t <= churnS + 1);
  const growthMiB = slope(inWindow.map((s) => [s.t, s.rssKb / 1024])) * windowS || 0;
  const checks: Check[] = [
    {
      rule: `agent RSS: fitted growth over the churn's last ${Math.round(windowS)} s ≤ ${bound} MiB`,
      measured: `${growthMiB >= 0 ? '+' : ''}${growthMiB.toFixed(1)} MiB (${inWindow.length} samples, median ${(median(inWindow.map((s) => s.rssKb)) / 1024).toFixed(1)} MiB; before the churn ${(run.baseline.rssKb / 1024).toFixed(1)} MiB)`,
      ok: inWindow.length >= 3 && growthMiB <= bound,
    },
    {
      rule: `agent fds after the churn, once its targets are gone, ≤ before the churn + ${FD_SLACK}`,
      measured: `${run.drained.fds} (before: ${run.baseline.fds}; max during: ${Math.max(...run.samples.map((s) => s.fds))}; ${run.drained.targets} target(s) left after ${(run.drained.waitedMs / 1000).toFixed(1)} s)`,
      ok: run.drained.fds <= run.baseline.fds + FD_SLACK,
    },
    {
      rule: 'no rtprof sockets, markers or dirs left in the temp dir once the targets are gone, nor after the agent stops',
      measured: `${run.drained.leftovers.length} / ${run.afterStop.leftovers.length}${[...run.drained.leftovers, ...run.afterStop.leftovers]
        .slice(0, 3)
        .map((f) => ` ${f}`)
        .join('')}`,
      ok: run.drained.leftovers.length === 0 && run.afterStop.leftovers.length === 0,
    },
    {
      rule: 'every scrape of /metrics and /api/targets answered 200 within 10 s',
      measured: `${run.scrapes.count - run.scrapes.failures.length} of ${run.scrapes.count}; mean ${(run.scrapes.totalMs / Math.max(1, run.scrapes.count)).toFixed(0)} ms, max ${run.scrapes.maxMs.toFixed(0)} ms${run.scrapes.failures
        .slice(0, 2)
        .map((f) => `; ${f}`)
        .join('')}`,
      ok: run.scrapes.failures.length === 0 && run.scrapes.count > 0,
    },
    {
      rule: 'the agent ran to the end and exited 0 when its launched command did',
      measured: run.agentAliveToEnd ? `exit ${run.afterStop.exitCode}` : 'died during the churn',
      ok: run.agentAliveToEnd && run.afterStop.exitCode === 0,
    },
  ];
  for (const [kind, k] of Object.entries(run.kinds)) {
    if (kind.endsWith('killed-early')) continue;
    checks.push({
      rule: `${kind}: the probe connected in most targets (≥ 80 %)`,
      measured: `${k.connected} of ${k.started}`,
      ok: k.started > 0 && k.connected >= 0.8 * k.started,
    });
  }
  return checks;
}

/** Rows of the table: one per sample, thinned to about `rows` rows. */
function tableRows(run: SoakRun, rows: number): string[][] {
  const step = Math.max(1, Math.round(run.samples.length / rows));
  const picked = run.samples.filter((_, i) => i % step === 0 || i === run.samples.length - 1);
  return picked.map((s, i) => {
    const prev = i > 0 ? picked[i - 1]! : undefined;
    const cpu = prev && s.t > prev.t ? `${((100 * (s.cpuS - prev.cpuS)) / (s.t - prev.t)).toFixed(1)}` : '—';
    return [`${Math.round(s.t)}`, `${s.targets}`, (s.rssKb / 1024).toFixed(1), `${s.fds}`, cpu, `${s.leftovers}`];
  });
}

const HEADER = ['t (s)', 'targets', 'agent RSS (MiB)', 'agent fds', 'agent CPU (%)', 'rtprof files in temp'];

export function markdown(run: SoakRun, checks: Check[]): string {
  const churnMin = run.options.churnMs / 60_000;
  const counts = Object.entries(run.kinds)
    .map(([kind, k]) => `${kind} ${k.started} (seen ${k.seen}, connected ${k.connected})`)
    .join('; ');
  const lines = [
    `Run ${run.startedAt}: ${churnMin.toFixed(churnMin < 10 ? 1 : 0)} min of churn, one target every ${run.options.everyMs / 1000} s, ` +
      `scraped every ${run.options.scrapeMs / 1000} s; ${run.machine}. Targets started: ${counts}` +
      (run.exitedDuringAttach !== undefined ? `; attaches cut short by the target's exit: ${run.exitedDuringAttach}. ` : '. ') +
      `**${checks.every((c) => c.ok) ? 'Passed' : 'FAILED'}.**`,
    '',
    `| ${HEADER.join(' | ')} |`,
    `| ${HEADER.map(() => '---').join(' | ')} |`,
    ...tableRows(run, 13).map((r) => `| ${r.join(' | ')} |`),
    '',
    '| rule | measured | |',
    '| --- | --- | --- |',
    ...checks.map((c) => `| ${c.rule} | ${c.measured} | ${c.ok ? 'ok' : '**FAIL**'} |`),
  ];
  return lines.join('\n') + '\n';
}

export function text(run: SoakRun, checks: Check[]): string {
  const rows = [HEADER, ...tableRows(run, 25)];
  const widths = HEADER.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const table = rows.map((r) => r.map((c, i) => c.padStart(widths[i]!)).join('  ')).join('\n');
  return `${table}\n\n${checks.map((c) => `${c.ok ? 'ok  ' : 'FAIL'}  ${c.rule}: ${c.measured}`).join('\n')}\n`;
}
