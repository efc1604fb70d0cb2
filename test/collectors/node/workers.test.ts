// Worker threads measured by the Node probe, on a real service that offloads a 50 ms CPU handler to
// a worker_threads pool of 2 under saturating load: attached through the inspector (Node 18, 20,
// 22, 24) and preloaded by `rtprof run` (scraped, promtool-clean). Each worker's utilization, a worker
// blocking 120 ms read as such, a worker created after attach seen within 2 s, GC in the workers,
// the main thread staying responsive, and nothing left running in the workers after bye.

import { readdirSync } from 'node:fs';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as http from 'node:http';
import { after, before, describe, it } from 'node:test';
import type { SnapshotMessage, WorkerThreadStats } from '../../../collectors/channel/messages';
import { attachNode } from '../../../collectors/node/attach';
import { targetListeners } from '../../../collectors/node/target-facts';
import { parsePrometheus, rtprof, valuesOf } from '../../helpers/agent';
import { until } from '../../helpers/processes';
import { nodeBinary, nodeFixture, sleep, start, TEST_NODE_MAJORS, type NodeBinary, type Started } from '../../helpers/spawn';
import { requireTool } from '../../helpers/tools';
import { median, startHarness, type Harness } from '../channel-harness';

const ATTACH_TIMEOUT_MS = 20_000; // generous: other test suites load this 2-core machine
const BLOCK_MS = 120;
const POOL = ['pool-1', 'pool-2'];

/** Four keep-alive clients asking for 50 ms spins back to back: twice what a pool of 2 serves. */
function saturate(port: number): { stop: () => Promise<number> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let running = true;
  let done = 0;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/spin?ms=50', agent }, (res) => {
          res.resume();
          res.on('end', () => resolve());
        })
        .on('error', reject);
    });
  const loop = async (): Promise<void> => {
    while (running) {
      await one();
      done++;
    }
  };
  const loops = Array.from({ length: 4 }, loop);
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return done;
    },
  };
}

const workersOf = (snaps: SnapshotMessage[], name: string): WorkerThreadStats[] =>
  snaps.flatMap((s) => (s.workers ?? []).filter((w) => w.name === name));

/** Per pool worker: the median utilization of the intervals it answered in (a busy turn can miss one). */
function poolUtilization(snaps: SnapshotMessage[]): Record<string, number> {
  return Object.fromEntries(
    POOL.map((name) => [
      name,
      median(workersOf(snaps, name).flatMap((w) => (w.eventLoop?.utilization === undefined ? [] : [w.eventLoop.utilization]))),
    ]),
  );
}

/** Lines like `state <threadId> <running|stopped|none>` the fixture prints for `probe-state`. */
async function samplerStates(target: Started, count: number): Promise<string[]> {
  const offset = target.stdout().length;
  target.child.stdin!.write('probe-state\n');
  return until(
    `${count} state lines`,
    async () => {
      const lines =
        target
          .stdout()
          .slice(offset)
          .match(/^state \d+ \w+$/gm) ?? [];
      return lines.length >= count ? lines.map((l) => l.split(' ')[2]!) : undefined;
    },
    10_000,
    50,
  );
}

for (const major of TEST_NODE_MAJORS) {
  describe(`node worker threads, attached, Node ${major}`, () => {
    let node: NodeBinary;
    let h: Harness;
    before(async () => {
      node = await nodeBinary(major);
      h = await startHarness();
    });
    after(async () => {
      await h?.close();
    });

    it('per worker: utilization under load, a 120 ms block, a worker started after attach within 2 s, GC; bye stops them all', async (t) => {
      if ('skip' in node) return t.skip(node.skip);
      const target = start(node.path, [nodeFixture('worker-pool.cjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
      try {
        const [, port, threads] = await target.waitFor(/port (\d+) threads (\S+)/);
        const result = await attachNode({
          pid: target.pid,
          socketPath: h.socketPath,
          token: h.server.issueToken(target.pid),
          intervalMs: 1000,
          timeoutMs: ATTACH_TIMEOUT_MS,
        });
        assert.deepEqual(result, { ok: true, method: 'inspector' });
        assert.deepEqual(
          targetListeners(target.pid).filter((l) => l.port !== Number(port)),
          [],
          'no inspector port left open (only the service’s own)',
        );

        // Workers running at attach time are found, with the Worker's name.
        const seen = await until('both pool workers in a snapshot', async () => {
          const last = h.snapshotsOf(target.pid).at(-1);
          return last?.workers && last.workers.length >= 2 ? last.workers : undefined;
        });
        assert.deepEqual(
          seen.map((w) => `${w.threadId}:${w.name}`).sort(),
          threads!.split(',').map((id, i) => `${id}:${POOL[i]}`),
        );
        // Each with its OS thread id, a thread of the target that is not its main thread.
        const tasks = readdirSync(`/proc/${target.pid}/task`).map(Number);
        for (const w of seen)
          assert.ok(w.tid !== undefined && w.tid !== target.pid && tasks.includes(w.tid), `tid of ${JSON.stringify(w)}`);

        // Saturating load: both pool workers busy, the main thread only dispatching.
        const load = saturate(Number(port));
        await sleep(1500);
        const loadFrom = Date.now();
        await sleep(4000);
        const loaded = h.snapshotsOf(target.pid).filter((s) => s.t >= loadFrom);
        const served = await load.stop();
        const util = poolUtilization(loaded);
        const mainMax = median(loaded.map((s) => (s.eventLoop?.delayNs?.max ?? NaN) / 1e6));
        const mainP50 = median(loaded.map((s) => (s.eventLoop?.delayNs?.p50 ?? NaN) / 1e6));
        t.diagnostic(
          `${served} requests; utilization ${POOL.map((n) => `${n} ${util[n]!.toFixed(2)}`).join(', ')}; main thread delay median p50 ${mainP50.toFixed(1)} ms, max ${mainMax.toFixed(1)} ms`,
        );
        for (const name of POOL) assert.ok(util[name]! >= 0.5, `${name} utilization ${util[name]} under saturating load, want >= 0.5`);
        // The main thread only hands requests to the pool: its loop stays free (2 busy workers on 2 cores: a loaded machine).
        assert.ok(mainP50 < 5, `main thread p50 delay ${mainP50.toFixed(1)} ms, want < 5`);
        assert.ok(mainMax < 60, `main thread max delay ${mainMax.toFixed(1)} ms, want < 60`);
        const gc = workersOf(loaded, 'pool-1').concat(workersOf(loaded, 'pool-2'));
        const pauses = gc.flatMap((w) => w.gc ?? []);
        assert.ok(pauses.length > 0, 'the allocating workers collected garbage');
        assert.ok(pauses.every((p) => ['minor', 'major', 'incremental', 'weakcb'].includes(p.kind) && p.durationS >= 0 && p.durationS < 5));
        assert.ok(gc.filter((w) => w.gcTotals).at(-1)!.gcTotals!.count > 0, 'GC totals per worker');

        // A worker created after attach, blocking its loop 120 ms once a second.
        const spawnedAt = Date.now();
        target.child.stdin!.write(`spawn late ${BLOCK_MS}\n`);
        const lateId = Number((await target.waitFor(/spawned late (\d+)/))[1]);
        const firstSeen = await until(
          'the late worker in a snapshot',
          async () => h.snapshotsOf(target.pid).find((s) => s.workers?.some((w) => w.threadId === lateId)),
          10_000,
          20,
        );
        t.diagnostic(`worker created after attach: in a snapshot ${firstSeen.t - spawnedAt} ms later`);
        assert.ok(firstSeen.t - spawnedAt <= 2000, `late worker first seen ${firstSeen.t - spawnedAt} ms after its creation, want <= 2000`);
        await sleep(5500);
        // Its first interval covers its start-up: judge the rest, by their median (one descheduling does not decide).
        const lateMax = workersOf(h.snapshotsOf(target.pid), 'late')
          .slice(1)
          .flatMap((w) => (w.eventLoop?.delayNs ? [w.eventLoop.delayNs.max / 1e6] : []));
        const blocked = lateMax.filter((m) => m > BLOCK_MS / 2);
        t.diagnostic(`late worker max delay per interval (ms): ${lateMax.map((m) => m.toFixed(1)).join(' ')}`);
        assert.ok(blocked.length >= 3, `too few intervals with the block: ${lateMax.join(', ')}`);
        assert.ok(
          Math.abs(median(blocked) - BLOCK_MS) <= 15,
          `late worker max delay ${median(blocked).toFixed(1)} ms, want ${BLOCK_MS} ± 15`,
        );

        // A worker whose work is done exits on time: the probe's sampler in it holds nothing open.
        target.child.stdin!.write('oneshot 1500\n');
        const [, oneshotId] = await target.waitFor(/oneshot started (\d+)/);
        await until(
          'the short-lived worker measured',
          async () =>
            h.snapshotsOf(target.pid).some((s) => s.workers?.some((w) => w.threadId === Number(oneshotId) && w.eventLoop?.delayNs)) ||
            undefined,
        );
        const [, code, lived] = await target.waitFor(/oneshot exit (\d+) (\d+)/, 10_000);
        t.diagnostic(`a 1500 ms worker exited after ${lived} ms`);
        assert.equal(code, '0');
        assert.ok(Number(lived) < 1500 + 1000, `the short-lived worker lived ${lived} ms, want about 1500`);

        // The probe's samplers run in all three workers; bye stops them (the watchdog is not needed).
        assert.deepEqual(await samplerStates(target, 3), ['running', 'running', 'running']);
        h.server.revokeToken(target.pid);
        await h.waitFor('disconnect', () => h.disconnects.includes(target.pid));
        await sleep(300);
        assert.deepEqual(await samplerStates(target, 3), ['stopped', 'stopped', 'stopped']);
        target.child.stdin!.write('exit\n');
        assert.deepEqual(await target.exited, { code: 0, signal: null });
        // (Node itself prints the SIGUSR1 inspector's opening to stderr; nothing else may be there.)
        assert.doesNotMatch(target.stderr(), /error|warning/i);
      } finally {
        target.kill();
      }
    });
  });
}

describe('node worker threads, preloaded (`rtprof run`)', () => {
  it('scrape: thread_id/thread_name series per worker, main thread unlabelled, promtool-clean', async (t) => {
    const node = await nodeBinary(20);
    if ('skip' in node) return t.skip(node.skip);
    const proc = rtprof(['run', '--port', '0', '--interval', '500ms', '--', node.path, nodeFixture('worker-pool.cjs')]);
    proc.child.stdin?.end();
    try {
      const [, url] = await proc.waitFor(/metrics at (http:\/\/\S+)\/metrics/, 20_000);
      const [, pidText] = await proc.waitFor(/ready worker-pool\.cjs (\d+)/);
      const [, port, threads] = await proc.waitFor(/port (\d+) threads (\S+)/);
      const pid = Number(pidText);
      const ids = threads!.split(',');
      const load = saturate(Number(port));
      const scrape = async (): Promise<string> => (await fetch(`${url}/metrics`)).text();
      let text = '';
      try {
        text = await until(
          'labelled worker series with load on them',
          async () => {
            const body = await scrape();
            const { samples } = parsePrometheus(body);
            const util = valuesOf(samples, 'nodejs_eventloop_utilization_ratio', pid).filter((s) => s.labels.thread_id);
            // A worker's first sample can come before its delay monitor fired once (no delay series
            // yet, by design): wait for every family, not just utilization.
            const delays = valuesOf(samples, 'nodejs_eventloop_delay_max_seconds', pid).filter((s) => s.labels.thread_id);
            return util.length === 2 && util.every((s) => s.value >= 0.5) && delays.length === 2 ? body : undefined;
          },
          20_000,
          250,
        );
      } finally {
        await load.stop();
      }
      const { samples } = parsePrometheus(text);
      const labelled = (name: string): string[] =>
        valuesOf(samples, name, pid)
          .filter((s) => s.labels.thread_id)
          .map((s) => `${s.labels.thread_id}:${s.labels.thread_name}`);
      const expected = ids.map((id, i) => `${id}:${POOL[i]}`);
      const util = valuesOf(samples, 'nodejs_eventloop_utilization_ratio', pid);
      t.diagnostic(`utilization: ${util.map((s) => `${s.labels.thread_name ?? 'main'} ${s.value.toFixed(2)}`).join(', ')}`);
      assert.deepEqual(labelled('nodejs_eventloop_utilization_ratio').sort(), expected);
      assert.deepEqual(labelled('nodejs_eventloop_delay_max_seconds').sort(), expected);
      assert.deepEqual([...new Set(labelled('nodejs_eventloop_time_seconds_total'))].sort(), expected);
      assert.ok(labelled('v8js_gc_duration_seconds_count').length > 0, 'worker GC pauses in the histogram, labelled by thread');
      // The main thread's series are as before: one, with no thread labels.
      const mainUtil = util.filter((s) => !s.labels.thread_id && !s.labels.thread_name);
      assert.equal(mainUtil.length, 1, 'one main-thread utilization series, unlabelled');
      assert.equal(valuesOf(samples, 'nodejs_eventloop_delay_p99_seconds', pid).filter((s) => !s.labels.thread_id).length, 1);
      requireTool('promtool', 'prometheus');
      const promtool = spawnSync('promtool', ['check', 'metrics'], { input: text, encoding: 'utf8' });
      assert.equal(promtool.status, 0, `promtool check metrics: ${promtool.stdout}${promtool.stderr}`);
    } finally {
      proc.child.kill('SIGTERM');
      await proc.exited;
    }
  });
});
