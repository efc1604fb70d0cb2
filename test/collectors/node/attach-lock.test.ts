// The Node attach lock between agents: a lock file another user left or planted must neither make
// an unprivileged agent spin (it could not remove a dead holder's file from sticky /tmp and looped
// without sleeping, never serving HTTP) nor block its attaches (a live pid written by anyone). Each
// case runs in a temp dir of its own (TMPDIR), so no other agent on the host is disturbed.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { describe, it } from 'node:test';
import { RTPROF } from '../../helpers/agent';
import { start, sleep, until } from '../../helpers/processes';
import type { Started } from '../../helpers/processes';
import { recordCase } from '../../helpers/reliability';

const NOBODY = 65534;
const isRoot = process.geteuid?.() === 0;
const asNobody = ['--reuid=65534', '--regid=65534', '--clear-groups'];

interface Case {
  tmp: string;
  env: NodeJS.ProcessEnv;
}

/** A sticky temp dir like /tmp, owned by root, for one case. */
function freshTmp(): Case {
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'rtprof-lock-'));
  fs.chmodSync(tmp, 0o1777);
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmp };
  delete env.XDG_RUNTIME_DIR;
  return { tmp, env };
}

function nodeTargetAsNobody(c: Case): Started {
  return start('setpriv', [...asNobody, process.execPath, '-e', 'setInterval(() => {}, 100); console.log("ready")'], { env: c.env });
}

function agentAsNobody(c: Case, pid: number, extra: string[] = []): Started {
  return start('setpriv', [...asNobody, RTPROF, 'agent', '--pid', String(pid), '--port', '0', '--interval', '500ms', ...extra], {
    env: c.env,
  });
}

/** CPU seconds (user + system) the process has used, from /proc/PID/stat. */
function cpuS(pid: number): number {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

type Probe = { state: string; message: string | null };
async function probeOf(url: string, pid: number): Promise<Probe> {
  const targets = (await (await fetch(`${url}/api/targets`)).json()) as Array<{ pid: number; probe: Probe }>;
  return targets.find((t) => t.pid === pid)!.probe;
}

describe('Node attach lock', { skip: !isRoot && 'needs root to play two users' }, () => {
  // The lock file of the host-wide name in the shared temp dir, owned by root (another user than
  // the agent's), naming a holder that is dead or alive.
  for (const holder of ['dead', 'alive'] as const) {
    it(`a root-owned lock in the shared temp dir with a ${holder} holder: the unprivileged agent serves, sleeps and attaches`, async (t) => {
      const c = freshTmp();
      const sleeper = start('sleep', ['60']);
      const pid = holder === 'alive' ? sleeper.pid : 0x3ffffe; // above pid_max's default: never alive
      fs.writeFileSync(path.join(c.tmp, 'rtprof-node-attach.lock'), `${pid}\n`, { mode: 0o644 });
      const target = nodeTargetAsNobody(c);
      await target.waitFor(/ready/);
      const agent = agentAsNobody(c, target.pid);
      try {
        const [, url] = await agent.waitFor(/serving (http:\/\/[^ ]+)\/metrics/, 20_000);
        const probe = await until(
          () => `probe connected (last: ${agent.stderr()})`,
          async () => {
            const p = await probeOf(url!, target.pid);
            return p.state === 'connected' ? p : undefined;
          },
          20_000,
          200,
        );
        assert.equal(probe.state, 'connected');
        // Not spinning: over 2 s the agent uses well under a core (it polls /proc at 2 Hz).
        const cpu0 = cpuS(agent.pid);
        await sleep(2000);
        const cpu = cpuS(agent.pid) - cpu0;
        t.diagnostic(`agent CPU over 2 s: ${cpu.toFixed(2)} s`);
        assert.ok(cpu < 0.5, `agent used ${cpu.toFixed(2)} CPU s in 2 s`);
        recordCase(`lock-${holder}`, `serves; probe connected; agent CPU ${cpu.toFixed(2)} s over 2 s`);
      } finally {
        agent.kill('SIGTERM');
        await agent.exited;
        target.kill();
        sleeper.kill();
        fs.rmSync(c.tmp, { recursive: true, force: true });
      }
    });
  }

  it("a lock dir planted by another user: the attach fails in one clear line, within the attach's time, without spinning", async () => {
    const c = freshTmp();
    const planted = path.join(c.tmp, `rtprof-${NOBODY}`);
    fs.mkdirSync(planted, { mode: 0o755 }); // root's: the nobody agent must not trust it
    const sockDir = fs.mkdtempSync(path.join(c.tmp, 'sock-'));
    fs.chownSync(sockDir, NOBODY, NOBODY);
    const target = nodeTargetAsNobody(c);
    await target.waitFor(/ready/);
    const agent = agentAsNobody(c, target.pid, ['--socket', path.join(sockDir, 'a.sock')]);
    try {
      const [, url] = await agent.waitFor(/serving (http:\/\/[^ ]+)\/metrics/, 20_000);
      const began = Date.now();
      const probe = await until(
        'the attach to fail',
        async () => {
          const p = await probeOf(url!, target.pid);
          return p.state === 'failed' ? p : undefined;
        },
        15_000,
        200,
      );
      assert.ok(Date.now() - began < 12_000, `failed after ${Date.now() - began} ms`);
      assert.match(probe.message ?? '', /Node attach lock's directory is unsafe: .*rtprof-65534 belongs to uid 0, not to us \(uid 65534\)/);
      assert.equal((probe.message ?? '').includes('\n'), false);
      recordCase(
        'lock-dir-planted',
        `attach failed within ${((Date.now() - began) / 1000).toFixed(1)} s of \`serving\`, one line \`the Node attach lock's directory is unsafe: … belongs to uid 0 …\``,
      );
    } finally {
      agent.kill('SIGTERM');
      await agent.exited;
      target.kill();
      fs.rmSync(c.tmp, { recursive: true, force: true });
    }
  });
});
