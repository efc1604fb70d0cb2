// A root agent watching processes of another user: their probes must reach it (its own socket dir
// is 0700, so before they were injected and then retried connect() inside the target for minutes,
// leaving their attach marker behind). Each gets a socket of its own, owned by its uid; nothing of
// rtprof's is left in /tmp once the agent stops.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import { test } from 'node:test';
import { startAgent } from '../../helpers/agent';
import { PYTHON, start, until } from '../../helpers/processes';
import { recordCase } from '../../helpers/reliability';

const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];

type Info = { pid: number; probe: { state: string; message: string | null; snapshots: number } };

/** rtprof's names in /tmp that belong to this agent or these targets. */
function leftovers(agentPid: number, pids: number[]): string[] {
  return fs
    .readdirSync('/tmp')
    .filter((n) => n.startsWith(`rtprof-${agentPid}-`) || pids.some((pid) => n.startsWith(`rtprof-attach-${pid}-`)));
}

test(
  'a root agent attaches to Node and Python processes of another uid and leaves nothing behind',
  { skip: process.geteuid?.() !== 0 && 'needs root' },
  async () => {
    const node = start('setpriv', [...asNobody, process.execPath, '-e', 'setInterval(() => {}, 50); console.log("ready")']);
    const python = start('setpriv', [...asNobody, PYTHON, '-u', '-c', 'import time\nprint("ready")\nwhile True: time.sleep(0.05)']);
    await Promise.all([node.waitFor(/ready/), python.waitFor(/ready/)]);
    const pids = [node.pid, python.pid];
    // Opening the inspector of another uid's Node is an opt-in (test/collectors/node/inspector-window.test.ts).
    const began = Date.now();
    const agent = await startAgent([
      '--pid',
      String(node.pid),
      '--pid',
      String(python.pid),
      '--interval',
      '500ms',
      '--inspector-attach',
      'any',
    ]);
    try {
      for (const pid of pids) {
        const probe = await until(
          () => `pid ${pid}'s probe to send snapshots; agent log: ${agent.stderr()}`,
          async () => {
            const info = ((await (await agent.get('/api/targets')).json()) as Info[]).find((t) => t.pid === pid)!;
            return info.probe.state === 'connected' && info.probe.snapshots >= 2 ? info.probe : undefined;
          },
          25_000,
          200,
        );
        assert.equal(probe.state, 'connected');
      }
      assert.match(
        agent.stderr(),
        new RegExp(`target ${node.pid} runs as uid 65534: its probe connects to /tmp/rtprof-\\d+-\\w+/agent.sock`),
      );
    } finally {
      await agent.stop();
    }
    assert.deepEqual(leftovers(agent.pid, pids), [], 'no socket dir or attach marker left in /tmp');
    recordCase(
      'other-uid-channel',
      `both \`connected\` with snapshots in ${((Date.now() - began) / 1000).toFixed(1)} s (agent start to stop); nothing \`rtprof-*\` of the agent or the targets left in \`/tmp\` after stop`,
    );
    node.kill();
    python.kill();
  },
);

test('a probe still pending (idle CPython) when the agent stops leaves no attach marker', async () => {
  // One blocking call on the main thread: the load is queued and runs only when Python runs again.
  const python = start(PYTHON, ['-u', '-c', 'import time\nprint("ready")\ntime.sleep(120)']);
  await python.waitFor(/ready/);
  const agent = await startAgent(['--pid', String(python.pid), '--interval', '500ms']);
  try {
    await until(
      () => `the probe to be pending; agent log: ${agent.stderr()}`,
      async () => {
        const info = ((await (await agent.get('/api/targets')).json()) as Info[]).find((t) => t.pid === python.pid)!;
        return info.probe.state === 'pending' ? info : undefined;
      },
      20_000,
      200,
    );
    assert.equal(leftovers(agent.pid, [python.pid]).length, 1, 'its marker is there while the probe is pending');
  } finally {
    await agent.stop();
  }
  assert.deepEqual(leftovers(agent.pid, [python.pid]), [], 'no marker left after the agent stopped');
  recordCase('pending-marker', 'marker there while pending; removed by the agent when it stops');
  python.kill();
});
