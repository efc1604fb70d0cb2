// Attaching the Node probe to real running targets through the inspector, on two Node majors,
// CommonJS and ESM: it reports, the target's output and exit code are its own, no debug port is
// left open, and every refusal leaves the target as it was with one clear line.

import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { attachNode } from '../../../collectors/node/attach';
import { targetListeners } from '../../../collectors/node/target-facts';
import { listInspectorTargets } from '../../../collectors/node/cdp';
import { alive, nodeBinary, nodeFixture, sleep, start, TEST_NODE_MAJORS } from '../../helpers/spawn';
import type { NodeBinary } from '../../helpers/spawn';
import { startHarness } from '../channel-harness';
import type { Harness } from '../channel-harness';
import { assertBlockedLoop, assertGcCountsMatch, expectedAppStdout } from './checks';

const ATTACH_TIMEOUT_MS = 20_000; // generous: other test suites load this 2-core machine

for (const major of TEST_NODE_MAJORS) {
  describe(`node attach, Node ${major}`, () => {
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
    const attach = (pid: number, timeoutMs = ATTACH_TIMEOUT_MS, http?: boolean) =>
      attachNode({
        pid,
        socketPath: h.socketPath,
        token: h.server.issueToken(pid),
        intervalMs: 1000,
        timeoutMs,
        ...(http === undefined ? {} : { http }),
      });

    for (const app of ['app.cjs', 'app.mjs']) {
      it(`${app}: attaches, reports a 100 ms block as ≈ 100 ms, leaves no inspector port, output and exit code unchanged`, async (t) => {
        const exe = bin(t);
        if (!exe) return;
        const ticks = 7;
        const target = start(exe, [nodeFixture(app)], { env: { ...process.env, TICKS: String(ticks), EXIT_CODE: '4' } });
        await target.waitFor(/^ready/m);
        const began = Date.now();
        const result = await attach(target.pid);
        assert.deepEqual(result, { ok: true, method: 'inspector' });
        assert.deepEqual(targetListeners(target.pid), [], 'no inspector port left open');
        const first = await h.waitForSnapshots(target.pid, 1);
        t.diagnostic(`attach to first snapshot: ${first[0]!.t - began} ms (interval 1000 ms)`);
        assert.equal(h.hellos.find((x) => x.pid === target.pid)?.attach, 'inspector');

        // attaching again switches the running probe, it does not stack a second one
        const again = await attach(target.pid);
        assert.equal(again.ok, true);
        assert.deepEqual(targetListeners(target.pid), []);

        const exit = await target.exited;
        assert.deepEqual(exit, { code: 4, signal: null });
        assert.equal(target.stdout(), expectedAppStdout(target.pid, ticks));
        const snaps = h.snapshotsOf(target.pid);
        const seqs = snaps.map((s) => s.seq);
        assert.deepEqual(
          seqs,
          [...seqs].sort((a, b) => a - b),
          'one probe: one increasing sequence',
        );
        assert.equal(new Set(seqs).size, seqs.length, 'one probe: no duplicate sequence numbers');
        assert.ok(snaps.length <= ticks + 1, `${snaps.length} snapshots in ~${ticks} s: no second probe`);
        assertBlockedLoop(snaps);
      });
    }

    it("HTTP hooks follow the newest attach: off (the agent's default), on (a profile), off again", async (t) => {
      const exe = bin(t);
      if (!exe) return;
      const target = start(exe, [nodeFixture('http-server.cjs')]);
      const port = Number((await target.waitFor(/port (\d+)/))[1]);
      const get = async (): Promise<void> => {
        await (await fetch(`http://127.0.0.1:${port}/`)).text();
      };
      const workAfterRequests = async (http: boolean): Promise<{ completed: number } | undefined> => {
        assert.equal((await attach(target.pid, ATTACH_TIMEOUT_MS, http)).ok, true);
        const since = Date.now();
        await get();
        await get();
        return (await h.waitForSnapshots(target.pid, 1, 10_000, Date.now() + 100)).filter((x) => x.t >= since).at(-1)!.work;
      };
      try {
        assert.equal(await workAfterRequests(false), undefined, 'hooks off: no work in the snapshot');
        const on = await workAfterRequests(true);
        assert.equal(on?.completed, 2, 'switched on by the second attach: both requests counted');
        assert.equal(await workAfterRequests(false), undefined, 'switched off again');
      } finally {
        target.kill('SIGTERM');
        await target.exited;
      }
    });

    it('a second agent takes the probe over (a profile on a watched process); its bye, or its being gone for giveUpMs, gives the probe back to the first', async (t) => {
      const exe = bin(t);
      if (!exe) return;
      const target = start(exe, [nodeFixture('app.cjs')], { env: { ...process.env, TICKS: '90', BLOCK_MS: '5' } });
      await target.waitFor(/^ready/m);
      const second = await startHarness();
      let third: Awaited<ReturnType<typeof startHarness>> | undefined;
      const hellosAtFirst = (): number => h.hellos.filter((x) => x.pid === target.pid).length;
      try {
        assert.equal((await attach(target.pid)).ok, true);
        await h.waitForSnapshots(target.pid, 1);
        const took = await attachNode({
          pid: target.pid,
          socketPath: second.socketPath,
          token: second.server.issueToken(target.pid),
          intervalMs: 500,
          timeoutMs: ATTACH_TIMEOUT_MS,
        });
        assert.equal(took.ok, true, JSON.stringify(took));
        await second.waitForSnapshots(target.pid, 1);
        const greeted = hellosAtFirst();
        second.server.sendBye(target.pid);
        await h.waitFor('the probe greets the first agent again', () => hellosAtFirst() > greeted, 10_000);
        await h.waitForSnapshots(target.pid, 2, 10_000, Date.now());
        assert.equal(h.snapshotsOf(target.pid).at(-1)!.intervalMs, 1000, "the first agent's settings again");
        const atSecond = second.snapshotsOf(target.pid).length;
        await sleep(1200);
        assert.equal(second.snapshotsOf(target.pid).length, atSecond, 'nothing more to the agent that left');
        // A third agent takes over and goes away without a bye (killed): after its giveUpMs of
        // failed reconnects the probe goes back to the first agent too.
        third = await startHarness();
        const tookAgain = await attachNode({
          pid: target.pid,
          socketPath: third.socketPath,
          token: third.server.issueToken(target.pid),
          intervalMs: 500,
          giveUpMs: 1500,
          timeoutMs: ATTACH_TIMEOUT_MS,
        });
        assert.equal(tookAgain.ok, true, JSON.stringify(tookAgain));
        await third.waitForSnapshots(target.pid, 1);
        const greetedAgain = hellosAtFirst();
        const gone = Date.now();
        await third.close();
        await h.waitFor('the probe greets the first agent after giving up on the third', () => hellosAtFirst() > greetedAgain, 15_000);
        const after = Date.now() - gone;
        assert.ok(after >= 1500, `left the third agent ${after} ms after it went away, before its giveUpMs`);
        await h.waitForSnapshots(target.pid, 2, 10_000, Date.now());
      } finally {
        await second.close();
        await third?.close();
        target.kill('SIGTERM');
        await target.exited;
      }
    });

    it('GC counts over a window match --trace-gc after attach', async (t) => {
      const exe = bin(t);
      if (!exe) return;
      const target = start(exe, ['--trace-gc', nodeFixture('gc-burst.cjs')], { stdio: ['pipe', 'pipe', 'pipe'] });
      await target.waitFor(/^ready/m);
      const result = await attachNode({
        pid: target.pid,
        socketPath: h.socketPath,
        token: h.server.issueToken(target.pid),
        intervalMs: 500,
        timeoutMs: ATTACH_TIMEOUT_MS,
      });
      assert.equal(result.ok, true, JSON.stringify(result));
      const counts = await assertGcCountsMatch(h, target);
      t.diagnostic(`minor+major GCs in the window: probe ${counts.probe}, --trace-gc ${counts.trace}`);
      assert.equal((await target.exited).code, 0);
    });

    it('a target started with --inspect keeps its inspector open', async (t) => {
      const exe = bin(t);
      if (!exe) return;
      const target = start(exe, ['--inspect=127.0.0.1:0', nodeFixture('app.cjs')], { env: { ...process.env, TICKS: '30' } });
      await target.waitFor(/^ready/m);
      const before = targetListeners(target.pid);
      assert.equal(before.length, 1, 'its own inspector');
      const result = await attach(target.pid);
      assert.equal(result.ok, true, JSON.stringify(result));
      await h.waitForSnapshots(target.pid, 1);
      assert.deepEqual(targetListeners(target.pid), before, 'its inspector is still there');
      assert.ok(await listInspectorTargets('127.0.0.1', before[0]!.port, 5000), 'and still answers');
      target.kill('SIGTERM');
      await target.exited;
    });

    it('a target that exits during the attach: says so', async (t) => {
      const exe = bin(t);
      if (!exe) return;
      const target = start(exe, [nodeFixture('exit-on-inspector.cjs')]);
      await target.waitFor(/^ready/m);
      const result = await attach(target.pid);
      assert.equal(result.ok, false);
      assert.match((result as { reason: string }).reason, /exited during attach/);
      assert.equal((await target.exited).code, 3);
    });

    it('a target that handles SIGUSR1 itself: no port appears, points to rtprof run', async (t) => {
      const exe = bin(t);
      if (!exe) return;
      const target = start(exe, [nodeFixture('own-sigusr1.cjs')]);
      await target.waitFor(/^ready/m);
      const result = await attach(target.pid, 2000);
      assert.equal(result.ok, false);
      assert.match((result as { reason: string }).reason, /no inspector port appeared.*rtprof run/);
      assert.ok(alive(target.pid));
      assert.deepEqual(targetListeners(target.pid), []);
      target.kill('SIGTERM');
      await target.exited;
      assert.match(target.stdout(), /^sigusr1 1$/m, 'its own handler ran once, as it would for any SIGUSR1');
    });

    if (major >= 22) {
      it('--disable-sigusr1: refused before any signal, target untouched', async (t) => {
        const exe = bin(t);
        if (!exe) return;
        const target = start(exe, ['--disable-sigusr1', nodeFixture('app.cjs')], { env: { ...process.env, TICKS: '30' } });
        await target.waitFor(/^ready/m);
        const result = await attach(target.pid);
        assert.equal(result.ok, false);
        assert.match((result as { reason: string }).reason, /--disable-sigusr1.*rtprof run/);
        await sleep(300);
        assert.ok(alive(target.pid), 'SIGUSR1 would have killed it: it was not sent');
        target.kill('SIGTERM');
        await target.exited;
      });
    }
  });
}

describe('node attach refusals', () => {
  it('not Node: refused, untouched', async () => {
    const target = start('sleep', ['30']);
    const result = await attachNode({ pid: target.pid, socketPath: '/tmp/none.sock', token: 'x'.repeat(32), intervalMs: 1000 });
    assert.equal(result.ok, false);
    assert.match((result as { reason: string }).reason, /is not Node\.js/);
    assert.ok(alive(target.pid));
    target.kill();
    await target.exited;
  });

  it('no such process', async () => {
    const result = await attachNode({ pid: 2 ** 22 + 1, socketPath: '/tmp/none.sock', token: 'x'.repeat(32), intervalMs: 1000 });
    assert.deepEqual(result, { ok: false, reason: `process ${2 ** 22 + 1} not found` });
  });
});
