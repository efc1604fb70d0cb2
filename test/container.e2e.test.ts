// `rtprof profile` and `rtprof agent` on real busy processes in a Kubernetes-shaped cgroup with a
// 0.2-core CPU limit: the container is identified, the throttled time matches the kernel's cpu.stat
// over the same window, it is carved out of the run queue, and the verdict names the limit.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import type { ProfileDocument } from '../src/report';
import { parsePrometheus, rtprof, startAgent, valuesOf } from './helpers/agent';
import { canMakeCgroups, makeK8sCgroup, type TestCgroup } from './helpers/cgroups';
import { start } from './helpers/processes';

const skip = canMakeCgroups();
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Reading {
  t: number;
  throttledS: number;
  runDelayS: number;
}

/** cpu.stat and the main thread's schedstat every 50 ms, independently of rtprof. */
function poll(cg: TestCgroup, pid: number): { readings: Reading[]; stop: () => void } {
  const readings: Reading[] = [];
  const read = (): void => {
    try {
      const [, rq] = readFileSync(`/proc/${pid}/task/${pid}/schedstat`, 'utf8').split(' ');
      readings.push({ t: Date.now(), throttledS: cg.throttledS(), runDelayS: Number(rq) / 1e9 });
    } catch {
      // the target is gone: the profile will say so
    }
  };
  read();
  const timer = setInterval(read, 50);
  return { readings, stop: () => clearInterval(timer) };
}

/** A reading's value at time t, interpolated between the two readings around it. */
function at(readings: readonly Reading[], t: number, key: 'throttledS' | 'runDelayS'): number {
  const after = readings.findIndex((r) => r.t >= t);
  assert.ok(after > 0, `readings cover ${new Date(t).toISOString()}`);
  const a = readings[after - 1]!;
  const b = readings[after]!;
  return a[key] + ((b[key] - a[key]) * (t - a.t)) / Math.max(1, b.t - a.t);
}

async function profileInCgroup(
  argv: string[],
  env: NodeJS.ProcessEnv,
): Promise<{ doc: ProfileDocument; cg: TestCgroup; readings: Reading[] }> {
  const cg = makeK8sCgroup({ cpuQuotaUs: 20000 });
  const app = start(argv[0]!, argv.slice(1), { env: { ...process.env, ...env } });
  cg.add(app.pid);
  await sleep(1000); // past start-up, into steady throttling
  const polling = poll(cg, app.pid);
  try {
    const p = rtprof(['profile', '--pid', String(app.pid), '--duration', '4s', '--no-attach', '--json']);
    const { code } = await p.exited;
    assert.equal(code, 0, p.stderr());
    return { doc: JSON.parse(p.stdout()) as ProfileDocument, cg, readings: polling.readings };
  } finally {
    polling.stop();
    app.kill();
    await app.exited;
    cg.remove();
  }
}

function assertThrottledProfile(
  doc: ProfileDocument,
  cg: TestCgroup,
  readings: Reading[],
  podName: string | null,
  note: (line: string) => void,
): void {
  const c = doc.container;
  assert.ok(c, 'a container');
  assert.equal(c.id, cg.containerId);
  assert.equal(c.podUid, cg.podUid);
  assert.equal(c.podName, podName);
  assert.equal(c.cpuLimitCores, 0.2);
  const start = Date.parse(doc.window.start);
  const end = Date.parse(doc.window.end);
  const wallS = (end - start) / 1000;
  const kernel = at(readings, end, 'throttledS') - at(readings, start, 'throttledS');
  assert.ok(kernel > 0.2 * wallS, `the cgroup was throttled (${kernel.toFixed(3)} s of ${wallS.toFixed(2)} s)`);
  assert.ok(Math.abs(c.throttledS! - kernel) <= 0.1 * kernel, `throttledS ${c.throttledS} vs cpu.stat delta ${kernel.toFixed(3)} (± 10 %)`);
  // The main thread's run delay, read independently: runqueue + throttled is all of it, and the
  // throttled part is what cpu.stat says, never more than the run delay.
  const runDelay = at(readings, end, 'runDelayS') - at(readings, start, 'runDelayS');
  const b = doc.breakdown;
  const waitedS = (b.runqueue + b.throttled) * wallS;
  assert.ok(
    Math.abs(waitedS - runDelay) <= 0.1 * runDelay,
    `runqueue + throttled ${waitedS.toFixed(3)} s vs schedstat ${runDelay.toFixed(3)} s`,
  );
  const expected = Math.min(runDelay, kernel);
  assert.ok(
    b.throttled > 0 && Math.abs(b.throttled * wallS - expected) <= 0.1 * expected,
    `throttled ${(b.throttled * wallS).toFixed(3)} s vs min(run delay, cpu.stat) ${expected.toFixed(3)} s: ${JSON.stringify(b)}`,
  );
  note(
    `window ${wallS.toFixed(2)} s · throttledS ${c.throttledS!.toFixed(3)} vs cpu.stat ${kernel.toFixed(3)} · ` +
      `breakdown cpu ${b.cpu.toFixed(3)} runqueue ${b.runqueue.toFixed(3)} throttled ${b.throttled.toFixed(3)} · ` +
      `run delay ${runDelay.toFixed(3)} s · ${doc.explanation}`,
  );
  assert.ok(Math.abs(b.cpu - 0.2) <= 0.03, `on CPU at the limit: ${b.cpu}`);
  assert.equal(doc.verdict, 'cpu-bound', doc.explanation);
  assert.match(doc.explanation, /^Throttled by its 0\.2-core CPU limit for \d+ % of busy time/);
}

test(
  'node busy loop under a 0.2-core limit: identified, throttled time matches cpu.stat, carved from runqueue, verdict names the limit',
  { skip },
  async (t) => {
    const { doc, cg, readings } = await profileInCgroup([process.execPath, '-e', 'for (;;) {}'], { HOSTNAME: 'web-7d9f8-x2k4q' });
    assertThrottledProfile(doc, cg, readings, 'web-7d9f8-x2k4q', (l) => t.diagnostic(l));
  },
);

test('python busy loop under a 0.2-core limit: the same', { skip }, async (t) => {
  const { doc, cg, readings } = await profileInCgroup(['/usr/bin/python3', '-c', 'while True: pass'], { HOSTNAME: 'worker-0' });
  assertThrottledProfile(doc, cg, readings, 'worker-0', (l) => t.diagnostic(l));
  assert.equal(doc.target.runtime, 'cpython');
});

test('agent: /api/targets and every Prometheus series carry the container identity; limit and throttling series', { skip }, async () => {
  const cg = makeK8sCgroup({ cpuQuotaUs: 20000, memoryLimitBytes: 128 * 2 ** 20 });
  const app = start(process.execPath, ['-e', 'for (;;) {}'], { env: { ...process.env, HOSTNAME: 'web-7d9f8-x2k4q' } });
  cg.add(app.pid);
  const agent = await startAgent(['--pid', String(app.pid), '--no-attach', '--interval', '500ms']);
  try {
    await sleep(1500);
    const targets = (await (await agent.get('/api/targets')).json()) as Array<{ pid: number; container: Record<string, unknown> }>;
    const mine = targets.find((t) => t.pid === app.pid);
    assert.ok(mine, JSON.stringify(targets));
    assert.equal(mine.container.id, cg.containerId);
    assert.equal(mine.container.podUid, cg.podUid);
    assert.equal(mine.container.podName, 'web-7d9f8-x2k4q');
    assert.equal(mine.container.cpuLimitCores, 0.2);
    assert.equal(mine.container.memoryLimitBytes, 128 * 2 ** 20);
    const text = await agent.scrape();
    const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.ok(promtool.error || promtool.status === 0, `promtool check metrics: ${promtool.stdout}${promtool.stderr}`);
    const { samples } = parsePrometheus(text);
    const ours = samples.filter((s) => s.labels.process_pid === String(app.pid));
    assert.ok(ours.length > 20);
    for (const s of ours) {
      assert.equal(s.labels.container_id, cg.containerId, s.name);
      assert.equal(s.labels.k8s_pod_uid, cg.podUid, s.name);
      assert.equal(s.labels.k8s_pod_name, 'web-7d9f8-x2k4q', s.name);
    }
    const one = (name: string): number => {
      const found = valuesOf(samples, name, app.pid);
      assert.equal(found.length, 1, `${name}: ${[...new Set(samples.map((s) => s.name))].filter((n) => /container/.test(n)).join(', ')}`);
      return found[0]!.value;
    };
    assert.equal(one('k8s_container_cpu_limit_current'), 0.2);
    assert.equal(one('k8s_container_memory_limit_current_bytes'), 128 * 2 ** 20);
    const throttled = one('rtprof_container_cpu_throttled_time_seconds_total');
    const kernel = cg.throttledS();
    assert.ok(throttled > 0.3 && throttled <= kernel && kernel - throttled < 0.2, `${throttled} vs cpu.stat ${kernel}`);
    assert.ok(one('rtprof_container_cpu_throttled_periods_total') <= one('rtprof_container_cpu_periods_total'));
  } finally {
    await agent.stop();
    app.kill();
    await app.exited;
    cg.remove();
  }
});
