// docs/SHOWDOWN.md from one showdown run: the measurement tables and the seed claims judged
// against them. Pure: every number in the document comes from the run passed in.
import { CLAIMS, judge, MARGIN, median, SOURCES } from './showdownClaims';
import { renderScaling } from './showdownScalingReport';
import {
  CONTENDED_CPU0,
  CONTENDED_CPU1,
  contention,
  type RuntimeResult,
  type Scenario,
  type ScenarioKey,
  type ScenarioResult,
  type ShowdownRun,
} from './showdownTypes';

const ms = (v: number | null): string =>
  v === null || !Number.isFinite(v) ? '—' : `${v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1)} ms`;
const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
const pct = (x: number | null): string => (x === null || !Number.isFinite(x) ? '—' : `${(x * 100).toFixed(x < 0.01 ? 2 : 1)} %`);
const num = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : '—');
const ratio = (a: number | null, b: number | null): string =>
  a === null || b === null || !Number.isFinite(a / b) || b === 0 ? '—' : `${(a / b).toFixed(2)}`;

interface Row {
  label: string;
  /** display text and the number ratios are computed from (null: no ratio) */
  cell: (r: RuntimeResult) => [string, number | null];
}

function scenarioRows(
  key: ScenarioKey,
  title: string,
  pick: Array<'rps' | 'p50' | 'p99' | 'cpu' | 'loop' | 'gil' | 'gc' | 'rss' | 'verdict'>,
): Row[] {
  const s = (r: RuntimeResult): ScenarioResult => r.scenarios[key];
  const rows: Record<(typeof pick)[number], Row> = {
    rps: {
      label: `${title}: throughput`,
      cell: (r) => [`${num(s(r).rps)} req/s${s(r).errors ? ` (${s(r).errors} errors)` : ''}`, s(r).rps],
    },
    p50: { label: `${title}: latency p50`, cell: (r) => [ms(s(r).latencyMs.p50), s(r).latencyMs.p50] },
    p99: { label: `${title}: latency p99`, cell: (r) => [ms(s(r).latencyMs.p99), s(r).latencyMs.p99] },
    cpu: { label: `${title}: CPU per request`, cell: (r) => [ms(s(r).cpuPerRequestMs), s(r).cpuPerRequestMs] },
    loop: {
      label: `${title}: event-loop delay p99`,
      cell: (r) => [s(r).loopDelayP99Ms === null ? 'no loop' : ms(s(r).loopDelayP99Ms), s(r).loopDelayP99Ms],
    },
    gil: { label: `${title}: interpreter (GIL) delay p99`, cell: (r) => [ms(s(r).interpreterDelayP99Ms), s(r).interpreterDelayP99Ms] },
    gc: {
      label: `${title}: GC pause share`,
      cell: (r) => [`${pct(s(r).gcShare)}${s(r).gcCount !== null ? ` (${s(r).gcCount} GCs)` : ''}`, s(r).gcShare],
    },
    rss: { label: `${title}: peak RSS`, cell: (r) => [mb(s(r).rssPeakBytes), s(r).rssPeakBytes] },
    verdict: {
      label: `${title}: rtprof verdict (busy: CPU / I/O / lock)`,
      cell: (r) => [`${s(r).verdict} (${pct(s(r).busyShares.cpu)} / ${pct(s(r).busyShares.io)} / ${pct(s(r).busyShares.lock)})`, null],
    },
  };
  return pick.map((p) => rows[p]);
}

function headlineRows(run: ShowdownRun, scenarios: Scenario[]): Row[] {
  const title = (k: ScenarioKey): string => scenarios.find((s) => s.key === k)!.title;
  const peak = (r: RuntimeResult): number =>
    Math.max(...(['json-sat', 'io-sat', 'cpu-sat'] as const).map((k) => r.scenarios[k].rssPeakBytes));
  return [
    { label: 'runtime', cell: (r) => [r.version, null] },
    {
      label: `cold start: spawn → first /json answer (median of ${run.coldStarts})`,
      cell: (r) => [ms(median(r.coldStartMs)), median(r.coldStartMs)],
    },
    { label: 'spawn → READY line (median)', cell: (r) => [ms(median(r.readyMs)), median(r.readyMs)] },
    { label: 'baseline RSS: idle 2 s after start, no request yet', cell: (r) => [mb(r.baselineRssBytes), r.baselineRssBytes] },
    { label: 'RSS after the first requests (before the probe)', cell: (r) => [mb(r.warmRssBytes), r.warmRssBytes] },
    { label: 'compute speed: /cpu LCG steps per ms (best of 5 × 50 ms)', cell: (r) => [num(r.iterationsPerMs), r.iterationsPerMs] },
    ...scenarioRows('json-rate', title('json-rate'), ['p50', 'p99', 'cpu', 'loop', 'gil']),
    ...scenarioRows('json-sat', title('json-sat'), ['rps', 'p99', 'cpu', 'gc', 'rss']),
    ...scenarioRows('io-rate', title('io-rate'), ['p99', 'cpu', 'verdict']),
    ...scenarioRows('io-sat', title('io-sat'), ['rps', 'p99', 'cpu', 'verdict']),
    ...scenarioRows('cpu-rate', title('cpu-rate'), ['p99', 'loop', 'gil', 'verdict']),
    ...scenarioRows('cpu-sat', title('cpu-sat'), ['rps', 'p99', 'loop', 'verdict']),
    { label: 'peak RSS under load (all saturated runs)', cell: (r) => [mb(peak(r)), peak(r)] },
  ];
}

function measurementTable(run: ShowdownRun, scenarios: Scenario[]): string[] {
  const [node, ...pythons] = run.runtimes;
  const header = ['measurement', ...run.runtimes.map((r) => r.label), ...pythons.map((p) => `${p.key} ÷ node`)];
  const lines = [
    `| ${header.join(' | ')} |`,
    `| --- | ${header
      .slice(1)
      .map(() => '---:')
      .join(' | ')} |`,
  ];
  for (const row of headlineRows(run, scenarios)) {
    const cells = run.runtimes.map((r) => row.cell(r));
    const base = node ? row.cell(node)[1] : null;
    lines.push(`| ${row.label} | ${cells.map((c) => c[0]).join(' | ')} | ${pythons.map((p) => ratio(row.cell(p)[1], base)).join(' | ')} |`);
  }
  return lines;
}

function detailTable(run: ShowdownRun, scenarios: Scenario[]): string[] {
  const lines = [
    '| scenario | runtime | req/s | errors | p50 | p99 | max | CPU/req | service cores | loop delay p99 | GIL delay p99 | GC share | peak RSS | verdict | busy CPU / I/O / runqueue / lock | CPU on the main thread | load side (CPU 1) cores | others on CPU 0 / CPU 1 (cores) |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: |',
  ];
  for (const sc of scenarios) {
    for (const r of run.runtimes) {
      const s = r.scenarios[sc.key];
      const b = s.busyShares;
      lines.push(
        `| ${sc.title} (${sc.connections} conn.) | ${r.label} | ${num(s.rps)} | ${s.errors}${s.unfinished ? ` (+${s.unfinished} unanswered)` : ''} | ${ms(s.latencyMs.p50)} | ${ms(s.latencyMs.p99)} | ${ms(s.latencyMs.max)} | ${ms(s.cpuPerRequestMs)} | ${s.cores.toFixed(2)} | ${ms(s.loopDelayP99Ms)} | ${ms(s.interpreterDelayP99Ms)} | ${pct(s.gcShare)} | ${mb(s.rssPeakBytes)} | ${s.verdict} | ${pct(b.cpu)} / ${pct(b.io)} / ${pct(b.runqueue)} / ${pct(b.lock)} | ${pct(s.mainThreadCpuShare)} | ${s.loadSideCores.toFixed(2)} | ${s.foreignCpu0Cores.toFixed(2)} / ${s.foreignCpu1Cores.toFixed(2)}${s.attempts > 1 ? ` (best of ${s.attempts})` : ''} |`,
      );
    }
  }
  return lines;
}

export function claimsTable(run: ShowdownRun): { lines: string[]; counts: Record<string, number>; byVerdict: Record<string, string[]> } {
  const node = run.runtimes.find((r) => r.key === 'node');
  const asyncio = run.runtimes.find((r) => r.key === 'asyncio');
  const threaded = run.runtimes.find((r) => r.key === 'threaded');
  const fastapi = run.runtimes.find((r) => r.key === 'fastapi');
  const counts: Record<string, number> = {};
  const byVerdict: Record<string, string[]> = {};
  const lines = [
    `| claim | source | measured here (Node vs Python asyncio) | verdict | why | threaded instead of asyncio |${fastapi ? ' FastAPI instead of asyncio |' : ''}`,
    `| --- | --- | --- | --- | --- | --- |${fastapi ? ' --- |' : ''}`,
  ];
  for (const c of CLAIMS) {
    const source = SOURCES[c.source].short;
    if (!node || !asyncio) continue;
    const main = c.form.kind === 'not-comparable' ? judge(c.form, NaN) : judge(c.form, c.factor(node, asyncio));
    counts[main.verdict] = (counts[main.verdict] ?? 0) + 1;
    (byVerdict[main.verdict] ??= []).push(c.claim);
    const alt =
      threaded && c.form.kind !== 'not-comparable' && c.form.kind !== 'at-least' ? judge(c.form, c.factor(node, threaded)) : undefined;
    const fa =
      fastapi && c.form.kind !== 'not-comparable' && c.form.kind !== 'at-least' ? judge(c.form, c.factor(node, fastapi)) : undefined;
    const faCell = fastapi ? ` ${fa ? `${fa.verdict}: ${fa.why}` : '—'} |` : '';
    lines.push(
      `| ${c.claim} | ${source} | ${c.measured(node, asyncio)} | **${main.verdict}** | ${main.why} | ${alt ? `${alt.verdict}: ${alt.why}` : '—'} |${faCell}`,
    );
  }
  return { lines, counts, byVerdict };
}

export function renderShowdown(run: ShowdownRun, scenarios: Scenario[]): string {
  const claims = claimsTable(run);
  const m = Math.round((MARGIN - 1) * 100);
  const loadWorst = Math.max(...run.runtimes.flatMap((r) => scenarios.map((s) => r.scenarios[s.key].loadSideCores)));
  const errors = run.runtimes.flatMap((r) =>
    scenarios.filter((s) => r.scenarios[s.key].errors > 0).map((s) => `${r.label} ${s.title}: ${r.scenarios[s.key].errors}`),
  );
  const contended = run.runtimes.flatMap((r) =>
    scenarios
      .filter((s) => contention(r.scenarios[s.key]) > 1)
      .map(
        (s) =>
          `${r.label} ${s.title} (${r.scenarios[s.key].foreignCpu0Cores.toFixed(2)} / ${r.scenarios[s.key].foreignCpu1Cores.toFixed(2)} cores)`,
      ),
  );
  const offMain = run.runtimes
    .filter((r) => (r.scenarios['cpu-sat'].mainThreadCpuShare ?? 1) < 0.5)
    .map(
      (r) =>
        `${r.label}: ${pct(r.scenarios['cpu-sat'].mainThreadCpuShare)} of its CPU on the main thread under /cpu saturated, verdict ${r.scenarios['cpu-sat'].verdict}`,
    );
  const unsaturated = run.runtimes.flatMap((r) =>
    scenarios
      .filter((s) => s.rate === undefined && r.scenarios[s.key].cores < 0.85)
      .map((s) => `${r.label} ${s.title} (${r.scenarios[s.key].cores.toFixed(2)} cores)`),
  );
  const probes = run.runtimes.map((r) => `${r.label}: ${r.probe}`).join('; ');
  return [
    '# Node.js vs Python: the showdown, measured',
    '',
    `Generated by \`npm run showdown\` (bench/showdown.ts); do not edit by hand — every number below comes from ${runsLine(run)}. The run's data is beside it in SHOWDOWN.json (\`npm run showdown -- --scaling-only\` re-runs only the multi-worker rows into it, \`-- --rate-only\` only the fixed-rate rows).`,
    '',
    `- **Run**: ${run.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${run.durationS.toFixed(0)} s, \`${run.command}\``,
    ...(run.rateRerun
      ? [
          `- **Fixed-rate rows** (${scenarios
            .filter((s) => run.rateRerun!.scenarios.includes(s.key))
            .map((s) => s.title)
            .join(
              ', ',
            )}, in both tables): a later run, ${run.rateRerun.startedAt.slice(0, 16).replace('T', ' ')} UTC, ${run.rateRerun.durationS.toFixed(0)} s, \`${run.rateRerun.command}\`, on the same machine; every other single-process row is from the run above.`,
        ]
      : []),
    `- **Machine**: ${run.machine}; ${[...new Set(run.runtimes.map((r) => r.version))].join(', ')}`,
    `- **Services**: the sample apps (sample-apps/README.md) — same endpoints, byte-identical /json answers; Node is Fastify 5, the Python ones are stdlib only (asyncio streams; \`ThreadingHTTPServer\`). The articles' FastAPI/Express are not what ran: the FastAPI variant (sample-apps/python/fastapi_app.py, Debian's FastAPI and uvicorn with its h11 protocol: no uvloop or httptools) ${run.runtimes.some((r) => r.key === 'fastapi') ? 'is the last column, and the claims table repeats each judgement with it' : "was not run: Debian's python3-fastapi and python3-uvicorn are not installed here"}.`,
    `- **Single-core fair**: each service is pinned to CPU 0 (\`taskset -c 0\`, set before exec, so its GC and helper threads too); the load generator (in-process: rtprof's open-loop generator at a fixed rate, autocannon 8 saturated), rtprof and the downstream of /io are pinned to CPU 1. The last column of the detail table says how busy CPU 1 was (worst: ${loadWorst.toFixed(2)} cores); near 1.0 the load side, not the service, would be the limit.`,
    `- **Method**: cold start = spawn → first successful \`GET /json\` on a fresh connection (polled every ~2 ms; median of ${run.coldStarts}, interleaved, after one unmeasured start each). Baseline RSS = VmRSS 2 s after READY, no request served, no probe. Then rtprof attaches its probe (${probes}), a short unmeasured warm-up runs, and each scenario is one ${run.windowS} s window: at a fixed rate, rtprof's open-loop generator (src/profile/openLoop.ts) sends request i at start + i/rate whatever the answers do, at most the scenario's connections in flight, and times each from when it was due (a request that waited for a busy connection carries that wait); saturated, autocannon sends as fast as the connections go and times each from its send; every response time is kept; rtprof profiles the same window (loop delay, GC, breakdown, verdict). CPU per request = the service's utime+stime over the load ÷ requests. GC pause share = the sum of the GC pauses rtprof saw ÷ window. "Loop delay" is Node's event loop or the asyncio loop; the threaded app has none, rtprof's interpreter delay (how late its own Python thread wakes: the GIL) stands beside it.`,
    '',
    '## Measurements',
    '',
    ...measurementTable(run, scenarios),
    '',
    'Ratios are Python ÷ Node of the number in the row: above 1 means Python has more of it (more MB, more ms — or more req/s).',
    '',
    '### Every scenario',
    '',
    ...detailTable(run, scenarios),
    '',
    '## Seed claims vs this machine',
    '',
    `The four seed articles: ${Object.values(SOURCES)
      .map((s) => s.cite)
      .join('; ')}. The claims about horizontal scaling are judged in the multi-worker section below${run.scaling ? '' : ', when it ran'}.`,
    '',
    `**Rule.** Each claim is turned into a Node-advantage factor f (Python's MB or ms ÷ Node's, or Node's req/s ÷ Python's; f > 1 favours Node) and judged on the number in "measured here". A difference counts as clear when f ≥ ${MARGIN} or f ≤ 1/${MARGIN} (±${m} %). A claimed size (a ratio or range) **holds** when f lies within the claimed range widened by ±${m} %; **direction only** when f is outside that but clearly on the claimed side; otherwise **does not hold**. A claimed direction ("Node is faster") holds when f is clearly on that side. A claim of similarity holds when f is within ±${m} %. **Not comparable**: the claim is about something this run does not measure. Verdicts are judged against Python asyncio; the last column(s) repeat the judgement with the threaded app (and FastAPI when it ran).`,
    '',
    ...claims.lines,
    '',
    `Tally (asyncio): ${Object.entries(claims.counts)
      .map(([k, v]) => `${k}: ${v}`)
      .join(', ')}.`,
    '',
    ...(['holds', 'direction only', 'does not hold'] as const).map(
      (v) => `- **${v}**: ${(claims.byVerdict[v] ?? []).join('; ') || 'none'}.`,
    ),
    '',
    ...(run.scaling ? [...renderScaling(run.scaling, run.startedAt), ''] : []),
    '## Caveats',
    '',
    `- ${run.scaling ? 'Outside the multi-worker section: one' : 'One'} process per runtime on one core, loopback only: no network, no database, no framework beyond the sample apps. The articles quote fleets, Lambda and containers; where their absolute numbers (req/s, ms) cannot be reproduced, the table compares the ratio only.`,
    `- The probe is attached during the load windows (not for cold start or baseline RSS); its cost is in both runtimes' numbers (measured by npm run bench: docs/BENCHMARKS.md).`,
    '- Fixed-rate windows space their requests evenly, so each wakes an otherwise idle service on its own: CPU per request there is higher than in the saturated windows, where requests arrive bunched and one wake-up serves several, and the busy time of a request that nothing queues behind is all CPU.',
    '- /cpu?ms=5 burns 5 ms of wall time per request in both runtimes, so its throughput is ~200 req/s by construction; the compute-speed row says how much work each gets done in that time.',
    `- Contention: other benchmarks and builds share this machine. The detail table's last column is the work on CPU 0 that was not the service's and on CPU 1 that was not the load side's (other processes, interrupts). Each window first waits (≤ 20 s) for a quiet second; a window with more than ${CONTENDED_CPU0} cores of others' work on CPU 0 or ${CONTENDED_CPU1} on CPU 1 is run again (≤ 2 re-runs per scenario, ≤ 8 per showdown) and the least contended attempt kept; each cold-start round waits for a quiet second too. Windows still contended: ${contended.length ? contended.join('; ') : 'none'}.`,
    `- rtprof's busy shares (CPU / I/O / lock) are the **main thread's** time. ${offMain.length ? `Where most CPU ran on other threads — ${offMain.join('; ')} — the main thread is an accept loop that mostly waits, so its shares read as I/O; the verdict also weighs the process's CPU off the main thread (the JSON's \`threads\`), and the interpreter-delay row shows the GIL contention of those threads.` : 'In every run here most CPU ran on the main thread.'}`,
    `- Saturated means as fast as the connections go; a service that used less than 0.85 of its core was held back by the connection count or the load side instead: ${unsaturated.length ? unsaturated.join('; ') : 'none'}.`,
    `- Errors during the load: ${errors.length ? errors.join('; ') : 'none'}.`,
    '',
  ].join('\n');
}

/** How many runs the document's numbers come from, and which part each gave. */
function runsLine(run: ShowdownRun): string {
  const parts: string[] = [];
  if (run.rateRerun) parts.push('the fixed-rate rows are from a later run (below)');
  if (run.scaling && run.scaling.partOfRun !== run.startedAt) parts.push('the multi-worker section says which run its rows come from');
  return parts.length === 0 ? 'one run' : `${parts.length + 1} runs: ${parts.join('; ')}`;
}

/** Headings and tables only, for stdout. */
export function tablesOf(markdown: string): string {
  const out: string[] = [];
  for (const line of markdown.split('\n')) {
    if (line.startsWith('|') || line.startsWith('#')) out.push(line);
    else if (out.length && out[out.length - 1] !== '') out.push('');
  }
  return `${out.join('\n').trim()}\n`;
}
