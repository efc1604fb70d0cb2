// Cluster workers are separate processes: the agent attaches to each (one at a time: the
// inspector port is shared per network namespace) and leaves no debug port open.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { test } from 'node:test';
import { targetListeners } from '../collectors/node/target-facts';
import { ROOT, rtprof, startAgent } from './helpers/agent';
import { sleep, start } from './helpers/processes';

/** Ports a process itself listens on (its own sockets, not the whole network namespace's). */
const portsOf = (pid: number): number[] =>
  targetListeners(pid)
    .map((l) => l.port)
    .sort();

test('each cluster worker gets its own probe; no inspector port stays open', async () => {
  const primary = start(process.execPath, [join(ROOT, 'test/fixtures/node/cluster.cjs')]);
  await primary.waitFor(/worker (\d+) ready[\s\S]*worker (\d+) ready/);
  const workers = [...primary.stdout().matchAll(/worker (\d+) ready/g)].map((m) => Number(m[1]));
  assert.equal(workers.length, 2);
  // Round-robin cluster: the primary holds the listening socket, the workers none of their own.
  const before = [primary.pid, ...workers].map(portsOf);
  const agent = await startAgent(['--pid', String(workers[0]), '--pid', String(workers[1]), '--interval', '500ms']);
  type T = { pid: number; probe: { state: string; method: string; snapshots: number } };
  let targets: T[] = [];
  for (let i = 0; i < 60; i++) {
    targets = (await (await agent.get('/api/targets')).json()) as T[];
    if (targets.length === 2 && targets.every((t) => t.probe.state === 'connected' && t.probe.snapshots > 0)) break;
    await sleep(250);
  }
  assert.deepEqual(
    targets.map((t) => [t.pid, t.probe.state, t.probe.method]).sort(),
    workers.map((p) => [p, 'connected', 'inspector']).sort(),
  );
  const text = await agent.scrape();
  for (const pid of workers) assert.match(text, new RegExp(`nodejs_eventloop_delay_p99_seconds\\{process_pid="${pid}"`));
  assert.deepEqual(
    [primary.pid, ...workers].map(portsOf),
    before,
    'every process listens on exactly what it did before: no inspector port left open',
  );
  assert.equal(before[0]!.length, 1, 'the primary holds the HTTP port');
  await agent.stop();
  primary.kill('SIGTERM');
});

// A cluster primary passes SIGUSR1 on to its workers (Node's cluster module does, when its
// inspector opens), so attaching the primary makes a busy worker open its own inspector a moment
// after we closed the primary's: the attach must close it, not take it for one the application
// opened and leave it holding the debug port that the worker's sibling then cannot get.
test('profiling a busy cluster from its primary probes every worker and leaves no debug port, three times over', async () => {
  const primary = start(process.execPath, [join(ROOT, 'test/fixtures/node/cluster-spin.cjs')]);
  try {
    const [, , list] = await primary.waitFor(/READY pid=(\d+) workers=([\d,]+)/);
    const workers = list!.split(',').map(Number);
    const all = [primary.pid, ...workers];
    const before = all.map(portsOf);
    for (let run = 0; run < 3; run++) {
      const cli = rtprof(['profile', '--pid', String(primary.pid), '--duration', '2s', '--json']);
      const { code } = await cli.exited;
      assert.equal(code, 0, cli.stderr());
      assert.doesNotMatch(cli.stderr(), /attach failed/, `run ${run}`);
      const connected = [...cli.stderr().matchAll(/target (\d+) \([^)]*\): probe connected/g)].map((m) => Number(m[1]));
      assert.deepEqual(connected.sort(), [...all].sort(), `run ${run}: every process of the tree has a probe`);
      // A forwarded inspector is closed within a fraction of a second of opening.
      let now = all.map(portsOf);
      for (let i = 0; i < 20 && JSON.stringify(now) !== JSON.stringify(before); i++) {
        await sleep(100);
        now = all.map(portsOf);
      }
      assert.deepEqual(now, before, `run ${run}: no process listens on a debug port`);
    }
  } finally {
    primary.kill('SIGTERM');
    await primary.exited;
  }
});
