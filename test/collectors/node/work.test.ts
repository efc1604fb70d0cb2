// The Node probe's work tracker (collectors/node/work.js) in this very process, on a real HTTP
// server and real requests: busy time, the loop's idle time while requests were in flight, and that
// idle time weighted by the requests in flight.
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { test } from 'node:test';

interface WorkSample {
  inFlight: number;
  completed: number;
  busyS: number;
  idleBusyMs?: number;
  idleRequestMs?: number;
}
interface Tracker {
  sample(): WorkSample;
  stop(): void;
}
const { createWorkTracker } = require('../../../../collectors/node/work.js') as { createWorkTracker: () => Tracker | null };

const get = (port: number, path: string): Promise<void> =>
  new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve());
      })
      .on('error', reject);
  });

test('two requests waiting 300 ms together: idle while in flight ≈ 300 ms, per request ≈ 600 ms', async () => {
  const tracker = createWorkTracker();
  assert.ok(tracker, 'diagnostics_channel is available');
  // Each request waits on a timer: the loop is idle (in its poll) for nearly all of it.
  const server = http.createServer((req, res) => setTimeout(() => res.end('ok'), 300));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const before = tracker!.sample();
    await Promise.all([get(port, '/a'), get(port, '/b')]);
    const after = tracker!.sample();
    assert.equal(after.completed - before.completed, 2);
    const busyMs = (after.busyS - before.busyS) * 1000;
    const idleBusyMs = after.idleBusyMs! - before.idleBusyMs!;
    const idleRequestMs = after.idleRequestMs! - before.idleRequestMs!;
    assert.ok(busyMs >= 295 && busyMs < 450, `busy ${busyMs} ms`);
    assert.ok(idleBusyMs >= 250 && idleBusyMs <= busyMs, `idle while busy ${idleBusyMs} ms of ${busyMs}`);
    // Both were in flight through nearly all of that idle time.
    assert.ok(
      idleRequestMs >= 1.8 * idleBusyMs && idleRequestMs <= 2 * idleBusyMs + 1,
      `idle per request ${idleRequestMs} ms vs ${idleBusyMs}`,
    );
  } finally {
    tracker!.stop();
    server.close();
  }
});

test('one request at a time: the weighted idle equals the plain one', async () => {
  const tracker = createWorkTracker();
  const server = http.createServer((req, res) => setTimeout(() => res.end('ok'), 100));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const port = (server.address() as AddressInfo).port;
    const before = tracker!.sample();
    for (let i = 0; i < 3; i++) await get(port, '/');
    const after = tracker!.sample();
    const idleBusyMs = after.idleBusyMs! - before.idleBusyMs!;
    const idleRequestMs = after.idleRequestMs! - before.idleRequestMs!;
    assert.ok(idleBusyMs >= 250, `idle while busy ${idleBusyMs} ms`);
    assert.ok(Math.abs(idleRequestMs - idleBusyMs) < 0.5, `${idleRequestMs} vs ${idleBusyMs}`);
  } finally {
    tracker!.stop();
    server.close();
  }
});
