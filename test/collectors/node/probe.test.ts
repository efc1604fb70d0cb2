// The Node probe preloaded (--require) into real targets on two Node majors, CommonJS and ESM:
// the numbers it reports, and that the target's output, exit code and lifetime are its own.

import assert from 'node:assert/strict';
import * as http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { newToken } from '../../../collectors/channel/server';
import { probePath } from '../../../collectors/node/attach';
import { nodeBinary, nodeFixture, start, TEST_NODE_MAJORS } from '../../helpers/spawn';
import type { NodeBinary } from '../../helpers/spawn';
import { startHarness } from '../channel-harness';
import type { Harness } from '../channel-harness';
import { assertBlockedLoop, assertGcCountsMatch, expectedAppStdout } from './checks';

function preloadEnv(h: Harness, token: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { ...process.env, RTPROF_SOCKET: h.socketPath, RTPROF_TOKEN: token, RTPROF_INTERVAL_MS: '1000', ...extra };
}

for (const major of TEST_NODE_MAJORS) {
  describe(`node probe preloaded, Node ${major}`, () => {
    let node: NodeBinary;
    let h: Harness;
    before(async () => {
      node = await nodeBinary(major);
      h = await startHarness();
    });
    after(async () => {
      await h?.close();
    });
    const bin = (t: { skip: (msg: string) => void }): string | undefined => {
      if ('skip' in node) {
        t.skip(node.skip);
        return undefined;
      }
      return node.path;
    };

    for (const app of ['app.cjs', 'app.mjs']) {
      it(`${app}: a 100 ms block reads max ≈ 100 ms, p50 ≈ 0; stdout and exit code unchanged`, async (t) => {
        const exe = bin(t);
        if (!exe) return;
        const ticks = 6;
        const token = newToken();
        const env = preloadEnv(h, token, { TICKS: String(ticks), EXIT_CODE: '5' });
        const target = start(exe, ['--require', probePath(), nodeFixture(app)], { env });
        h.server.issueToken(target.pid, token);
        const exit = await target.exited;
        assert.deepEqual(exit, { code: 5, signal: null }, `stderr: ${target.stderr()}`);
        assert.equal(target.stdout(), expectedAppStdout(target.pid, ticks));
        assert.equal(target.stderr(), '');
        const hello = h.hellos.find((x) => x.pid === target.pid);
        assert.ok(hello, 'probe said hello');
        assert.equal(hello.attach, 'preload');
        assert.equal(hello.runtimeVersion.split('.')[0], String(major));
        const snaps = h.snapshotsOf(target.pid);
        assert.ok(snaps.length >= ticks - 1, `${snaps.length} snapshots`);
        const { maxMs } = assertBlockedLoop(snaps);
        t.diagnostic(`max delay per interval (ms): ${maxMs.map((m) => m.toFixed(1)).join(' ')}`);
        const last = snaps.at(-1)!;
        assert.ok(last.heap!.usedBytes! > 0 && last.heap!.spaces!.some((s) => s.name === 'old_space'));
        assert.ok(last.eventLoop!.activeS! > 0.4, `activeS ${last.eventLoop!.activeS}`);
      });
    }

    it('GC counts over a window match --trace-gc and the target’s own observer', async (t) => {
      const exe = bin(t);
      if (!exe) return;
      const token = newToken();
      const target = start(exe, ['--trace-gc', '--require', probePath(), nodeFixture('gc-burst.cjs')], {
        env: preloadEnv(h, token, { RTPROF_INTERVAL_MS: '500' }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      h.server.issueToken(target.pid, token);
      const counts = await assertGcCountsMatch(h, target);
      t.diagnostic(`minor+major GCs in the window: probe ${counts.probe}, --trace-gc ${counts.trace}`);
      assert.equal((await target.exited).code, 0);
    });

    it('RTPROF_GC=0 (`--no-gc-pauses`): GCs happen, the snapshots carry no gc or gcTotals, the rest as usual', async (t) => {
      const exe = bin(t);
      if (!exe) return;
      const token = newToken();
      const target = start(exe, ['--trace-gc', '--require', probePath(), nodeFixture('gc-burst.cjs')], {
        env: preloadEnv(h, token, { RTPROF_INTERVAL_MS: '300', RTPROF_GC: '0' }),
        stdio: ['pipe', 'pipe', 'pipe'],
      });
      h.server.issueToken(target.pid, token);
      await h.waitForSnapshots(target.pid, 1, 20_000);
      target.child.stdin!.write('burst\n');
      await target.waitFor(/burst-done \d+/);
      const snaps = await h.waitForSnapshots(target.pid, 2, 10_000, Date.now());
      const scavenges = (target.stdout().match(/: Scavenge\b/g) ?? []).length;
      assert.ok(scavenges > 5, `the burst caused GCs (--trace-gc printed ${scavenges} scavenges)`);
      const all = h.snapshotsOf(target.pid);
      assert.ok(
        all.every((s) => s.gc === undefined && s.gcTotals === undefined),
        'no GC data from a probe told not to watch GC pauses',
      );
      const last = snaps.at(-1)!;
      assert.ok(last.heap!.usedBytes! > 0 && last.eventLoop!.delayNs !== undefined, 'heap and loop delay still reported');
      target.child.stdin!.write('exit\n');
      assert.equal((await target.exited).code, 0);
    });

    it('counts HTTP requests in flight, completed and busy time', async (t) => {
      const exe = bin(t);
      if (!exe) return;
      const token = newToken();
      const target = start(exe, ['--require', probePath(), nodeFixture('http-server.cjs')], { env: preloadEnv(h, token) });
      h.server.issueToken(target.pid, token);
      const port = Number((await target.waitFor(/port (\d+)/))[1]);
      const get = (p: string): Promise<number> =>
        new Promise((resolve, reject) => {
          http
            .get({ host: '127.0.0.1', port, path: p, agent: false }, (res) => {
              res.resume();
              res.on('end', () => resolve(res.statusCode ?? 0));
            })
            .on('error', reject);
        });
      await h.waitForSnapshots(target.pid, 1);
      await Promise.all([get('/slow'), get('/slow'), get('/slow')]);
      const done = Date.now();
      const snaps = await h.waitForSnapshots(target.pid, 1, 10_000, done);
      const work = snaps.at(-1)!.work!;
      assert.equal(work.inFlight, 0);
      assert.equal(work.completed, 3);
      // three concurrent 300 ms requests: ≈ 0.3 s with work in flight (loaded machine: ± 0.15 s)
      assert.ok(Math.abs(work.busyS - 0.3) <= 0.15, `busyS ${work.busyS}`);
      // A request the client abandons never finishes: it must not stay in flight for ever.
      await new Promise<void>((resolve) => {
        const req = http.get({ host: '127.0.0.1', port, path: '/slow', agent: false });
        req.on('error', () => undefined);
        setTimeout(() => {
          req.destroy();
          resolve();
        }, 50);
      });
      const after = await h.waitForSnapshots(target.pid, 2, 10_000, Date.now() + 400);
      const settled = after.at(-1)!.work!;
      assert.equal(settled.inFlight, 0, 'the aborted request is no longer in flight');
      assert.equal(settled.completed, 4);
      target.kill('SIGTERM');
      await target.exited;
    });

    it('bye stops the probe for good: no reconnect, the process runs on and exits by itself', async (t) => {
      const exe = bin(t);
      if (!exe) return;
      const token = newToken();
      const target = start(exe, ['--require', probePath(), nodeFixture('app.cjs')], {
        env: preloadEnv(h, token, { TICKS: '4', RTPROF_INTERVAL_MS: '200' }),
      });
      h.server.issueToken(target.pid, token);
      await h.waitForSnapshots(target.pid, 2);
      h.server.revokeToken(target.pid);
      h.server.issueToken(target.pid, token); // it would be accepted again if the probe came back
      await h.waitFor('disconnect', () => h.disconnects.includes(target.pid));
      const count = h.snapshotsOf(target.pid).length;
      const exit = await target.exited;
      assert.equal(exit.code, 0);
      assert.equal(h.snapshotsOf(target.pid).length, count, 'no snapshot after bye');
      assert.equal(h.hellos.filter((x) => x.pid === target.pid).length, 1, 'no reconnect after bye');
    });

    it('with no agent listening the target is unaffected and exits on time', async (t) => {
      const exe = bin(t);
      if (!exe) return;
      const env = { ...process.env, RTPROF_SOCKET: h.socketPath + '.absent', RTPROF_TOKEN: newToken(), TICKS: '3' };
      const began = Date.now();
      const target = start(exe, ['--require', probePath(), nodeFixture('app.cjs')], { env });
      const exit = await target.exited;
      assert.equal(exit.code, 0);
      assert.equal(target.stdout(), expectedAppStdout(target.pid, 3));
      assert.ok(Date.now() - began < 3000 + 5000, 'exits when its own work is done: the probe holds nothing open');
    });
  });
}
