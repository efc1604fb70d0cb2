// The agent's data reaches real consumers: a Prometheus server scrapes it, and OTLP/HTTP pushes
// one Resource per target to a collector endpoint.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage } from 'node:http';
import { type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { startAgent } from './helpers/agent';
import { PYTHON, sleep, start, until } from './helpers/processes';
import { requireTool } from './helpers/tools';

test('a real Prometheus server scrapes the agent', async () => {
  const target = start(PYTHON, ['-c', 'import time\nwhile True: time.sleep(1)']);
  const agent = await startAgent(['--pid', String(target.pid), '--interval', '500ms', '--no-attach']);
  const dir = mkdtempSync(join(tmpdir(), 'rtprof-prom-'));
  const hostPort = agent.url.replace('http://', '');
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: rtprof\n    static_configs:\n      - targets: ['${hostPort}']\n`,
  );
  requireTool('prometheus', 'prometheus');
  const prom = start(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, '--web.listen-address=127.0.0.1:0'],
    { cwd: dir },
  );
  const [, promAddr] = await prom.waitFor(/Listening on.*address=(127\.0\.0\.1:\d+)/, 30_000);
  const query = async (q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }> | undefined> => {
    const res = await fetch(`http://${promAddr}/api/v1/query?query=${encodeURIComponent(q)}`);
    const body = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
    return body.data.result.length > 0 ? body.data.result : undefined;
  };
  const cpu = await until('prometheus has process_cpu_time_seconds_total', () =>
    query(`process_cpu_time_seconds_total{process_pid="${target.pid}"}`),
  );
  assert.ok(cpu.some((r) => r.metric.cpu_mode === 'user'));
  const up = await until('up == 1', () => query('up{job="rtprof"} == 1'));
  assert.equal(up.length, 1);
  // rate() divides by the whole range: wait until the series is older than the range.
  await sleep(7000);
  const rate = await until(
    'rate over thread time',
    () => query(`sum(rate(rtprof_thread_time_seconds_total{process_pid="${target.pid}"}[5s]))`),
    40_000,
  );
  const value = Number(rate[0]!.value[1]);
  assert.ok(value > 0.7 && value < 1.3, `sum of rate(rtprof_thread_time_seconds_total) ≈ 1, got ${value}`);
  prom.kill('SIGTERM');
  await agent.stop();
  target.kill();
});

interface OtlpResource {
  resource: { attributes: Array<{ key: string; value: Record<string, unknown> }> };
  scopeMetrics: Array<{ metrics: Array<{ name: string }> }>;
}

test('--otlp pushes one Resource per target with process and service attributes', async () => {
  const bodies: OtlpResource[][] = [];
  const collector = createServer((req: IncomingMessage, res) => {
    let data = '';
    req.on('data', (d: Buffer) => (data += d.toString()));
    req.on('end', () => {
      if (req.url === '/v1/metrics') bodies.push((JSON.parse(data) as { resourceMetrics: OtlpResource[] }).resourceMetrics);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((r) => collector.listen(0, '127.0.0.1', r));
  const port = (collector.address() as AddressInfo).port;
  const a = start(PYTHON, ['-c', 'import time\nwhile True: time.sleep(1)']);
  const b = start(process.execPath, ['-e', 'setInterval(()=>{}, 1000)']);
  const agent = await startAgent([
    '--pid',
    String(a.pid),
    '--pid',
    String(b.pid),
    '--interval',
    '500ms',
    '--no-attach',
    '--otlp',
    `http://127.0.0.1:${port}`,
  ]);
  await until('two resources pushed', async () => {
    const pids = new Set(bodies.flat().map((rm) => pidOf(rm)));
    return pids.has(a.pid) && pids.has(b.pid) ? true : undefined;
  });
  const resources = bodies.flat();
  const ofA = resources.find((rm) => pidOf(rm) === a.pid)!;
  const attrs = Object.fromEntries(ofA.resource.attributes.map((kv) => [kv.key, Object.values(kv.value)[0]]));
  assert.equal(attrs['process.runtime.name'], 'cpython');
  assert.equal(attrs['process.executable.name'], 'python3.11');
  assert.ok(attrs['process.creation.time'], 'process.creation.time');
  assert.ok(attrs['service.name'], 'service.name');
  assert.equal(attrs['process.command_line'], undefined, 'command line is opt-in');
  const names = new Set(ofA.scopeMetrics.flatMap((s) => s.metrics.map((m) => m.name)));
  for (const name of ['process.cpu.time', 'process.memory.usage', 'rtprof.thread.time']) assert.ok(names.has(name), name);
  await agent.stop();
  collector.close();
  a.kill();
  b.kill();
});

function pidOf(rm: OtlpResource): number | undefined {
  const kv = rm.resource.attributes.find((x) => x.key === 'process.pid');
  return kv ? Number(Object.values(kv.value)[0]) : undefined;
}
