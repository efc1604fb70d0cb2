// The deploy/ files are valid for the tools that read them: promtool checks the Prometheus config
// and rules; the dashboard's queries only name metrics the agent really serves.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { ROOT, parsePrometheus, startAgent } from './helpers/agent';
import { start } from './helpers/processes';
import { requireTool } from './helpers/tools';

test('promtool accepts the Prometheus config and rules', () => {
  requireTool('promtool', 'prometheus');
  const rules = spawnSync('promtool', ['check', 'rules', join(ROOT, 'deploy/prometheus/rtprof-rules.yml')], { encoding: 'utf8' });
  assert.equal(rules.status, 0, rules.stdout + rules.stderr);
  const config = spawnSync('promtool', ['check', 'config', join(ROOT, 'deploy/prometheus/prometheus.yml')], { encoding: 'utf8' });
  assert.equal(config.status, 0, config.stdout + config.stderr);
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
