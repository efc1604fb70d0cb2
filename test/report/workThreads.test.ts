// The service breakdown on seeded synthetic services whose answer is known: which threads did the
// work, and how their waiting splits between io, lock and idle.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProfile } from '../../src/report/build';
import type { ProcessInterval, ProfileSample, ThreadIntervalS, ThreadKindsS } from '../../src/report/model';
import { T0, rng } from './synthetic';

const META = { target: { pid: 100, runtime: 'cpython' as const, runtimeVersion: '3.11', command: 'x', attach: 'gdb' as const } };

function kinds(partial: Partial<ThreadKindsS>): ThreadKindsS {
  return { cpu: 0, runqueue: 0, io: 0, ready: 0, lock: 0, wait: 0, sleep: 0, other: 0, ...partial };
}

function thread(tid: number, main: boolean, s: Partial<ThreadKindsS>): ThreadIntervalS {
  return { tid, name: 'python3', main, seconds: kinds(s) };
}

function proc(
  pid: number,
  role: ProcessInterval['role'],
  threads: ThreadIntervalS[],
  extra: Partial<ProcessInterval> = {},
): ProcessInterval {
  return { pid, ppid: 1, role, runtime: 'cpython', cpu: { userS: 0, systemS: 0 }, rssBytes: 1e7, threads, ...extra };
}

/** Ten one-second intervals built by `make(i, jitter)`. */
function samples(make: (i: number, j: () => number) => ProcessInterval[]): ProfileSample[] {
  const j = rng(7);
  return Array.from({ length: 10 }, (_, i) => {
    const processes = make(i, j);
    const cpu = processes.reduce((a, p) => a + p.threads.reduce((b, t) => b + t.seconds.cpu, 0), 0);
    return {
      t: T0 + (i + 1) * 1000,
      durationS: 1,
      cpu: { userS: cpu, systemS: 0 },
      rssBytes: 1e7,
      threadTime: { cpu: 0, runqueue: 0, io: 0, lock: 0, sleep: 0, other: 0 },
      processes,
    };
  });
}

test('pre-fork service (gunicorn shape): the master and idle helpers are left out; workers 25 % cpu, 75 % io', () => {
  const doc = buildProfile(
    samples((_i, j) => {
      const c = 0.25 + (j() - 0.5) * 0.02;
      return [
        proc(100, 'master', [thread(100, true, { ready: 0.999, cpu: 0.001 })], { clientConnections: false }),
        proc(101, 'worker', [thread(101, true, { cpu: c, io: 0.5, ready: 0.5 - c }), thread(111, false, { wait: 1 })], {
          clientConnections: true,
        }),
        proc(102, 'worker', [thread(102, true, { cpu: c, io: 1 - c })], { clientConnections: true }),
      ];
    }),
    META,
  );
  assert.equal(doc.verdict, 'io-bound');
  assert.ok(Math.abs(doc.busy.shares.cpu - 0.25) < 0.02, JSON.stringify(doc.busy.shares));
  assert.ok(Math.abs(doc.busy.shares.io - 0.75) < 0.02, JSON.stringify(doc.busy.shares));
  assert.deepEqual(
    doc.processes.map((p) => [p.pid, p.role, p.workThreads]),
    [
      [100, 'master', 0],
      [101, 'worker', 1],
      [102, 'worker', 1],
    ],
  );
  assert.ok(
    doc.threads.filter((t) => t.work).every((t) => t.pid !== 100),
    'the master did no work',
  );
});

test('thread per request: the accept loop is not a work thread; request threads decide (20 ms cpu, 60 ms io)', () => {
  const doc = buildProfile(
    samples(() => [
      proc(
        100,
        'main',
        [thread(100, true, { ready: 0.998, cpu: 0.002 }), ...[1, 2, 3, 4].map((k) => thread(100 + k, false, { cpu: 0.05, io: 0.15 }))],
        {
          busyS: 0.8,
        },
      ),
    ]),
    META,
  );
  assert.equal(doc.verdict, 'io-bound');
  assert.ok(Math.abs(doc.busy.shares.io - 0.75) < 0.01, JSON.stringify(doc.busy.shares));
  const accept = doc.threads.find((t) => t.tid === 100);
  assert.equal(accept?.work, false);
});

test('a pool thread parked for work is idle, a thread waiting for the GIL is lock', () => {
  const doc = buildProfile(
    samples(() => [
      proc(
        100,
        'main',
        [
          thread(100, true, { ready: 1 }),
          thread(101, false, { cpu: 0.3, lock: 0.5, wait: 0.2 }),
          thread(102, false, { cpu: 0.3, lock: 0.5, wait: 0.2 }),
        ],
        {
          busyS: 1,
        },
      ),
    ]),
    META,
  );
  assert.ok(Math.abs(doc.breakdown.lock - 0.5) < 0.01, JSON.stringify(doc.breakdown));
  assert.ok(Math.abs(doc.breakdown.idle - 0.2) < 0.01, JSON.stringify(doc.breakdown));
  assert.ok(doc.explanation.length > 0);
});

test('Node loop offloading to worker_threads: the helpers CPU is the loop waiting for it, not I/O', () => {
  const doc = buildProfile(
    samples(() => [
      {
        ...proc(
          100,
          'main',
          [
            thread(100, true, { cpu: 0.05, ready: 0.95 }),
            { ...thread(101, false, { cpu: 0.25, ready: 0.75 }), name: 'node' },
            // V8's own thread (GC, compiler): busy, but not a worker the loop offloads to
            { ...thread(102, false, { cpu: 0.2, wait: 0.8 }), name: 'node' },
          ],
          { busyS: 1, runtime: 'nodejs', eventLoopMain: true, offloadTids: [101] },
        ),
      },
    ]),
    { target: { ...META.target, runtime: 'nodejs' as const, attach: 'inspector' as const } },
  );
  // The loop thread carries the requests: 5 % own cpu + 25 % its worker's = 30 % cpu, 70 % io.
  assert.ok(Math.abs(doc.busy.shares.cpu - 0.3) < 0.01, JSON.stringify(doc.busy.shares));
  assert.ok(Math.abs(doc.busy.shares.io - 0.7) < 0.01, JSON.stringify(doc.busy.shares));
  assert.equal(doc.threads.find((t) => t.tid === 101)?.role, 'helper');
  assert.equal(doc.threads.find((t) => t.tid === 102)?.role, 'idle');
});

test('two requests in flight on a loop with two workers: the loop waits for both at once, counted per request', () => {
  // Per second: two requests each 20 % on a worker's CPU and 60 % on a downstream, overlapped; the
  // loop is idle 95 % of the wall with both in flight (the probe's request-weighted idle: 1.9 s).
  const doc = buildProfile(
    samples(() => [
      {
        ...proc(
          100,
          'main',
          [
            thread(100, true, { cpu: 0.05, ready: 0.95 }),
            { ...thread(101, false, { cpu: 0.4, ready: 0.6 }), name: 'node' },
            { ...thread(102, false, { cpu: 0.4, ready: 0.6 }), name: 'node' },
          ],
          { busyS: 1, runtime: 'nodejs', eventLoopMain: true, offloadTids: [101, 102], loopWaitBusyShare: 1, loopWaitRequestShare: 2 },
        ),
      },
    ]),
    { target: { ...META.target, runtime: 'nodejs' as const, attach: 'inspector' as const } },
  );
  // Request time 0.05 + 1.9 s: 0.8 s on the workers' CPU, 1.1 s waiting: io 0.56, cpu 0.44. Over the
  // wall (0.95 s of waiting less 0.8 s of CPU) it would read io 0.15.
  assert.ok(Math.abs(doc.busy.shares.cpu - 0.85 / 1.95) < 0.01, JSON.stringify(doc.busy.shares));
  assert.ok(Math.abs(doc.busy.shares.io - 1.1 / 1.95) < 0.01, JSON.stringify(doc.busy.shares));
});

test('a cluster primary with no requests is not a work thread', () => {
  const doc = buildProfile(
    samples(() => [
      proc(100, 'master', [thread(100, true, { cpu: 0.01, ready: 0.99 })], { busyS: 0, runtime: 'nodejs', eventLoopMain: true }),
      proc(101, 'worker', [thread(101, true, { cpu: 0.6, ready: 0.4 })], { busyS: 1, runtime: 'nodejs', eventLoopMain: true }),
    ]),
    META,
  );
  assert.equal(doc.verdict, 'cpu-bound');
  assert.equal(doc.threads.find((t) => t.pid === 100)?.work, false);
  assert.ok(Math.abs(doc.busy.shares.cpu - 0.6) < 0.01);
});
