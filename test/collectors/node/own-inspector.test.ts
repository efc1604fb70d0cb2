// The inspector port around an attach. After SIGUSR1 rtprof closes only the inspector it opened: a
// target whose own code answers SIGUSR1 by opening an inspector on another port keeps it (before,
// rtprof took that port for its own, ran the probe through it and closed it, and closed any
// inspector opening in the next 60 s). And a listener on [::1] at the debug port does not stop an
// attach: SIGUSR1 binds 127.0.0.1. A debug port taken for a moment (another attach) is waited for.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { startAgent } from '../../helpers/agent';
import { sleep, start, until } from '../../helpers/processes';
import { nodeFixture } from '../../helpers/spawn';
import { recordCase } from '../../helpers/reliability';

async function inspectorAnswers(port: string): Promise<boolean> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/json/version`, { signal: AbortSignal.timeout(1000) });
    return res.ok;
  } catch {
    return false;
  }
}

test("the application's own inspector, opened on SIGUSR1, is neither used nor closed", async () => {
  const target = start(process.execPath, [nodeFixture('own-inspector.cjs')]);
  await target.waitFor(/^ready/m);
  const agent = await startAgent(['--pid', String(target.pid)]);
  const began = Date.now();
  try {
    const [, port] = await target.waitFor(/^opened (\d+)/m, 15_000);
    type Info = { pid: number; probe: { state: string; message: string | null } };
    const probe = await until(
      'the attach to give up',
      async () => {
        const p = ((await (await agent.get('/api/targets')).json()) as Info[]).find((t) => t.pid === target.pid)!.probe;
        return p.state === 'failed' ? p : undefined;
      },
      20_000,
      200,
    );
    assert.match(probe.message ?? '', /no inspector port appeared/);
    // The late-inspector watch polls every 200 ms: 1.5 s is seven chances to (wrongly) close it.
    await sleep(1500);
    const failedAfter = (Date.now() - began) / 1000 - 1.5;
    assert.equal(await inspectorAnswers(port!), true, `the app's inspector on port ${port} is still open`);
    recordCase(
      'own-inspector',
      `attach fails after ${failedAfter.toFixed(1)} s (\`no inspector port appeared\`); the app's inspector still answers 1.5 s later`,
    );
  } finally {
    await agent.stop();
    target.kill();
  }
});

test('a listener on [::1] at the debug port: the attach still goes through 127.0.0.1', async (t) => {
  // Port 9339, not 9229: a listener on the default port would make other agents on this host refuse.
  const port = 9339;
  const v6 = net.createServer();
  const listening = await new Promise<boolean>((resolve) => {
    v6.once('error', () => resolve(false));
    v6.listen({ host: '::1', port, ipv6Only: true }, () => resolve(true));
  });
  if (!listening) return t.skip(`cannot listen on [::1]:${port} here`);
  const target = start(process.execPath, [`--inspect-port=${port}`, '-e', 'setInterval(() => {}, 100); console.log("ready")']);
  await target.waitFor(/ready/);
  const agent = await startAgent(['--pid', String(target.pid)]);
  try {
    type Info = { pid: number; probe: { state: string; message: string | null } };
    const probe = await until(
      'the probe to connect or fail',
      async () => {
        const p = ((await (await agent.get('/api/targets')).json()) as Info[]).find((x) => x.pid === target.pid)!.probe;
        return p.state === 'connected' || p.state === 'failed' ? p : undefined;
      },
      20_000,
      200,
    );
    assert.equal(probe.state, 'connected', probe.message ?? '');
    recordCase('debug-port-v6', 'connected');
  } finally {
    await agent.stop();
    target.kill();
    v6.close();
  }
});

/** Holds 127.0.0.1:port, as another attach in progress or a debugger would. */
async function holdPort(port: number): Promise<net.Server | undefined> {
  const server = net.createServer();
  const ok = await new Promise<boolean>((resolve) => {
    server.once('error', () => resolve(false));
    server.listen({ host: '127.0.0.1', port }, () => resolve(true));
  });
  return ok ? server : undefined;
}

async function probeOutcome(
  agent: Awaited<ReturnType<typeof startAgent>>,
  pid: number,
): Promise<{ state: string; message: string | null }> {
  type Info = { pid: number; probe: { state: string; message: string | null } };
  return until(
    'the probe to connect or fail',
    async () => {
      const p = ((await (await agent.get('/api/targets')).json()) as Info[]).find((x) => x.pid === pid)?.probe;
      return p && (p.state === 'connected' || p.state === 'failed') ? p : undefined;
    },
    20_000,
    100,
  );
}

test('the debug port taken for a moment (another attach in progress): the attach waits for it; taken for good: one line', async (t) => {
  // Not 9229: a listener on the default port would hold up other agents' attaches on this host.
  const port = 9341;
  const script = 'setInterval(() => {}, 100); console.log("ready")';
  const brief = await holdPort(port);
  if (!brief) return t.skip(`cannot listen on 127.0.0.1:${port} here`);
  const first = start(process.execPath, [`--inspect-port=${port}`, '-e', script]);
  await first.waitFor(/ready/);
  let agent = await startAgent(['--pid', String(first.pid)]);
  try {
    setTimeout(() => brief.close(), 800);
    const probe = await probeOutcome(agent, first.pid);
    assert.equal(probe.state, 'connected', probe.message ?? '');
  } finally {
    await agent.stop();
    first.kill();
    brief.close();
  }
  const held = await holdPort(port);
  if (!held) return t.skip(`cannot listen on 127.0.0.1:${port} again`);
  const second = start(process.execPath, [`--inspect-port=${port}`, '-e', script]);
  await second.waitFor(/ready/);
  agent = await startAgent(['--pid', String(second.pid)]);
  try {
    const probe = await probeOutcome(agent, second.pid);
    assert.equal(probe.state, 'failed');
    assert.match(probe.message ?? '', /inspector port 9341 is taken by another process; free it, or/);
  } finally {
    await agent.stop();
    second.kill();
    held.close();
  }
});
