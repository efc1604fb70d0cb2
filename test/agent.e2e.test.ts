// `rtprof agent` end to end: real targets, the real CLI, the real endpoint, promtool.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RTPROF, parsePrometheus, rtprof as rtprofCli, startAgent, valuesOf } from './helpers/agent';
import { PYTHON, sleep, start, until } from './helpers/processes';
import { requireTool } from './helpers/tools';

const REQUIRED = [
  'process_cpu_time_seconds_total',
  'process_cpu_utilization_ratio',
  'process_memory_usage_bytes',
  'process_memory_virtual_bytes',
  'process_threads',
  'process_context_switches_total',
  'process_disk_io_bytes_total',
  'process_unix_file_descriptors',
  'process_paging_faults_total',
  'process_uptime_seconds',
  'rtprof_thread_time_seconds_total',
  'rtprof_target_info',
];

test('agent watches two targets, serves one family per metric, promtool-clean, drops exited targets', async () => {
  const node = start(
    process.execPath,
    ['-e', 'require("http").createServer((q,r)=>r.end("ok")).listen(0,"127.0.0.1",()=>console.log("ready"))'],
    {
      env: { ...process.env, OTEL_SERVICE_NAME: 'checkout-api' },
    },
  );
  const py = start(PYTHON, ['-c', 'import time\nprint("ready", flush=True)\nwhile True: time.sleep(0.05)']);
  await Promise.all([node.waitFor(/ready/), py.waitFor(/ready/)]);
  const agent = await startAgent(['--pid', String(node.pid), '--pid', String(py.pid), '--interval', '500ms', '--no-attach']);
  await sleep(1500);

  const first = await agent.scrape();
  const t0 = Date.now();
  const { samples, help, types } = parsePrometheus(first);
  for (const name of REQUIRED) {
    assert.equal(help.get(name), 1, `${name}: exactly one HELP across targets`);
    for (const pid of [node.pid, py.pid]) assert.ok(valuesOf(samples, name, pid).length > 0, `${name} for pid ${pid}`);
  }
  assert.equal(types.get('process_cpu_time_seconds_total'), 'counter');
  const info = valuesOf(samples, 'process_memory_usage_bytes', node.pid)[0]!;
  assert.equal(info.labels.service_name, 'checkout-api', 'service.name from the target OTEL_SERVICE_NAME');
  assert.equal(info.labels.process_runtime_name, 'nodejs');
  assert.equal(valuesOf(samples, 'process_memory_usage_bytes', py.pid)[0]!.labels.process_runtime_name, 'cpython');
  assert.ok(info.value > 10e6, 'a node process has more than 10 MB RSS');

  requireTool('promtool', 'prometheus');
  const promtool = spawnSync('promtool', ['check', 'metrics'], { input: first, encoding: 'utf8' });
  assert.equal(promtool.status, 0, `promtool check metrics: ${promtool.stdout}${promtool.stderr}`);
  assert.equal(`${promtool.stdout}${promtool.stderr}`.trim(), '', 'promtool has no complaint');

  // rate(rtprof_thread_time_seconds_total) sums to 1 per second of wall time.
  await sleep(2000);
  const second = parsePrometheus(await agent.scrape()).samples;
  const elapsedS = (Date.now() - t0) / 1000;
  const sum = (all: typeof samples, pid: number): number =>
    valuesOf(all, 'rtprof_thread_time_seconds_total', pid).reduce((s, x) => s + x.value, 0);
  const rate = (sum(second, py.pid) - sum(samples, py.pid)) / elapsedS;
  assert.ok(Math.abs(rate - 1) < 0.3, `thread time rate sums to ~1 (got ${rate.toFixed(3)})`);
  const sleepShare =
    valuesOf(second, 'rtprof_thread_time_seconds_total', py.pid).find((s) => s.labels.state === 'sleep')!.value / sum(second, py.pid);
  assert.ok(sleepShare > 0.8, `the python sleeper is mostly asleep (${sleepShare.toFixed(2)})`);

  const targets = (await (await agent.get('/api/targets')).json()) as Array<{ pid: number; runtime: string }>;
  assert.deepEqual(targets.map((t) => t.pid).sort(), [node.pid, py.pid].sort());
  const health = (await (await agent.get('/healthz')).json()) as { status: string; targets: number };
  assert.equal(health.status, 'ok');
  assert.equal(health.targets, 2);

  py.kill();
  await py.exited;
  await sleep(1100); // two intervals
  const after = parsePrometheus(await agent.scrape()).samples;
  assert.equal(after.filter((s) => s.labels.process_pid === String(py.pid)).length, 0, 'exited target series are gone');
  assert.ok(valuesOf(after, 'process_cpu_time_seconds_total', node.pid).length > 0, 'the other target is still served');
  assert.match(agent.stderr(), new RegExp(`target ${py.pid} .* exited`));
  assert.equal(await agent.stop(), 0, 'SIGTERM: clean shutdown, exit 0');
  node.kill();
});

test('bad input: one clear line and the right exit code', async () => {
  const run = (args: string[]): { status: number | null; stderr: string } => {
    const r = spawnSync(process.execPath, ['bin/rtprof.js', ...args], { encoding: 'utf8', cwd: `${__dirname}/../..`, timeout: 20_000 });
    return { status: r.status, stderr: r.stderr };
  };
  const oneLine = (s: string): void => assert.equal(s.trim().split('\n').length, 1, `one line: ${s}`);
  let r = run(['agent', '--pid', 'abc']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--pid expects a process id/);
  oneLine(r.stderr);
  r = run(['agent', '--pid', '1', '--interval', 'soon']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /500ms, 10s, 2m/);
  r = run(['agent']);
  assert.equal(r.status, 2);
  r = run(['agent', '--pid', '1', '--http', '--no-http']);
  assert.equal(r.status, 2);
  assert.match(r.stderr, /--http and --no-http contradict/);
  oneLine(r.stderr);
  r = run(['frobnicate']);
  assert.equal(r.status, 2);
  r = run(['agent', '--pid', '999999999', '--port', '0']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, /no process with pid 999999999/);
  oneLine(r.stderr);

  const busy = start(process.execPath, [
    '-e',
    'const s=require("net").createServer().listen(0,"127.0.0.1",()=>console.log("port="+s.address().port))',
  ]);
  const [, port] = await busy.waitFor(/port=(\d+)/);
  r = run(['agent', '--pid', String(busy.pid), '--port', port!, '--no-attach']);
  assert.equal(r.status, 1);
  assert.match(r.stderr, new RegExp(`port ${port} on 127.0.0.1 is already in use`));
  oneLine(r.stderr);
  busy.kill();
  assert.match(
    execFileSync(process.execPath, ['bin/rtprof.js', 'agent', '--help'], { encoding: 'utf8', cwd: `${__dirname}/../..` }),
    /--discover/,
  );
});

test('an unprivileged agent watching a root process: forbidden /proc files are reported unavailable, the rest collected', async (t) => {
  if (process.getuid?.() !== 0) return t.skip('needs root to run the agent as another user');
  const dir = mkdtempSync(join(tmpdir(), 'rtprof-nobody-'));
  chownSync(dir, 65534, 65534);
  const target = start('sleep', ['60']);
  const agent = start('setpriv', [
    '--reuid=65534',
    '--regid=65534',
    '--clear-groups',
    RTPROF,
    'agent',
    '--pid',
    String(target.pid),
    '--port',
    '0',
    '--socket',
    join(dir, 'agent.sock'),
  ]);
  const [, url] = await agent.waitFor(/serving (http:\/\/[^ ]+)\/metrics/, 20_000);
  await sleep(1500);
  const [info] = (await (await fetch(`${url}/api/targets`)).json()) as Array<{ serviceName: string; unavailable: Record<string, string> }>;
  assert.match(info!.unavailable.diskIo ?? '', /no permission to read \/proc\/\d+\/io/);
  assert.match(info!.unavailable.syscall ?? '', /no permission/);
  assert.equal(info!.serviceName, 'sleep');
  const { samples } = parsePrometheus(await (await fetch(`${url}/metrics`)).text());
  assert.ok(valuesOf(samples, 'process_cpu_time_seconds_total', target.pid).length === 2, 'CPU still collected');
  assert.ok(valuesOf(samples, 'process_memory_usage_bytes', target.pid)[0]!.value > 0, 'RSS still collected');
  assert.equal(valuesOf(samples, 'process_disk_io_bytes_total', target.pid).length, 0, 'no made-up disk I/O');
  agent.kill('SIGTERM');
  await agent.exited;
  target.kill();
});

test('a profile of a process the agent watches borrows its probe and gives it back when it ends', async () => {
  const node = start(process.execPath, [
    '-e',
    'setInterval(() => { const end = Date.now() + 20; while (Date.now() < end); }, 100); console.log("ready")',
  ]);
  await node.waitFor(/ready/);
  const agent = await startAgent(['--pid', String(node.pid), '--interval', '500ms']);
  type Info = { pid: number; probe: { state: string; snapshots: number } };
  const probeOf = async (): Promise<Info['probe']> =>
    ((await (await agent.get('/api/targets')).json()) as Info[]).find((t) => t.pid === node.pid)!.probe;
  /** The target's probe once cond holds, polled every 100 ms (state changes last ~2 s here). */
  const probeWhen = (what: string, cond: (p: Info['probe']) => boolean, ms = 20_000): Promise<Info['probe']> =>
    until(
      what,
      async () => {
        const p = await probeOf();
        return cond(p) ? p : undefined;
      },
      ms,
      100,
    );
  try {
    await probeWhen('the agent’s probe', (p) => p.state === 'connected' && p.snapshots > 0);
    const profile = rtprofCli(['profile', '--pid', String(node.pid), '--duration', '2s', '--json']);
    // The profile attaches to the same probe: the agent sees it leave...
    await probeWhen('the probe taken over by the profile', (p) => p.state !== 'connected', 15_000);
    const { code } = await profile.exited;
    assert.equal(code, 0, profile.stderr());
    const doc = JSON.parse(profile.stdout()) as { eventLoop: { delayS: { max: number } } | null };
    assert.ok(doc.eventLoop, 'the profile had the probe');
    // ...and come back once the profile is done, with snapshots flowing again.
    const back = await probeWhen('the probe back at the agent', (p) => p.state === 'connected', 15_000);
    await probeWhen('snapshots again', (p) => p.snapshots >= back.snapshots + 2, 10_000);
  } finally {
    await agent.stop();
    node.kill();
  }
});
