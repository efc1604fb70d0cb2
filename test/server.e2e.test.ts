// The agent's HTTP side: it logs the address it really binds, answers /api/* only to requests
// that name this machine (DNS rebinding), and lets concurrent scrapes share one render.
import assert from 'node:assert/strict';
import * as http from 'node:http';
import { test } from 'node:test';
import { rtprof, startAgent } from './helpers/agent';
import { sleep, start } from './helpers/processes';
import { recordCase } from './helpers/reliability';

function get(url: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { headers: { host } }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.on('error', reject);
  });
}

test('--host 0.0.0.0 logs the address it binds', async () => {
  const target = start('sleep', ['60']);
  const agent = rtprof(['agent', '--pid', String(target.pid), '--no-attach', '--host', '0.0.0.0', '--port', '0']);
  try {
    const [, port] = await agent.waitFor(/serving http:\/\/0\.0\.0\.0:(\d+)\/metrics/, 20_000);
    assert.equal((await fetch(`http://127.0.0.1:${port}/healthz`)).status, 200);
    recordCase('host-any', 'logs `serving http://0.0.0.0:…`');
  } finally {
    agent.kill('SIGTERM');
    await agent.exited;
    target.kill();
  }
});

test('/api/* refuses a Host that is not this machine; /metrics and addresses still answer', async () => {
  const target = start('sleep', ['60']);
  const agent = await startAgent(['--pid', String(target.pid), '--no-attach']);
  const port = new URL(agent.url).port;
  try {
    assert.equal(await get(`${agent.url}/api/targets`, `rebind.example.com:${port}`), 403);
    assert.equal(await get(`${agent.url}/api/targets`, `127.0.0.1:${port}`), 200);
    assert.equal(await get(`${agent.url}/api/targets`, `localhost:${port}`), 200);
    assert.equal(await get(`${agent.url}/api/targets`, `[::1]:${port}`), 200);
    assert.equal(await get(`${agent.url}/metrics`, `rebind.example.com:${port}`), 200);
    recordCase('rebind', '403 (IPs, `localhost`, `[::1]` still 200; `/metrics` still 200)');
  } finally {
    await agent.stop();
    target.kill();
  }
});

test('--api-host adds names /api/* answers to (a Kubernetes Service); others still get 403', async () => {
  const target = start('sleep', ['60']);
  const agent = await startAgent([
    '--pid',
    String(target.pid),
    '--no-attach',
    '--api-host',
    'rtprof.monitoring.svc.cluster.local',
    '--api-host',
    '*.Pods.Example.Org',
  ]);
  const port = new URL(agent.url).port;
  try {
    assert.equal(await get(`${agent.url}/api/targets`, `rtprof.monitoring.svc.cluster.local:${port}`), 200);
    assert.equal(await get(`${agent.url}/api/targets`, `RTPROF.monitoring.svc.cluster.local.`), 200, 'case and a trailing dot');
    assert.equal(await get(`${agent.url}/api/targets`, `a-1.pods.example.org:${port}`), 200, 'a wildcard suffix');
    assert.equal(await get(`${agent.url}/api/targets`, `pods.example.org:${port}`), 403, '*.suffix is not the suffix itself');
    assert.equal(await get(`${agent.url}/api/targets`, `evilpods.example.org:${port}`), 403, 'a suffix match starts at a dot');
    assert.equal(await get(`${agent.url}/api/targets`, `rtprof.monitoring.svc:${port}`), 403, 'names are exact');
    assert.equal(await get(`${agent.url}/api/targets`, `rebind.example.com:${port}`), 403);
    recordCase('api-host', 'the `--api-host` names 200 (exact, any case, trailing dot; `*.suffix`: names below it); others 403');
  } finally {
    await agent.stop();
    target.kill();
  }
  for (const bad of ['*.com', 'a b', 'http://x', '*']) {
    const refused = rtprof(['agent', '--pid', String(process.pid), '--no-attach', '--api-host', bad]);
    const [, message] = await refused.waitFor(/rtprof: (.*--api-host.*)/);
    assert.equal((await refused.exited).code, 2, `--api-host '${bad}' is a usage error: ${message}`);
  }
});

test('100 concurrent scrapes share renders: p99 within 10 single scrapes (+200 ms)', async (t) => {
  const targets = Array.from({ length: 8 }, () => start('sleep', ['60']));
  const agent = await startAgent([...targets.flatMap((p) => ['--pid', String(p.pid)]), '--no-attach', '--interval', '200ms']);
  const timed = async (): Promise<number> => {
    const t0 = performance.now();
    const body = await agent.scrape();
    assert.ok(body.includes('process_cpu_time_seconds_total'));
    return performance.now() - t0;
  };
  try {
    for (let i = 0; i < 3; i++) await timed(); // warm up
    // A fresh render each: a render is reused for up to 1 s.
    const singles: number[] = [];
    for (let i = 0; i < 3; i++) {
      await sleep(1100);
      singles.push(await timed());
    }
    const single = singles.sort((a, b) => a - b)[1]!;
    const parallel = (await Promise.all(Array.from({ length: 100 }, timed))).sort((a, b) => a - b);
    const p99 = parallel[98]!;
    t.diagnostic(`single scrape median ${single.toFixed(1)} ms; 100 concurrent: p99 ${p99.toFixed(1)} ms`);
    assert.ok(p99 < 10 * single + 200, `p99 ${p99.toFixed(0)} ms vs single ${single.toFixed(0)} ms`);
    recordCase('scrapes-100', `p99 ${p99.toFixed(0)} ms (single fresh scrape ${single.toFixed(0)} ms)`);
  } finally {
    await agent.stop();
    targets.forEach((p) => p.kill());
  }
});
