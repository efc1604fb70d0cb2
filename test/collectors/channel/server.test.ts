// The agent's channel with real unix-socket clients: what is accepted, what is dropped and why,
// and that one bad connection never affects another.

import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { MAX_WORKER_GC_EVENTS, MAX_WORKERS } from '../../../collectors/channel/messages';
import { ChannelServer, defaultSocketPath } from '../../../collectors/channel/server';
import { ROOT } from '../../helpers/agent';
import { startHarness } from '../channel-harness';
import type { Harness } from '../channel-harness';

interface Client {
  socket: net.Socket;
  received: () => string;
  closed: Promise<void>;
  send: (...lines: string[]) => void;
}

function connect(socketPath: string): Promise<Client> {
  return new Promise((resolve, reject) => {
    const socket = net.createConnection(socketPath);
    let received = '';
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => (received += d));
    const closed = new Promise<void>((r) => socket.on('close', () => r()));
    socket.on('error', () => undefined);
    socket.once('connect', () =>
      resolve({ socket, received: () => received, closed, send: (...lines) => socket.write(lines.map((l) => l + '\n').join('')) }),
    );
    socket.once('error', reject);
  });
}

const hello = (pid: number, token: string, extra: object = {}): string =>
  JSON.stringify({
    v: 1,
    type: 'hello',
    pid,
    token,
    runtime: 'nodejs',
    runtimeVersion: '20.0.0',
    probeVersion: '0.1.0',
    attach: 'preload',
    ...extra,
  });
const snap = (pid: number, seq: number, extra: object = {}): string =>
  JSON.stringify({ v: 1, type: 'snapshot', pid, seq, t: Date.now(), eventLoop: { utilization: 0.5 }, ...extra });

const withTimeout = <T>(p: Promise<T>, ms: number, what: string): Promise<T> =>
  Promise.race([p, new Promise<T>((_, reject) => setTimeout(() => reject(new Error(`timed out: ${what}`)), ms))]);

describe('channel server', () => {
  let h: Harness;
  before(async () => {
    h = await startHarness({ maxSnapshotsPerS: 20 });
  });
  after(async () => {
    await h.close();
  });

  it('owns its socket: dir 0700, socket 0600', () => {
    assert.equal(fs.statSync(path.dirname(h.socketPath)).mode & 0o777, 0o700);
    assert.equal(fs.statSync(h.socketPath).mode & 0o777, 0o600);
  });

  it('accepts a hello with the right token and passes its snapshots on', async () => {
    const token = h.server.issueToken(4101);
    const c = await connect(h.socketPath);
    c.send(hello(4101, token), snap(4101, 1), snap(4101, 2));
    await h.waitFor('2 snapshots', () => h.snapshotsOf(4101).length === 2, 5000);
    assert.equal(h.server.isConnected(4101), true);
    assert.equal(h.hellos.filter((x) => x.pid === 4101).length, 1);
    c.socket.destroy();
    await h.waitFor('disconnect', () => h.disconnects.includes(4101), 5000);
    assert.equal(h.server.isConnected(4101), false);
  });

  it('drops bad JSON, oversize and malformed lines after hello, and keeps the connection', async () => {
    const token = h.server.issueToken(4102);
    const c = await connect(h.socketPath);
    const before = h.server.droppedCounts();
    c.send(
      hello(4102, token),
      '{not json',
      'x'.repeat(70 * 1024),
      snap(4102, -1),
      JSON.stringify({ v: 2, type: 'snapshot' }),
      snap(4102, 1),
    );
    await h.waitFor('the good snapshot', () => h.snapshotsOf(4102).length === 1, 5000);
    const now = h.server.droppedCounts();
    assert.equal(now.bad_json! - before.bad_json!, 1);
    assert.equal(now.too_long! - before.too_long!, 1);
    assert.equal(now.bad_schema! - before.bad_schema!, 1);
    assert.equal(now.bad_version! - before.bad_version!, 1);
    assert.equal(h.server.isConnected(4102), true);
    c.socket.destroy();
  });

  it('accepts a snapshot with Node worker threads; drops each malformed workers field as bad_schema', async () => {
    const token = h.server.issueToken(4110);
    const c = await connect(h.socketPath);
    const loop = { utilization: 0.9, activeS: 1, idleS: 0.1, delayNs: { min: 0, mean: 1, p50: 0, p90: 1, p99: 2, max: 120e6 } };
    const worker = (threadId: number, extra: object = {}): object => ({
      threadId,
      name: 'pool-1',
      eventLoop: loop,
      gc: [{ kind: 'minor', durationS: 0.001 }],
      gcTotals: { count: 1, byKind: { minor: { count: 1 } } },
      ...extra,
    });
    const gcEvent = { kind: 'minor', durationS: 0.001 };
    const bad: object[] = [
      { workers: Array.from({ length: MAX_WORKERS + 1 }, (_, i) => worker(i + 1)) }, // over the bound
      { workers: [worker(1), worker(1)] }, // one thread twice
      { workers: [worker(0)] }, // the main thread is not a worker
      { workers: [worker(1.5)] },
      { workers: [worker(1, { name: '' })] },
      { workers: [worker(1, { name: 'n'.repeat(129) })] },
      { workers: [worker(1, { eventLoop: { utilization: 1.5 } })] },
      { workers: [worker(1, { gc: Array.from({ length: MAX_WORKER_GC_EVENTS + 1 }, () => gcEvent) })] },
      { workers: [worker(1, { gcTotals: { count: -1 } })] },
      { workers: [worker(1, { dropped: 'x' })] },
      { workers: { threadId: 1 } },
      { workersUnavailable: '' },
      { workersUnavailable: 'x'.repeat(257) },
    ];
    const before = h.server.droppedCounts();
    const good = { workers: [worker(1), worker(7, { name: 'late', eventLoop: undefined, gc: undefined, gcTotals: undefined })] };
    c.send(hello(4110, token), ...bad.map((extra, i) => snap(4110, i + 1, extra)), snap(4110, 99, { ...good, workersUnavailable: 'why' }));
    await h.waitFor('the good snapshot', () => h.snapshotsOf(4110).length === 1, 5000);
    const now = h.server.droppedCounts();
    assert.equal(now.bad_schema! - before.bad_schema!, bad.length, 'each malformed workers field dropped, counted as bad_schema');
    const got = h.snapshotsOf(4110)[0]!;
    assert.equal(got.seq, 99);
    assert.deepEqual(
      got.workers!.map((w) => [w.threadId, w.name, w.eventLoop?.delayNs?.max]),
      [
        [1, 'pool-1', 120e6],
        [7, 'late', undefined],
      ],
    );
    assert.equal(got.workersUnavailable, 'why');
    c.socket.destroy();
  });

  it('the probe’s worker bounds are the schema’s', () => {
    // collectors/node/workers.js is the probe (plain JS in the target): its bounds must not exceed what the agent accepts.
    const probeWorkers = require(path.join(ROOT, 'collectors', 'node', 'workers.js')) as {
      MAX_WORKERS: number;
      MAX_GC_EVENTS_PER_WORKER: number;
    };
    assert.equal(probeWorkers.MAX_WORKERS, MAX_WORKERS);
    assert.equal(probeWorkers.MAX_GC_EVENTS_PER_WORKER, MAX_WORKER_GC_EVENTS);
  });

  it('rejects a wrong token and another pid’s token, and closes only those connections', async () => {
    const tokenA = h.server.issueToken(4103);
    h.server.issueToken(4104);
    const good = await connect(h.socketPath);
    good.send(hello(4103, tokenA));
    await h.waitFor('good hello', () => h.server.isConnected(4103), 5000);
    const before = h.server.droppedCounts();

    const wrongToken = await connect(h.socketPath);
    wrongToken.send(hello(4104, 'A'.repeat(32)));
    await withTimeout(wrongToken.closed, 5000, 'wrong-token connection closed');

    const stolen = await connect(h.socketPath);
    stolen.send(hello(4104, tokenA)); // 4103's token presented by "4104"
    await withTimeout(stolen.closed, 5000, 'wrong-pid connection closed');

    good.send(snap(4103, 1), snap(9999, 2)); // a snapshot naming another pid is dropped
    await h.waitFor('snapshot after rejections', () => h.snapshotsOf(4103).length === 1, 5000);
    const now = h.server.droppedCounts();
    assert.equal(now.bad_token! - before.bad_token!, 1);
    assert.equal(now.wrong_pid! - before.wrong_pid!, 2);
    assert.equal(h.server.isConnected(4103), true);
    assert.equal(h.server.isConnected(4104), false);
    assert.equal(h.snapshotsOf(9999).length, 0);
    good.socket.destroy();
  });

  it('closes a connection whose first line is not a hello (no_hello, bad_json)', async () => {
    const before = h.server.droppedCounts();
    const a = await connect(h.socketPath);
    a.send(snap(4105, 1));
    await withTimeout(a.closed, 5000, 'no-hello connection closed');
    const b = await connect(h.socketPath);
    b.send('garbage');
    await withTimeout(b.closed, 5000, 'bad-json connection closed');
    const now = h.server.droppedCounts();
    assert.equal(now.no_hello! - before.no_hello!, 1);
    assert.equal(now.bad_json! - before.bad_json!, 1);
  });

  it('rate-limits a burst to 20 snapshots per second per connection', async () => {
    const token = h.server.issueToken(4106);
    const c = await connect(h.socketPath);
    const before = h.server.droppedCounts();
    const lines = [hello(4106, token)];
    for (let i = 1; i <= 60; i++) lines.push(snap(4106, i));
    c.send(...lines);
    await h.waitFor(
      'burst processed',
      () => h.snapshotsOf(4106).length + (h.server.droppedCounts().rate_limited! - before.rate_limited!) === 60,
      5000,
    );
    const accepted = h.snapshotsOf(4106).length;
    // 20 from the full bucket, plus what refills while the burst is read (a few ms: at most ~2).
    assert.ok(accepted >= 20 && accepted <= 23, `accepted ${accepted}`);
    await new Promise((r) => setTimeout(r, 1100));
    c.send(snap(4106, 61));
    await h.waitFor('snapshot after the bucket refilled', () => h.snapshotsOf(4106).some((s) => s.seq === 61), 5000);
    c.socket.destroy();
  });

  it('revoking a token says bye and closes that probe’s connection', async () => {
    const token = h.server.issueToken(4107);
    const c = await connect(h.socketPath);
    c.send(hello(4107, token));
    await h.waitFor('hello', () => h.server.isConnected(4107), 5000);
    h.server.revokeToken(4107);
    await withTimeout(c.closed, 5000, 'revoked connection closed');
    assert.equal(c.received(), '{"v":1,"type":"bye"}\n');
    await h.waitFor('disconnect event', () => h.disconnects.includes(4107), 5000);
    const again = await connect(h.socketPath);
    again.send(hello(4107, token));
    await withTimeout(again.closed, 5000, 'revoked token refused');
  });

  it('a re-issued token replaces the old one; a reconnect replaces the old connection', async () => {
    const old = h.server.issueToken(4108);
    const fresh = h.server.issueToken(4108);
    const a = await connect(h.socketPath);
    a.send(hello(4108, old));
    await withTimeout(a.closed, 5000, 'old token refused');
    const b = await connect(h.socketPath);
    b.send(hello(4108, fresh));
    await h.waitFor('hello b', () => h.server.isConnected(4108), 5000);
    const c = await connect(h.socketPath);
    c.send(hello(4108, fresh));
    await withTimeout(b.closed, 5000, 'older connection replaced');
    assert.equal(h.server.isConnected(4108), true);
    assert.equal(h.disconnects.includes(4108), false);
    c.socket.destroy();
  });

  it('a listener that throws does not break the channel', async () => {
    const token = h.server.issueToken(4109);
    const thrower = (): void => {
      throw new Error('listener bug');
    };
    h.server.on('snapshot', thrower);
    const c = await connect(h.socketPath);
    c.send(hello(4109, token), snap(4109, 1), snap(4109, 2));
    await h.waitFor('both snapshots despite the throwing listener', () => h.snapshotsOf(4109).length === 2, 5000);
    h.server.off('snapshot', thrower);
    assert.ok(h.logs.some((l) => l.includes('listener bug')));
    c.socket.destroy();
  });
});

describe('channel server socket file', () => {
  it('replaces a stale socket, and refuses a path a live agent is using', async () => {
    const h = await startHarness();
    try {
      const second = new ChannelServer({ socketPath: h.socketPath });
      await assert.rejects(second.listen(), /in use by a running agent/);
    } finally {
      await h.server.close();
    }
    // leave a stale socket file behind: a server that is gone without unlinking
    const stale = net.createServer();
    await new Promise<void>((r) => stale.listen(h.socketPath, () => r()));
    // Closing a server unlinks its socket; move the file away first so it survives as a stale one.
    fs.renameSync(h.socketPath, h.socketPath + '.keep');
    await new Promise<void>((r) => stale.close(() => r()));
    fs.renameSync(h.socketPath + '.keep', h.socketPath);
    assert.ok(fs.statSync(h.socketPath).isSocket());
    const third = new ChannelServer({ socketPath: h.socketPath });
    await third.listen();
    await third.close();
    await h.close();
  });

  it('defaults to a per-user runtime dir', () => {
    const saved = process.env.XDG_RUNTIME_DIR;
    try {
      process.env.XDG_RUNTIME_DIR = '/run/user/1000';
      assert.equal(defaultSocketPath(77), '/run/user/1000/rtprof/agent-77.sock');
      delete process.env.XDG_RUNTIME_DIR;
      assert.match(defaultSocketPath(77), /\/rtprof-\d+\/agent-77\.sock$/);
    } finally {
      if (saved === undefined) delete process.env.XDG_RUNTIME_DIR;
      else process.env.XDG_RUNTIME_DIR = saved;
    }
  });
});
