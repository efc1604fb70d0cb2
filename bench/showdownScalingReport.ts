// The multi-worker section of docs/SHOWDOWN.md: every window, the 1 → 2 worker efficiency of each
// stack, and the seed claims about scaling judged on them. Pure: every number comes from the run.
import { MARGIN, SOURCES } from './showdownClaims';
import {
  busiestWorkerShare,
  efficiencyOf,
  judgeScaling,
  perCoreEfficiencyOf,
  pssPerWorker,
  SCALING_CLAIMS,
  windowOf,
} from './showdownScalingClaims';
import { CONTENDED_BOTH, type ScalingRun, type StackResult } from './showdownTypes';

const ms = (v: number): string => (Number.isFinite(v) ? `${v < 1 ? v.toFixed(3) : v < 10 ? v.toFixed(2) : v.toFixed(1)} ms` : '—');
const mb = (b: number | null): string => (b === null || !Number.isFinite(b) ? '—' : `${(b / 1048576).toFixed(1)} MB`);
const pct = (x: number): string => (Number.isFinite(x) ? `${(x * 100).toFixed(x < 0.01 ? 2 : 1)} %` : '—');
const num = (v: number): string => (Number.isFinite(v) ? v.toFixed(0) : '—');
const when = (iso: string): string => `${iso.slice(0, 16).replace('T', ' ')} UTC`;

function windowTable(run: ScalingRun): string[] {
  const lines = [
    '| stack | workers | req/s | errors | p50 | p99 | service cores (all processes) | per worker (rtprof) | CPU/req | req/s per service core | PSS of the service (peak) | PSS per worker | processes | rtprof verdict (busy: CPU / I/O / runqueue / lock) | load side cores | others (cores) |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: |',
  ];
  for (const s of run.stacks) {
    for (const w of s.windows) {
      const perWorker = w.workerPssBytes.length ? w.workerPssBytes.reduce((a, b) => a + b, 0) / w.workerPssBytes.length : NaN;
      const b = w.busyShares;
      lines.push(
        `| ${s.label} | ${w.workers} | ${num(w.rps)} | ${w.errors} | ${w.latencyMs ? ms(w.latencyMs.p50) : 'n/a'} | ${w.latencyMs ? ms(w.latencyMs.p99) : 'n/a'} | ${w.serviceCores.toFixed(2)} | ${w.workerCores.map((c) => c.toFixed(2)).join(' + ') || '—'} | ${ms(w.cpuPerRequestMs)} | ${num(w.rps / w.serviceCores)} | ${mb(w.pssBytes)} | ${mb(perWorker)} | ${w.processes} | ${w.verdict} (${pct(b.cpu)} / ${pct(b.io)} / ${pct(b.runqueue)} / ${pct(b.lock)}) | ${w.loadSideCores.toFixed(2)} | ${w.foreignCores.toFixed(2)}${w.attempts > 1 ? ` (best of ${w.attempts})` : ''} |`,
      );
    }
  }
  return lines;
}

function efficiencyTable(run: ScalingRun): string[] {
  const lines = [
    '| stack | 1 worker | 2 workers | scaling efficiency | per-core efficiency | service cores, 1 → 2 workers |',
    '| --- | ---: | ---: | ---: | ---: | ---: |',
  ];
  for (const s of run.stacks) {
    const one = windowOf(s, 1);
    const two = windowOf(s, 2);
    lines.push(
      `| ${s.label} | ${one ? `${num(one.rps)} req/s` : '—'} | ${two ? `${num(two.rps)} req/s` : '—'} | **${pct(efficiencyOf(s))}** | ${pct(perCoreEfficiencyOf(s))} | ${one && two ? `${one.serviceCores.toFixed(2)} → ${two.serviceCores.toFixed(2)}` : '—'} |`,
    );
  }
  return lines;
}

function claimsTable(run: ScalingRun): string[] {
  const node = run.stacks.find((s) => s.key === 'node-cluster');
  const gunicorn = run.stacks.find((s) => s.key === 'gunicorn');
  const uvicorn = run.stacks.find((s) => s.key === 'uvicorn');
  const main = gunicorn ?? uvicorn;
  if (!node || !main) return ['Not judged: the Node cluster and at least one Python stack must have run.'];
  const alt: StackResult | undefined = main === gunicorn ? uvicorn : undefined;
  const lines = [
    `| claim | source | measured here (Node cluster vs ${main.label}) | verdict | why |${alt ? ` ${alt.label} instead |` : ''}`,
    `| --- | --- | --- | --- | --- |${alt ? ' --- |' : ''}`,
  ];
  for (const c of SCALING_CLAIMS) {
    const v = judgeScaling(c, node, main);
    const a = alt ? judgeScaling(c, node, alt) : undefined;
    lines.push(
      `| ${c.claim} | ${SOURCES[c.source].short} | ${c.measured(node, main)} | **${v.verdict}** | ${v.why} |${a ? ` ${a.verdict}: ${a.why}; ${c.measured(node, alt!)} |` : ''}`,
    );
  }
  return lines;
}

/** The section; `mainStartedAt` is the single-process run's start, to say when the rows come from another run. */
export function renderScaling(run: ScalingRun, mainStartedAt: string | undefined): string[] {
  const separate = mainStartedAt !== undefined && run.partOfRun !== mainStartedAt;
  const contended = run.stacks.flatMap((s) =>
    s.windows.filter((w) => w.foreignCores > CONTENDED_BOTH).map((w) => `${s.label} ×${w.workers} (${w.foreignCores.toFixed(2)} cores)`),
  );
  const loadWorst = Math.max(0, ...run.stacks.flatMap((s) => s.windows.map((w) => w.loadSideCores)));
  const errors = run.stacks.flatMap((s) => s.windows.filter((w) => w.errors > 0).map((w) => `${s.label} ×${w.workers}: ${w.errors}`));
  const uneven = run.stacks.flatMap((s) =>
    s.windows
      .filter((w) => w.workers > 1 && (w.workerCores.length < w.workers || busiestWorkerShare(w.workerCores) > 2 / 3))
      .map((w) =>
        w.workerCores.length < w.workers
          ? `${s.label} ×${w.workers} (${w.workerCores.length} of ${w.workers} workers served)`
          : `${s.label} ×${w.workers} (${pct(busiestWorkerShare(w.workerCores))} of the workers' CPU on one)`,
      ),
  );
  const headroom = run.stacks
    .map((s) => {
      const w = windowOf(s, 2);
      return w ? `${s.label} ${(2 - w.loadSideCores - w.foreignCores).toFixed(2)} cores (used ${w.serviceCores.toFixed(2)})` : '';
    })
    .filter(Boolean)
    .join(', ');
  const noLatency = run.stacks.flatMap((s) => s.windows.filter((w) => !w.latencyMs).map((w) => `${s.label} ×${w.workers}`));
  const pss = run.stacks.map((s) => `${s.label} ${mb(pssPerWorker(s))}`).join(', ');
  return [
    '## Multi-worker: 1 → 2 workers on the two cores',
    '',
    `- **Run**: ${when(run.startedAt)}, ${run.durationS.toFixed(0)} s, \`${run.command}\`${separate ? ` — **a separate run from the single-process tables above** (those: ${when(mainStartedAt!)}); the machine: ${run.machine}` : ''}.`,
    `- **Stacks**: the same app code behind a master: \`node:cluster\` forking sample-apps/node/server.js (Fastify); gunicorn's sync workers serving threaded_app.py's routes as WSGI (sample-apps/python/gunicorn_app.py); FastAPI on \`uvicorn --workers\` (sample-apps/python/uvicorn_workers.py, uvicorn's own multiprocess supervisor). Every stack runs with 1 worker and then 2 (master + workers both times), back to back.`,
    `- **Method**: \`${run.path}\` saturated with ${run.connections} connections for ${run.windowS} s per window, after a short unmeasured warm-up. The service and the load side (autocannon, rtprof) share both CPUs (\`taskset -c 0,1\`): a 2-core box has no third core for the load generator, so it takes CPU the workers could have used (worst: ${loadWorst.toFixed(2)} cores). rtprof profiles the master pid, so its service is the master and every descendant: CPU summed over them, PSS summed (pre-fork workers share pages, which a sum of RSS would count twice), the verdict taken over the threads that did the work in every process. **Scaling efficiency** = throughput with 2 workers ÷ (2 × throughput with 1). **Per-core efficiency** = (req/s per core of service CPU with 2 workers) ÷ (the same with 1): below 100 % the workers needed more CPU per request, not just fewer free cores.`,
    '',
    ...efficiencyTable(run),
    '',
    '### Every multi-worker window',
    '',
    ...windowTable(run),
    '',
    '### Scaling claims',
    '',
    `Judged as the claims above (f = Node's efficiency ÷ Python's, or Python's MB ÷ Node's; clear beyond ±${Math.round((MARGIN - 1) * 100)} %), against gunicorn (the articles' "WSGI servers"), with uvicorn in the last column. The articles measured fleets (10 → 100 instances, 256 pods); this is 1 → 2 workers on one 2-core machine, so only the ratio between the runtimes is compared.`,
    '',
    ...claimsTable(run),
    '',
    `- PSS per worker (2 workers): ${pss}.`,
    `- gunicorn's sync workers close each connection after its response (no keep-alive), so the load generator opens a connection per request there: part of gunicorn's cost per request, and of the load side's. autocannon then times some requests from before its reconnect, so latencies far above what Little's law allows (connections ÷ throughput) are not reported (n/a): ${noLatency.length ? noLatency.join('; ') : 'none'}; its resets (ECONNRESET on a connection the worker had just closed) are the errors counted there.`,
    `- How evenly the workers shared the load is rtprof's per-process CPU ("per worker": the workers that served). Uneven (a worker idle, or the busiest doing more than 2/3 of the workers' CPU): ${uneven.length ? `${uneven.join('; ')}. Workers that accept from one shared socket take whole keep-alive connections: a worker awake when the load generator opens its ${run.connections} connections at once can take them all and keep them for the window` : 'none'}.`,
    `- Headroom: two cores minus the load side and others' work left the 2-worker service at most ${headroom}; below that, the workers did not keep the cores busy. The per-core efficiency separates the two: how much throughput each core of service CPU gave with 2 workers against 1.`,
    `- Contention: each window first waits (≤ 20 s) for a quiet second; a window with more than ${CONTENDED_BOTH} cores of others' work on the two CPUs is run again (≤ 2 re-runs) and the least contended kept. Still contended: ${contended.length ? contended.join('; ') : 'none'}.`,
    `- Errors during the load: ${errors.length ? errors.join('; ') : 'none'}.`,
  ];
}
