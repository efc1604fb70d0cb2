// `rtprof agent --pid <master>` watches the whole service: every worker becomes a target with a
// probe, labelled with its parent and the master's service name, a respawned worker is probed
// within seconds, and a real Prometheus server's `sum by (service_name)` over the workers equals
// the service's CPU as /proc counts it. A gunicorn with no traffic is probed too: its parked sync
// workers are woken by a signal they take as a no-op.
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { CLK_TCK } from '../collectors/proc/procfs';
import { isGunicornWorker, wakeParkedWorker } from '../collectors/python/wake';
import { ROOT, parsePrometheus, startAgent, type RunningAgent } from './helpers/agent';
import { sleep, start, until } from './helpers/processes';
import { SERVICE_FIXTURES } from './helpers/services';
import { requireTool } from './helpers/tools';

interface ApiTarget {
  pid: number;
  parentPid: number;
  role: string;
  serviceName: string;
  probe: { state: string; method: string; snapshots: number };
}

const targetsOf = async (agent: RunningAgent): Promise<ApiTarget[]> => (await (await agent.get('/api/targets')).json()) as ApiTarget[];

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}

async function startCluster(): Promise<{ primary: ReturnType<typeof start>; workers: number[] }> {
  const primary = start(process.execPath, [join(ROOT, 'test/fixtures/node/cluster-busy.cjs')]);
  await primary.waitFor(/worker (\d+) ready[\s\S]*worker (\d+) ready/);
  const workers = [...primary.stdout().matchAll(/worker (\d+) ready/g)].map((m) => Number(m[1]));
  return { primary, workers };
}

test('agent --pid <cluster primary>: every worker probed and labelled; a respawned worker is probed within seconds', async () => {
  const { primary, workers } = await startCluster();
  const agent = await startAgent(['--pid', String(primary.pid), '--interval', '500ms']);
  try {
    const all = await until(
      'primary and both workers connected',
      async () => {
        const ts = await targetsOf(agent);
        return ts.length === 3 && ts.every((t) => t.probe.state === 'connected') ? ts : undefined;
      },
      20_000,
      100,
    );
    const byPid = new Map(all.map((t) => [t.pid, t]));
    assert.equal(byPid.get(primary.pid)?.role, 'master');
    for (const pid of workers) {
      assert.equal(byPid.get(pid)?.role, 'worker');
      assert.equal(byPid.get(pid)?.parentPid, primary.pid);
      assert.equal(byPid.get(pid)?.serviceName, byPid.get(primary.pid)?.serviceName, 'one service name for the tree');
    }
    const text = await agent.scrape();
    const { samples } = parsePrometheus(text);
    for (const pid of workers) {
      const series = samples.filter((s) => s.name === 'process_cpu_time_seconds_total' && s.labels.process_pid === String(pid));
      assert.ok(series.length > 0, `cpu series of worker ${pid}`);
      assert.ok(
        series.every((s) => s.labels.process_parent_pid === String(primary.pid) && s.labels.service_name === 'cluster-busy.cjs'),
        JSON.stringify(series[0]?.labels),
      );
    }

    // Kill one worker: the primary forks a new one, which the agent must find and probe.
    const killedAt = Date.now();
    process.kill(workers[0]!, 'SIGKILL');
    const [, fresh] = await primary.waitFor(new RegExp(`worker (?!${workers.join('|')})(\\d+) ready`));
    const respawned = Number(fresh);
    let last: unknown;
    await until(
      () => `respawned worker probed (last seen: ${JSON.stringify(last)}; agent log: ${agent.stderr().slice(-1500)})`,
      async () => {
        const t = (await targetsOf(agent)).find((x) => x.pid === respawned);
        last = t?.probe;
        return t?.probe.state === 'connected' ? true : undefined;
      },
      15_000,
      50,
    );
    const probedAfterS = (Date.now() - killedAt) / 1000;
    process.stderr.write(`respawned worker ${respawned} probed ${probedAfterS.toFixed(2)} s after its predecessor was killed\n`);
    // The dead worker leaves at the next collection (every 500 ms here), which may come after the
    // new one connected.
    const after = await until(
      'the dead worker is no longer a target',
      async () => {
        const ts = await targetsOf(agent);
        return ts.some((t) => t.pid === workers[0]) ? undefined : ts;
      },
      5_000,
      100,
    );
    assert.equal(after.find((t) => t.pid === respawned)?.role, 'worker');
  } finally {
    await agent.stop();
    primary.kill();
  }
});

test('a real Prometheus server: sum by (service_name) over the workers equals the service CPU /proc counts', async () => {
  requireTool('prometheus', 'prometheus');
  const { primary, workers } = await startCluster();
  const agent = await startAgent(['--pid', String(primary.pid), '--interval', '500ms', '--no-attach']);
  const dir = mkdtempSync(join(tmpdir(), 'rtprof-prom-tree-'));
  writeFileSync(
    join(dir, 'prometheus.yml'),
    `global:\n  scrape_interval: 1s\nscrape_configs:\n  - job_name: rtprof\n    static_configs:\n      - targets: ['${agent.url.replace('http://', '')}']\n`,
  );
  const prom = start(
    'prometheus',
    [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, '--web.listen-address=127.0.0.1:0'],
    { cwd: dir },
  );
  try {
    const [, promAddr] = await prom.waitFor(/Listening on.*address=(127\.0\.0\.1:\d+)/, 30_000);
    const query = async (q: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }> | undefined> => {
      const res = await fetch(`http://${promAddr}/api/v1/query?query=${encodeURIComponent(q)}`);
      const body = (await res.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
      return body.data.result.length > 0 ? body.data.result : undefined;
    };
    await until('three processes scraped', async () => {
      const r = await query('count(process_cpu_time_seconds_total{cpu_mode="user"})');
      return r && Number(r[0]!.value[1]) === 3 ? true : undefined;
    });
    // rate() over 10 s needs the series to be older than that; measure /proc over the same span.
    const pids = [primary.pid, ...workers];
    const t0 = Date.now();
    const ticks0 = pids.reduce((a, pid) => a + cpuTicks(pid), 0);
    await sleep(10_500);
    const ticks1 = pids.reduce((a, pid) => a + cpuTicks(pid), 0);
    const procCores = (ticks1 - ticks0) / CLK_TCK / ((Date.now() - t0) / 1000);
    const result = await until('sum by (service_name)', () => query('sum by (service_name) (rate(process_cpu_time_seconds_total[10s]))'));
    assert.equal(result.length, 1, `one service: ${JSON.stringify(result.map((r) => r.metric))}`);
    assert.equal(result[0]!.metric.service_name, 'cluster-busy.cjs');
    const promCores = Number(result[0]!.value[1]);
    assert.ok(procCores > 0.4, `the two workers burn ~0.6 cores, /proc says ${procCores}`);
    assert.ok(
      Math.abs(promCores - procCores) <= 0.1 * procCores,
      `Prometheus ${promCores.toFixed(3)} cores vs /proc ${procCores.toFixed(3)} (±10 %)`,
    );
  } finally {
    prom.kill('SIGTERM');
    await agent.stop();
    primary.kill();
  }
});

test('agent --pid <gunicorn master>, no traffic: the parked sync workers are woken (a no-op SIGWINCH) and probed; the master is never signalled', async () => {
  const gunicorn = requireTool('gunicorn', 'gunicorn');
  // --timeout 120: a sync worker wakes from its select() every 60 s on its own, so a probe
  // connected within seconds was woken by the attach, not by gunicorn's own timer.
  const args = ['-k', 'sync', '-w', '2', '--timeout', '120', '--log-level', 'debug', '-b', '127.0.0.1:0', 'wsgi_app:app'];
  const svc = start(gunicorn, args, { cwd: SERVICE_FIXTURES, env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } });
  try {
    const [, port] = await svc.waitFor(/Listening at: http:\/\/127\.0\.0\.1:(\d+)/);
    await svc.waitFor(/(Booting worker with pid: \d+[\s\S]*){2}/);
    const workers = [...svc.stderr().matchAll(/Booting worker with pid: (\d+)/g)].map((m) => Number(m[1]));
    await sleep(1000); // both workers parked in select()
    assert.equal(isGunicornWorker(svc.pid), false, 'the master is not taken for a worker');
    for (const pid of workers) assert.equal(isGunicornWorker(pid), true, `worker ${pid} is recognised`);
    const began = Date.now();
    const agent = await startAgent(['--pid', String(svc.pid), '--interval', '500ms']);
    try {
      await until(
        () => `master and both workers connected (agent log: ${agent.stderr().slice(-1500)})`,
        async () => {
          const ts = await targetsOf(agent);
          return ts.length === 3 && ts.every((t) => t.probe.state === 'connected') ? ts : undefined;
        },
        30_000,
        50,
      );
      const tookS = (Date.now() - began) / 1000;
      process.stderr.write(`idle gunicorn master + 2 sync workers probed ${tookS.toFixed(2)} s after the agent started\n`);
      assert.ok(tookS < 30, `connected long before the workers' own 60 s wake-up (${tookS.toFixed(1)} s)`);
      const log = svc.stderr();
      assert.equal((log.match(/worker: SIGWINCH ignored/g) ?? []).length, 2, `each worker woken once: ${log.slice(-1500)}`);
      assert.doesNotMatch(log, /Handling signal: winch/, 'the master got no SIGWINCH');
      // The service is as it was: the same workers, answering.
      const res = await fetch(`http://127.0.0.1:${port}/healthz`);
      assert.equal(res.status, 200);
      assert.equal((svc.stderr().match(/Booting worker/g) ?? []).length, 2, 'no worker was replaced');
    } finally {
      await agent.stop();
    }
  } finally {
    svc.kill();
  }
});

test('a process that handles SIGWINCH but is not a gunicorn worker is never woken', async () => {
  const code =
    'import signal, sys, time\nh = lambda *a: sys.stdout.write("winch\\n")\nsignal.signal(signal.SIGWINCH, h)\nsignal.signal(signal.SIGABRT, h)\nprint("ready", flush=True)\ntime.sleep(30)';
  const py = start('/usr/bin/python3', ['-c', code]);
  try {
    await py.waitFor(/ready/);
    assert.equal(isGunicornWorker(py.pid), false);
    assert.equal(wakeParkedWorker(py.pid), false);
    await sleep(200);
    assert.doesNotMatch(py.stdout(), /winch/);
  } finally {
    py.kill();
  }
});
