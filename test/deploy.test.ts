// The deploy/ files are valid for the tools that read them: promtool checks the Prometheus config
// and rules and runs the rules' unit tests; the dashboard's queries only name metrics the agent
// really serves, average the breakdown, and keep replicas with the same pid apart in a real
// Prometheus scraping two real agents.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, parsePrometheus, startAgent } from './helpers/agent';
import { sleep, start, until } from './helpers/processes';
import { requireTool } from './helpers/tools';

interface Panel {
  id: number;
  title: string;
  targets: Array<{ expr: string; legendFormat?: string }>;
}
const dashboard = (): { panels: Panel[]; templating: { list: Array<{ name: string }> } } =>
  JSON.parse(readFileSync(join(ROOT, 'deploy/grafana/rtprof-dashboard.json'), 'utf8')) as {
    panels: Panel[];
    templating: { list: Array<{ name: string }> };
  };
/** Queries over the main thread's shares of wall time: one target's states sum to 1. */
const BREAKDOWN = /rtprof_thread_time_seconds_total/;

test('promtool accepts the Prometheus config and rules', () => {
  requireTool('promtool', 'prometheus');
  const rules = spawnSync('promtool', ['check', 'rules', join(ROOT, 'deploy/prometheus/rtprof-rules.yml')], { encoding: 'utf8' });
  assert.equal(rules.status, 0, rules.stdout + rules.stderr);
  const config = spawnSync('promtool', ['check', 'config', join(ROOT, 'deploy/prometheus/prometheus.yml')], { encoding: 'utf8' });
  assert.equal(config.status, 0, config.stdout + config.stderr);
  // The rules' unit tests: two replicas with the same pid stay two series; the service average.
  const unit = spawnSync('promtool', ['test', 'rules', 'rtprof-rules.test.yml'], {
    cwd: join(ROOT, 'deploy/prometheus'),
    encoding: 'utf8',
  });
  assert.equal(unit.status, 0, unit.stdout + unit.stderr);
});

test("promtool accepts the Kubernetes scrape job's relabeling (static targets in place of kubernetes_sd)", () => {
  requireTool('promtool', 'prometheus');
  // Debian's promtool is built without Kubernetes discovery; the relabel rules are checked all the same.
  const text = readFileSync(join(ROOT, 'deploy/prometheus/kubernetes-scrape.yml'), 'utf8');
  const swapped = text.replace(/kubernetes_sd_configs:\n(\s+)- role: pod/, 'static_configs:\n$1- targets: ["127.0.0.1:9464"]');
  assert.notEqual(swapped, text, 'the job uses kubernetes_sd_configs with role pod');
  assert.match(text, /target_label: instance/, 'instance is namespace/pod');
  const dir = mkdtempSync(join(tmpdir(), 'rtprof-k8s-scrape-'));
  writeFileSync(join(dir, 'k.yml'), swapped);
  const check = spawnSync('promtool', ['check', 'config', join(dir, 'k.yml')], { encoding: 'utf8' });
  rmSync(dir, { recursive: true, force: true });
  assert.equal(check.status, 0, check.stdout + check.stderr);
});

test('the dashboard averages the breakdown over targets and keeps every other series per target', () => {
  const d = dashboard();
  assert.ok(
    d.templating.list.some((v) => v.name === 'instance'),
    'an instance variable',
  );
  let breakdowns = 0;
  for (const panel of d.panels) {
    for (const { expr, legendFormat } of panel.targets) {
      const aggregations = [...expr.matchAll(/\b(sum|avg|max|min|count)\s+(by|without)\s*\(([^)]*)\)/g)];
      if (BREAKDOWN.test(expr) && aggregations.length > 0) {
        breakdowns++;
        for (const [, op] of aggregations)
          assert.equal(op, 'avg', `panel '${panel.title}': shares are averaged over targets, not summed: ${expr}`);
        continue;
      }
      for (const [, , how, labels] of aggregations) {
        const kept = how === 'by' ? labels!.includes('instance') : !labels!.includes('instance');
        assert.ok(kept, `panel '${panel.title}' keeps instance: ${expr}`);
      }
      assert.match(legendFormat ?? '', /\{\{instance\}\}/, `panel '${panel.title}' names the instance in its legend`);
      assert.match(expr, /instance=~"\$instance"/, `panel '${panel.title}' follows the instance variable`);
    }
  }
  assert.ok(breakdowns >= 1, 'a breakdown panel');
});

test('every metric the Grafana dashboard and the rules query is one the agent serves', async () => {
  const node = start(process.execPath, [
    '-e',
    'setInterval(()=>Array.from({length:1e5},()=>({})),100);require("http").createServer((q,r)=>r.end()).listen(0,"127.0.0.1",()=>console.log("ready"))',
  ]);
  await node.waitFor(/ready/);
  // --http: the dashboard's Requests panel needs the HTTP hooks (off by default)
  const agent = await startAgent(['--pid', String(node.pid), '--interval', '500ms', '--http']);
  let served = new Set<string>();
  for (let i = 0; i < 40 && !(served.has('nodejs_eventloop_delay_p99_seconds') && served.has('v8js_gc_duration_seconds_sum')); i++) {
    await new Promise((r) => setTimeout(r, 250));
    served = new Set(parsePrometheus(await agent.scrape()).samples.map((s) => s.name));
  }
  const dashboard = readFileSync(join(ROOT, 'deploy/grafana/rtprof-dashboard.json'), 'utf8');
  const rules = readFileSync(join(ROOT, 'deploy/prometheus/rtprof-rules.yml'), 'utf8');
  const labels = new Set(['process_pid', 'process_runtime_name', 'v8js_gc_type']);
  const queried = new Set(
    [...`${dashboard}\n${rules}`.matchAll(/\b((?:process|nodejs|v8js|rtprof|cpython)_[a-z0-9_]+)\b/g)]
      .map((m) => m[1]!)
      .filter((n) => !labels.has(n)),
  );
  const pythonOnly = /^(cpython_|rtprof_python_)/;
  for (const name of queried) {
    if (pythonOnly.test(name)) continue; // a Node target does not serve them; names checked by the model test
    assert.ok(served.has(name), `${name} is served by the agent`);
  }
  await agent.stop();
  node.kill();
});

test('a real Prometheus with the rules: two agents on the same pid stay two series; the breakdown sums to 1, not 2', async () => {
  requireTool('prometheus', 'prometheus');
  const target = start(process.execPath, ['-e', 'setInterval(()=>{const t=Date.now();while(Date.now()-t<5);},20)']);
  // Two agents watching one process: what two replicas whose services have the same pid look like.
  const agents = await Promise.all([1, 2].map(() => startAgent(['--pid', String(target.pid), '--interval', '500ms', '--no-attach'])));
  const dir = mkdtempSync(join(tmpdir(), 'rtprof-prom-rules-'));
  // The rules as shipped but over 5 s windows: a rate over [1m] of a series 6 s old reads ~1/10 of
  // its value (Prometheus extrapolates at most half an interval past the first sample).
  const rules = readFileSync(join(ROOT, 'deploy/prometheus/rtprof-rules.yml'), 'utf8');
  assert.match(rules, /\[1m\]/);
  writeFileSync(join(dir, 'rtprof-rules.yml'), rules.replaceAll('[1m]', '[5s]'));
  const targets = agents.map((a) => `'${a.url.replace('http://', '')}'`).join(', ');
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\n  evaluation_interval: 1s\nrule_files: [rtprof-rules.yml]\nscrape_configs:\n  - job_name: rtprof\n    static_configs:\n      - targets: [${targets}]\n`,
  );
  const prom = start(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, '--web.listen-address=127.0.0.1:0'],
    { cwd: dir },
  );
  try {
    const [, addr] = await prom.waitFor(/Listening on.*address=(127\.0\.0\.1:\d+)/, 30_000);
    type Row = { metric: Record<string, string>; value: [number, string] };
    const query = async (q: string): Promise<Row[]> => {
      const body = (await (await fetch(`http://${addr}/api/v1/query?query=${encodeURIComponent(q)}`)).json()) as {
        data: { result: Row[] };
      };
      return body.data.result;
    };
    const pid = `process_pid="${target.pid}"`;
    await until('both agents scraped', async () => ((await query(`up{job="rtprof"} == 1`)).length === 2 ? true : undefined));
    // rate() needs the series to span its window; the dashboard's $__rate_interval stands at 5s here.
    await sleep(6000);
    const panel = (title: RegExp): string => {
      const expr = dashboard().panels.find((p) => title.test(p.title))!.targets[0]!.expr;
      return expr.replaceAll('$service', '.*').replaceAll('$instance', '.*').replaceAll('$__rate_interval', '5s');
    };
    const breakdown = await until('the breakdown panel has data', async () => {
      const rows = await query(panel(/where the wall time goes/));
      return rows.length >= 2 ? rows : undefined;
    });
    const total = breakdown.reduce((a, r) => a + Number(r.value[1]), 0);
    // ± 0.15: scrapes of two agents a second apart, each a rate over a 5 s window.
    assert.ok(Math.abs(total - 1) <= 0.15, `the states of the average breakdown sum to ≈ 1 (two targets), got ${total}`);
    const cpu = await query(panel(/^CPU/));
    assert.equal(
      new Set(cpu.filter((r) => r.metric.process_pid === String(target.pid)).map((r) => r.metric.instance)).size,
      2,
      'CPU: a series per agent',
    );
    const shares = await until('the recording rule has both agents', async () => {
      const rows = await query(`rtprof:thread_time:share_1m{${pid},state="cpu"}`);
      return rows.length === 2 ? rows : undefined;
    });
    assert.equal(new Set(shares.map((r) => r.metric.instance)).size, 2, 'rtprof:thread_time:share_1m: a series per agent');
    const avg = await until('the service average', async () => {
      const rows = await query(`sum(rtprof:thread_time:service_avg_share_1m{service_name="${shares[0]!.metric.service_name}"})`);
      return rows.length === 1 ? Number(rows[0]!.value[1]) : undefined;
    });
    assert.ok(Math.abs(avg - 1) <= 0.15, `rtprof:thread_time:service_avg_share_1m sums to ≈ 1 over the states, got ${avg}`);
  } finally {
    prom.kill('SIGTERM');
    await prom.exited;
    await Promise.all(agents.map((a) => a.stop()));
    target.kill();
    rmSync(dir, { recursive: true, force: true });
  }
});
