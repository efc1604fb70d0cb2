// The inspector window: opening a running Node's inspector (SIGUSR1) lets every process in its
// network namespace run code as its user while the attach lasts. A root agent no longer opens it
// for a process of another uid in its own network namespace unless told to (--inspector-attach
// any); it says so in one line and keeps serving its other targets. A target in a network namespace
// of its own (a container) is attached as before: only that namespace can reach the window.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RTPROF, rtprof, startAgent, type RunningAgent } from '../../helpers/agent';
import { start, until, type Started } from '../../helpers/processes';
import { recordCase } from '../../helpers/reliability';

const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];
const NODE_TARGET = 'setInterval(() => {}, 50); console.log("ready")';
const CODE = 'RTPROF_ERR_INSPECTOR_OTHER_USER';
const skip = process.geteuid?.() !== 0 && 'needs root (plays uid 65534 with setpriv)';

type Info = { pid: number; probe: { state: string; message: string | null; code?: string } };

async function probeOf(agent: RunningAgent, pid: number, done: (p: Info['probe']) => boolean): Promise<Info['probe']> {
  return until(
    () => `pid ${pid}'s probe to settle; agent log: ${agent.stderr()}`,
    async () => {
      const info = ((await (await agent.get('/api/targets')).json()) as Info[]).find((t) => t.pid === pid);
      return info && done(info.probe) ? info.probe : undefined;
    },
    20_000,
    200,
  );
}

async function nobodyNode(): Promise<Started> {
  const p = start('setpriv', [...asNobody, process.execPath, '-e', NODE_TARGET]);
  await p.waitFor(/ready/);
  return p;
}

test(
  'a root agent does not open the inspector of another uid on its network namespace; its own targets still attach',
  { skip },
  async () => {
    const other = await nobodyNode();
    const own = start(process.execPath, ['-e', NODE_TARGET]);
    await own.waitFor(/ready/);
    const agent = await startAgent(['--pid', String(other.pid), '--pid', String(own.pid), '--interval', '500ms']);
    try {
      const refused = await probeOf(agent, other.pid, (p) => p.state === 'failed');
      assert.equal(refused.code, CODE);
      const line = new RegExp(
        `attach failed: not opening pid ${other.pid}'s Node inspector: it runs as uid 65534, not the agent's uid 0.*rtprof run -- node.*--inspector-attach any`,
      );
      assert.match(agent.stderr(), line);
      assert.equal(agent.stderr().match(line)![0].includes('\n'), false, 'one line');
      const connected = await probeOf(agent, own.pid, (p) => p.state === 'connected');
      assert.equal(connected.state, 'connected', 'the same-uid target attaches');
      // Still watched from /proc, and the inspector was never opened in it.
      assert.match(await agent.scrape(), new RegExp(`process_cpu_time_seconds_total\\{[^}]*process_pid="${other.pid}"`));
      assert.doesNotMatch(other.stderr(), /Debugger listening/);
      const ps = rtprof(['ps', '--json']);
      await ps.exited;
      const row = (JSON.parse(ps.stdout()) as Array<{ pid: number; attachable: boolean; how: string }>).find((r) => r.pid === other.pid);
      assert.deepEqual(
        row && { attachable: row.attachable, how: row.how },
        { attachable: false, how: 'other uid: preload it, or --inspector-attach any' },
        'rtprof ps says so too',
      );
      recordCase(
        'inspector-other-uid',
        `not signalled: \`attach failed\` with ${CODE} in one line, watched from /proc; the agent's own-uid target connected; \`rtprof ps\`: not attachable`,
      );
    } finally {
      await agent.stop();
      other.kill();
      own.kill();
    }
  },
);

// A setuid Node (real uid the agent's, effective another) runs the inspector's code as the
// effective uid: `rtprof ps` and the attach judge it by the same rule, both uids.
test('a Node whose effective uid is another: rtprof ps says not attachable, and the attach refuses with the code', { skip }, async () => {
  const target = start('setpriv', ['--euid=65534', '--egid=65534', '--clear-groups', process.execPath, '-e', NODE_TARGET]);
  try {
    await target.waitFor(/ready/);
    const ps = rtprof(['ps', '--json']);
    await ps.exited;
    const row = (JSON.parse(ps.stdout()) as Array<{ pid: number; attachable: boolean; how: string }>).find((r) => r.pid === target.pid);
    assert.deepEqual(row && { attachable: row.attachable, how: row.how }, {
      attachable: false,
      how: 'other uid: preload it, or --inspector-attach any',
    });
    const cli = rtprof(['profile', '--pid', String(target.pid), '--duration', '1s', '--json']);
    await cli.exited;
    assert.match(cli.stderr(), new RegExp(`${CODE}|it runs as uid 65534, not the agent's uid 0`));
    assert.doesNotMatch(target.stderr(), /Debugger listening/);
  } finally {
    target.kill();
  }
});

test('--inspector-attach any attaches to a Node process of another uid, as before', { skip }, async () => {
  const other = await nobodyNode();
  const agent = await startAgent(['--pid', String(other.pid), '--interval', '500ms', '--inspector-attach', 'any']);
  try {
    const probe = await probeOf(agent, other.pid, (p) => p.state === 'connected' || p.state === 'failed');
    assert.equal(probe.state, 'connected', `probe: ${JSON.stringify(probe)}`);
    assert.match(other.stderr(), /Debugger listening/, 'the inspector was opened (and closed)');
    recordCase('inspector-any', 'connected (through the inspector, as before)');
  } finally {
    await agent.stop();
    other.kill();
  }
});

test('a Node process of another uid in a network namespace of its own is attached by default', { skip }, async () => {
  // unshare execs sh, which execs setpriv, which execs node: one pid throughout.
  const other = start('unshare', [
    '--net',
    'sh',
    '-c',
    `ip link set lo up && exec setpriv ${asNobody.join(' ')} "$0" -e '${NODE_TARGET}'`,
    process.execPath,
  ]);
  await other.waitFor(/ready/);
  const agent = await startAgent(['--pid', String(other.pid), '--interval', '500ms']);
  try {
    const probe = await probeOf(agent, other.pid, (p) => p.state === 'connected' || p.state === 'failed');
    assert.equal(probe.state, 'connected', `probe: ${JSON.stringify(probe)}`);
    recordCase('inspector-own-netns', 'connected by default');
  } finally {
    await agent.stop();
    other.kill();
  }
});

test('rtprof profile --pid of another uid: one line with the code, then the /proc report', { skip }, async () => {
  const other = await nobodyNode();
  try {
    const cli = rtprof(['profile', '--pid', String(other.pid), '--duration', '2s', '--json']);
    const [line] = await cli.waitFor(
      new RegExp(`rtprof: no probe \\(${CODE}\\): .*--inspector-attach any; profiling from /proc only`),
      10_000,
    );
    assert.equal(line.includes('\n'), false);
    assert.equal((await cli.exited).code, 0);
    assert.doesNotMatch(other.stderr(), /Debugger listening/);
  } finally {
    other.kill();
  }
});

test("an agent in a network namespace of its own (a pod) and a target of another uid on the host's: still refused", { skip }, async () => {
  // The target is in another namespace than the agent, but in the host's (pid 1's), which every
  // local user shares: a DaemonSet without hostNetwork watching host processes through hostPID.
  const other = await nobodyNode();
  try {
    const cli = start('unshare', ['--net', RTPROF, 'profile', '--pid', String(other.pid), '--duration', '1s', '--json']);
    await cli.waitFor(new RegExp(`rtprof: no probe \\(${CODE}\\): .*host's network namespace`), 10_000);
    assert.equal((await cli.exited).code, 0);
    assert.doesNotMatch(other.stderr(), /Debugger listening/);
    recordCase('inspector-host-netns', `not signalled: ${CODE}, profiled from /proc`);
  } finally {
    other.kill();
  }
});

test('--inspector-attach accepts only same-user or any', async () => {
  const cli = rtprof(['agent', '--pid', String(process.pid), '--inspector-attach', 'everyone']);
  await cli.waitFor(/--inspector-attach expects same-user or any, got 'everyone'/);
  assert.equal((await cli.exited).code, 2);
});
