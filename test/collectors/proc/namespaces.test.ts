// The namespace layer on real processes in namespaces the test makes: what it reads of a target's
// namespaces, the directory it makes in a target's private /tmp (where, whose, what mode), and the
// socket made for one target: only that target may say hello there, by its own pid or by the pid
// it has in its own pid namespace.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { InsideSockets } from '../../../collectors/channel/inside';
import { createTargetDir, namespaceView, needsInsideChannel } from '../../../collectors/proc/namespaces';
import { start, until } from '../../helpers/processes';
import type { Started } from '../../helpers/processes';
import { startHarness } from '../channel-harness';
import type { Harness } from '../channel-harness';

const isRoot = process.getuid?.() === 0;
const NOBODY = 65534;

/** `sleep` in a new mount namespace with its own tmpfs /tmp, as uid 65534; resolves with its pid as we see it. */
async function sleeper(extra: string[] = []): Promise<{ p: Started; pid: number }> {
  const p = start('unshare', [
    ...extra,
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    `mount -t tmpfs tmpfs /tmp && echo ready && exec setpriv --reuid=${NOBODY} --regid=${NOBODY} --clear-groups sleep 60`,
  ]);
  await p.waitFor(/^ready/m);
  const findSleep = async (): Promise<number | undefined> => {
    const pids = extra.includes('--fork') ? fs.readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8').trim() : String(p.pid);
    const pid = Number(pids.split(/\s+/)[0]);
    return pid > 0 && fs.readFileSync(`/proc/${pid}/comm`, 'utf8').trim() === 'sleep' ? pid : undefined;
  };
  return { p, pid: await until('sleep started', findSleep, 5000, 20) };
}

function hello(pid: number, token: string): string {
  const msg = { v: 1, type: 'hello', pid, token, runtime: 'nodejs', runtimeVersion: '20.0.0', probeVersion: '0.1.0', attach: 'inspector' };
  return JSON.stringify(msg) + '\n';
}

/** Connects to a socket path, sends one line, resolves once the server closed it or after 1 s. */
function sayHello(socketPath: string, line: string): Promise<{ closed: boolean }> {
  return new Promise((resolve) => {
    const socket = net.createConnection(socketPath, () => socket.write(line));
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({ closed: false });
    }, 1000);
    socket.on('close', () => {
      clearTimeout(timer);
      resolve({ closed: true });
    });
    socket.on('error', () => undefined);
  });
}

describe('namespaces', { skip: isRoot ? false : 'needs root to make namespaces' }, () => {
  let h: Harness;
  before(async () => {
    h = await startHarness();
  });
  after(async () => {
    await h?.close();
  });

  it('our own process: every namespace shared, its own pid, no inside channel', () => {
    const view = namespaceView(process.pid);
    assert.deepEqual(view.same, { mnt: true, net: true, pid: true, user: true });
    assert.equal(view.nsPid, process.pid);
    assert.equal(needsInsideChannel(view), false);
  });

  it("a private /tmp: the directory is made in the target's /tmp (not ours), the agent's with mode 0711, its m/ the target user's", async () => {
    const { p, pid } = await sleeper();
    try {
      const view = namespaceView(pid);
      assert.deepEqual({ mnt: view.same.mnt, net: view.same.net, pid: view.same.pid }, { mnt: false, net: true, pid: true });
      assert.equal(view.uid, NOBODY);
      assert.equal(needsInsideChannel(view), true);
      const dir = createTargetDir(view);
      assert.match(dir.inTarget, /^\/tmp\/rtprof-\d+-[0-9a-f]{8}$/);
      assert.equal(dir.onHost, `/proc/${pid}/root${dir.inTarget}`);
      assert.equal(fs.existsSync(dir.inTarget), false, 'not in our own /tmp');
      const st = fs.statSync(dir.onHost);
      assert.deepEqual({ uid: st.uid, mode: st.mode & 0o777 }, { uid: 0, mode: 0o711 });
      assert.equal(fs.statSync(path.join(dir.onHost, 'm')).uid, NOBODY);
      const placed = dir.place(__filename, 'copy.js');
      assert.equal(placed, path.join(dir.inTarget, 'copy.js'));
      assert.equal(dir.place(__filename, 'copy.js'), placed, 'placed once');
      const copy = fs.statSync(path.join(dir.onHost, 'copy.js'));
      assert.deepEqual({ uid: copy.uid, mode: copy.mode & 0o777 }, { uid: NOBODY, mode: 0o600 });
      assert.equal(fs.readFileSync(path.join(dir.onHost, 'copy.js'), 'utf8'), fs.readFileSync(__filename, 'utf8'));
      const [inTarget, onHost] = dir.freshName('rtprof-attach-', '.marker');
      assert.equal(onHost, `/proc/${pid}/root${inTarget}`);
      assert.match(inTarget, /^\/tmp\/rtprof-\d+-[0-9a-f]{8}\/m\/rtprof-attach-[0-9a-f]{12}\.marker$/);
      dir.remove();
      assert.deepEqual(fs.readdirSync(`/proc/${pid}/root/tmp`), []);
    } finally {
      p.kill();
    }
  });

  it('a target that exited: its directory is removed through another process of its container', async () => {
    // The target (pid of sleep 60 below) shares its mount namespace with a sibling sleep.
    const p = start('unshare', [
      '--mount',
      '--propagation',
      'private',
      'sh',
      '-c',
      'mount -t tmpfs tmpfs /tmp && sleep 60 & sleep 0.2; echo ready; exec sleep 60',
    ]);
    try {
      await p.waitFor(/^ready/m);
      const sibling = Number(fs.readFileSync(`/proc/${p.pid}/task/${p.pid}/children`, 'utf8').trim().split(/\s+/)[0]);
      assert.ok(sibling > 0);
      const dir = createTargetDir(namespaceView(p.pid));
      assert.ok(fs.existsSync(`/proc/${sibling}/root${dir.inTarget}`), 'the sibling sees the directory');
      process.kill(p.pid, 'SIGKILL');
      await p.exited;
      dir.remove();
      assert.equal(fs.existsSync(`/proc/${sibling}/root${dir.inTarget}`), false, 'removed through the sibling');
    } finally {
      p.kill();
    }
  });

  it("the socket made for a target takes a hello for that target only, also by its own pid namespace's pid, and goes with close()", async () => {
    const { p, pid } = await sleeper(['--pid', '--fork', '--mount-proc']);
    const inside = new InsideSockets(h.server, (l) => h.logs.push(l));
    try {
      const view = namespaceView(pid);
      assert.equal(view.nsPid, 1, 'the target is pid 1 in its own pid namespace');
      const reach = await inside.reach(pid);
      assert.match(reach.socketPath, /^\/tmp\/rtprof-\d+-[0-9a-f]{8}\/agent\.sock$/);
      assert.equal((await inside.reach(pid)).socketPath, reach.socketPath, 'one socket per target');
      const onHost = `/proc/${pid}/root${reach.socketPath}`;
      const sock = fs.statSync(onHost);
      assert.deepEqual({ socket: sock.isSocket(), uid: sock.uid, mode: sock.mode & 0o777 }, { socket: true, uid: NOBODY, mode: 0o600 });

      const other = pid + 100_000;
      const otherToken = h.server.issueToken(other);
      const refused = await sayHello(onHost, hello(other, otherToken));
      assert.equal(refused.closed, true, 'a hello for another pid is refused there');
      assert.equal(
        h.hellos.some((x) => x.pid === other),
        false,
      );
      assert.ok((h.server.droppedCounts().wrong_pid ?? 0) >= 1);

      const token = h.server.issueToken(pid);
      const accepted = await sayHello(onHost, hello(1, token));
      assert.equal(accepted.closed, false, 'its own hello (pid 1 in its namespace) is accepted');
      assert.ok(
        h.hellos.some((x) => x.pid === pid),
        'and read as the agent-side pid',
      );

      inside.close(pid);
      assert.equal(fs.existsSync(path.dirname(onHost)), false, 'its directory is removed');
    } finally {
      inside.closeAll();
      p.kill();
    }
  });
});
