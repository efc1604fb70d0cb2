// The Python probe loaded at start (sitecustomize on PYTHONPATH, as `rtprof run -- python3 app.py`
// does), on Debian's python3 and pyenv's 3.8/3.10/3.12/3.13, against the real ChannelServer; and the
// uvicorn in-flight hook on sample-apps/python/fastapi_app.py (Debian's python3, skipped without FastAPI).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as http from 'node:http';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { newToken } from '../../collectors/channel/server';
import type { SnapshotMessage } from '../../collectors/channel/messages';
import { start, sleep } from '../helpers/processes';
import type { Started } from '../helpers/processes';
import { packageRoot } from '../helpers/spawn';
import { fixture, lineRequest, preloadEnvFor, pythons, Recorder, taskCount } from '../fixtures/python/harness';

const { found, missing } = pythons();
if (missing.length) console.log(`# python interpreters not installed, skipped: ${missing.join(', ')}`);

function launch(rec: Recorder, python: string, script: string, args: string[] = [], intervalMs = 1000, extraPath?: string): Started {
  const token = newToken();
  const p = start(python, [fixture(script), ...args], {
    env: preloadEnvFor(rec, null, token, intervalMs, extraPath),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  rec.server.issueToken(p.pid, token);
  return p;
}

/** Sends lines one after another on one keep-alive connection, each after the previous answer. */
async function keepAliveRequests(port: number, n: number): Promise<void> {
  const sock = net.connect(port, '127.0.0.1');
  await new Promise((r) => sock.once('connect', r));
  for (let i = 0; i < n; i++) {
    const answered = new Promise((r) => sock.once('data', r));
    sock.write(`req${i}\n`);
    await answered;
  }
  sock.end();
}

/** The target's own counts (its gc.callbacks entry) and the probe's latest snapshot before and after
 * a burst of 30 forced collections (10 of each generation). */
async function gcBurst(rec: Recorder, p: Started): Promise<{ c1: number[]; s1: SnapshotMessage; c2: number[]; s2: SnapshotMessage }> {
  await p.waitFor(/ready/);
  await rec.until('snapshots', () => rec.snapshotsOf(p.pid).length >= 2);
  const stats = async (): Promise<number[]> => {
    const seen = (p.stdout().match(/^stats .*$/gm) ?? []).length;
    p.child.stdin!.write('stats\n');
    await rec.until('stats', () => (p.stdout().match(/^stats .*$/gm) ?? [])[seen]);
    return p
      .stdout()
      .match(/^stats .*$/gm)!
      [seen].split(' ')
      .slice(1)
      .map(Number);
  };
  // The target's counts and the probe's latest snapshot, read with no collection between them:
  // an automatic one there (which allocations in either thread can trigger) would be counted on
  // one side only, so the pair is read again until the target's counts did not move.
  const settled = async (): Promise<[number[], SnapshotMessage]> => {
    for (let tries = 1; ; tries++) {
      const c = await stats();
      await sleep(450);
      const s = rec.snapshotsOf(p.pid).at(-1)!;
      if ((await stats()).join() === c.join() || tries === 5) return [c, s];
    }
  };
  const [c1, s1] = await settled();
  p.child.stdin!.write('burst 30\n');
  await p.waitFor(/burst done/);
  const [c2, s2] = await settled();
  return { c1, s1, c2, s2 };
}

/** gcTotals moved by what the target counted itself, generation by generation. */
function assertGcCounts(c1: number[], s1: SnapshotMessage, c2: number[], s2: SnapshotMessage): void {
  const byKind = (s: SnapshotMessage, k: string): number | undefined => s.gcTotals?.byKind?.[k]?.count;
  for (const [i, k] of ['gen0', 'gen1', 'gen2'].entries()) {
    assert.ok(byKind(s1, k) !== undefined && byKind(s2, k) !== undefined, `${k} in gcTotals (${JSON.stringify(s2.gcTotals)})`);
    assert.equal(byKind(s2, k)! - byKind(s1, k)!, c2[i]! - c1[i]!, `${k}: probe vs target's own count`);
  }
}

for (const py of found) {
  describe(`python probe, preloaded, ${py.label}`, () => {
    const rec = new Recorder();
    before(() => rec.listen());
    after(() => rec.close());

    it('asyncio: a loop blocked 100 ms once a second reads max delay ≈ 100 ms (±15); keep-alive requests are work', async () => {
      const p = launch(rec, py.path, 'asyncio_server.py', ['--block']);
      const port = Number((await p.waitFor(/ready (\d+)/))[1]);
      const hello = await rec.until('hello', () => rec.hellosOf(p.pid)[0]);
      assert.equal(hello.runtime, 'cpython');
      assert.equal(hello.attach, 'preload');
      await rec.until('4 snapshots', () => rec.snapshotsOf(p.pid).length >= 4, 8000);
      const before = rec.snapshotsOf(p.pid).at(-1)!;
      const t0 = Date.now();
      await keepAliveRequests(port, 5);
      const took = (Date.now() - t0) / 1000;
      await rec.until('2 more snapshots', () => rec.snapshotsOf(p.pid).length >= rec.snapshotsOf(p.pid).indexOf(before) + 3, 5000);
      const snaps = rec.snapshotsOf(p.pid);
      const blocked = snaps.slice(1).filter((s) => (s.eventLoop?.delayNs?.max ?? 0) > 50e6);
      assert.ok(blocked.length >= 3, `snapshots that saw the block: ${blocked.length}`);
      for (const s of blocked) {
        const maxMs = s.eventLoop!.delayNs!.max / 1e6;
        assert.ok(Math.abs(maxMs - 100) <= 15, `max delay ${maxMs.toFixed(1)} ms, want 100 ± 15`);
      }
      const last = snaps.at(-1)!;
      // Over all the snapshots (several blocks), not the last interval alone, which may hold no block.
      const first = snaps[1]!.eventLoop!;
      const active = last.eventLoop!.activeS! - first.activeS!;
      const u = active / (active + last.eventLoop!.idleS! - first.idleS!);
      assert.ok(u > 0.05 && u < 0.5, `utilization ${u.toFixed(3)} over ${snaps.length - 2} intervals (blocked ~10 % of the time)`);
      assert.equal(last.work!.completed - (before.work?.completed ?? 0), 5);
      const busy = last.work!.busyS - (before.work?.busyS ?? 0);
      assert.ok(busy >= 0.45 && busy <= took, `busyS ${busy.toFixed(3)} for 5 × 100 ms requests in ${took.toFixed(3)} s`);
      assert.ok(last.interpreter?.delayNs, 'interpreter delay reported');
      assert.equal(last.threads, 1);
      p.kill();
    });

    it('GC: the pauses the probe reports match what the target counts itself', async () => {
      const p = launch(rec, py.path, 'gc_target.py', [], 200);
      const { c1, s1, c2, s2 } = await gcBurst(rec, p);
      const snaps = rec.snapshotsOf(p.pid).filter((s) => s.seq <= s2.seq);
      assertGcCounts(c1, s1, c2, s2);
      // The pauses come from the probe's gc.callbacks entry, the counts from gc.get_stats(): two
      // sources that must agree.
      const events = snaps.filter((s) => s.seq > s1.seq).flatMap((s) => s.gc ?? []);
      assert.equal(events.length, s2.gcTotals!.count - s1.gcTotals!.count, 'every pause listed');
      assert.ok(events.every((e) => e.durationS > 0 && /^gen[012]$/.test(e.kind)));
      assert.ok(events.filter((e) => e.kind === 'gen2').length >= 10);
      p.kill();
    });

    it("RTPROF_GC=0 (`--no-gc-pauses`): no pauses in the snapshots, the collection counts still match the target's", async () => {
      const token = newToken();
      const p = start(py.path, [fixture('gc_target.py')], {
        env: { ...preloadEnvFor(rec, null, token, 200), RTPROF_GC: '0' },
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      rec.server.issueToken(p.pid, token);
      const { c1, s1, c2, s2 } = await gcBurst(rec, p);
      assert.ok(c2[2]! - c1[2]! >= 10, `the burst caused gen2 collections (target counted ${c1.join(' ')} -> ${c2.join(' ')})`);
      assertGcCounts(c1, s1, c2, s2);
      const snaps = rec.snapshotsOf(p.pid);
      assert.ok(
        snaps.every((s) => s.gc === undefined),
        'no GC pauses from a probe told not to watch them',
      );
      assert.ok(snaps.at(-1)!.threads !== undefined, 'the rest of the snapshot as usual');
      p.kill();
    });

    it('http.server (threaded): concurrent requests are in flight together and counted once each', async () => {
      const p = launch(rec, py.path, 'http_server.py', [], 250);
      const port = Number((await p.waitFor(/ready (\d+)/))[1]);
      await rec.until('snapshot', () => rec.snapshotsOf(p.pid).length >= 1);
      const t0 = Date.now();
      await Promise.all([1, 2, 3, 4].map(() => fetch(`http://127.0.0.1:${port}/sleep?ms=300`).then((r) => r.text())));
      const wall = (Date.now() - t0) / 1000;
      await sleep(600);
      const last = rec.snapshotsOf(p.pid).at(-1)!;
      assert.equal(last.work?.completed, 4);
      assert.equal(last.work?.inFlight, 0);
      assert.ok(last.work!.busyS >= 0.29 && last.work!.busyS <= wall, `busyS ${last.work!.busyS} (4 parallel 300 ms requests in ${wall}s)`);
      p.kill();
    });

    it('output unchanged, and the environment’s own sitecustomize still runs', async () => {
      const run = async (withProbe: boolean): Promise<string> => {
        const p = withProbe
          ? launch(rec, py.path, 'asyncio_server.py', [], 1000, fixture('chain'))
          : start(py.path, [fixture('asyncio_server.py')], { env: { ...process.env, PYTHONPATH: fixture('chain') } });
        const port = Number((await p.waitFor(/ready (\d+)/))[1]);
        for (const i of [1, 2, 3]) assert.equal(await lineRequest(port, `x${i}`), `done x${i}`);
        await p.waitFor(/served x3/);
        p.kill();
        await p.exited;
        const lines = (p.stdout() + '\n' + p.stderr()).replace(/ready \d+/, 'ready PORT').split('\n');
        return lines.filter((l) => l.trim() !== '').join('\n');
      };
      const plain = await run(false);
      const probed = await run(true);
      assert.match(plain, /^original sitecustomize ran\n/);
      assert.equal(probed, plain);
    });

    it('bye: the probe thread ends, does not reconnect, and gives the loop its own selector class back', async () => {
      const p = launch(rec, py.path, 'idle_loop.py', [], 200);
      const port = Number((await p.waitFor(/ready (\d+)/))[1]);
      await rec.until('snapshot with utilization', () => rec.snapshotsOf(p.pid).some((s) => s.eventLoop?.utilization !== undefined));
      // While the probe times select the selector is of a subclass with the same name.
      assert.equal(await lineRequest(port, 'selector'), 'selector EpollSelector original=False');
      const tasks = taskCount(p.pid);
      rec.server.sendBye(p.pid);
      await rec.until('thread gone', () => taskCount(p.pid) === tasks - 1, 3000);
      assert.equal(await lineRequest(port, 'selector'), 'selector EpollSelector original=True');
      await sleep(1200);
      assert.equal(rec.hellosOf(p.pid).length, 1);
      assert.equal(await lineRequest(port, 'x'), 'ok x');
      p.kill();
    });
  });
}

// uvicorn (ASGI): the sample FastAPI app (sample-apps/python/fastapi_app.py) preloaded on Debian's
// python3, the one with python3-fastapi and python3-uvicorn; /io calls the sample downstream.
function fastapiMissing(): string | false {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import fastapi, uvicorn'], { stdio: 'ignore', timeout: 30_000 });
    return false;
  } catch {
    return '/usr/bin/python3 -c "import fastapi, uvicorn" fails (apt-get install python3-fastapi python3-uvicorn)';
  }
}

/** GET over loopback; resolves with the status once the body has arrived. */
function get(port: number, urlPath: string, agent: http.Agent | false): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: urlPath, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
      res.on('error', reject);
    });
    req.setTimeout(10_000, () => req.destroy(new Error(`GET ${urlPath} timed out`)));
    req.on('error', reject);
  });
}

describe('python probe, preloaded, uvicorn (sample-apps/python/fastapi_app.py)', () => {
  const rec = new Recorder();
  before(() => rec.listen());
  after(() => rec.close());

  it('slow /io requests are in flight while they wait; completed counts each request once', { skip: fastapiMissing() }, async () => {
    const apps = path.join(packageRoot(), 'sample-apps');
    const downstream = start(process.execPath, [path.join(apps, 'downstream', 'server.js')], { env: { ...process.env, PORT: '0' } });
    const dsPort = Number((await downstream.waitFor(/^READY pid=\d+ port=(\d+)/m))[1]);
    const token = newToken();
    const env = { ...preloadEnvFor(rec, null, token, 100), PORT: '0', DOWNSTREAM_URL: `http://127.0.0.1:${dsPort}` };
    const p = start('/usr/bin/python3', [path.join(apps, 'python', 'fastapi_app.py')], { env });
    rec.server.issueToken(p.pid, token);
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const port = Number((await p.waitFor(/^READY pid=\d+ port=(\d+) runtime=cpython$/m))[1]);
      // uvicorn's protocol module is imported before READY; every snapshot refreshes the hooks first.
      const seen = rec.snapshotsOf(p.pid).length;
      await rec.until('2 snapshots after READY', () => rec.snapshotsOf(p.pid).length >= seen + 2);
      const base = rec.snapshotsOf(p.pid).at(-1)!.work?.completed ?? 0;
      const t0 = Date.now();

      // 4 at once, each on its own connection: 4 in flight for ~300 ms (snapshots every 100 ms).
      let n0 = rec.snapshotsOf(p.pid).length;
      const statuses = await Promise.all([1, 2, 3, 4].map(() => get(port, '/io?ms=300', false)));
      assert.deepEqual(statuses, [200, 200, 200, 200]);
      await rec.nextSnapshot(p.pid);
      const concurrent = Math.max(
        ...rec
          .snapshotsOf(p.pid)
          .slice(n0)
          .map((s) => s.work?.inFlight ?? 0),
      );
      assert.equal(concurrent, 4, 'most requests in flight in one snapshot during 4 concurrent /io?ms=300');

      // 3 one after another on one keep-alive connection: 1 in flight; the idle connection is not.
      n0 = rec.snapshotsOf(p.pid).length;
      for (let i = 0; i < 3; i++) assert.equal(await get(port, '/io?ms=300', agent), 200);
      await rec.nextSnapshot(p.pid);
      const inFlight = rec
        .snapshotsOf(p.pid)
        .slice(n0)
        .map((s) => s.work?.inFlight ?? 0);
      assert.equal(Math.max(...inFlight), 1, `in flight during sequential requests: ${inFlight.join(' ')}`);
      const wall = (Date.now() - t0) / 1000;

      await sleep(300); // the keep-alive connection stays open and idle
      const last = (await rec.nextSnapshot(p.pid)).work!;
      assert.equal(last.completed - base, 7, 'completed = requests sent');
      assert.equal(last.inFlight, 0, 'nothing in flight on an idle keep-alive connection');
      // Busy ≈ 0.3 s (the 4 together) + 3 × 0.3 s (one after another); never more than the wall time.
      assert.ok(last.busyS >= 1.17 && last.busyS <= wall, `busyS ${last.busyS} for 4 parallel + 3 sequential 300 ms requests in ${wall} s`);
    } finally {
      agent.destroy();
      p.kill();
      downstream.kill();
    }
  });
});
