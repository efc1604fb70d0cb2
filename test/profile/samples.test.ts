// The probe's busy time per interval when its snapshots and the watcher's ticks do not line up:
// snapshots come on the probe's clock, ticks on the watcher's, so an interval may hold none or two.
// The assembler is fed the data a watched process would give it (no process is needed to test
// this arithmetic; the services and accuracy end-to-end tests run it on real ones).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { SnapshotMessage } from '../../collectors/channel/messages';
import type { ProcSample } from '../../collectors/proc/process';
import { ServiceAssembler } from '../../src/profile/samples';
import type { Target } from '../../src/target';

const T0 = 1_000_000;

interface FakeTarget {
  key: string;
  role: string;
  lastProc: ProcSample | undefined;
  lastSnapshot: SnapshotMessage | undefined;
  identity: { pid: number; ppid: number; runtime: string; startTimeMs: number };
  probe: { state: string; hello: { startedAt: number } };
  container: { location: undefined };
}

function watched(): FakeTarget {
  return {
    key: '42:1',
    role: 'main',
    lastProc: undefined,
    lastSnapshot: undefined,
    identity: { pid: 42, ppid: 1, runtime: 'cpython', startTimeMs: T0 - 60_000 },
    probe: { state: 'connected', hello: { startedAt: T0 - 30_000 } },
    container: { location: undefined },
  };
}

function procAt(t: number): ProcSample {
  return {
    t,
    intervalS: 1,
    cpuUserS: (t - T0) / 10_000,
    cpuSystemS: 0,
    threadIntervals: [],
    threadTimeDelta: { cpu: 0, runqueue: 0, io: 0, lock: 0, sleep: 0, other: 0 },
  } as unknown as ProcSample;
}

function snapshot(t: number, busyS: number): SnapshotMessage {
  return { v: 1, type: 'snapshot', pid: 42, seq: t, t, work: { inFlight: 0, completed: 0, busyS } };
}

/** Runs ticks at T0, T0+1 s, …; `snaps[i]` are the snapshots that arrive before tick i+1. */
function busyPerInterval(before: SnapshotMessage | undefined, snaps: SnapshotMessage[][]): Array<number | undefined> {
  const target = watched();
  target.lastSnapshot = before;
  const t = target as unknown as Target;
  const assembler = new ServiceAssembler(T0);
  target.lastProc = procAt(T0);
  assembler.onSample(t); // the window's baseline
  snaps.forEach((inInterval, i) => {
    for (const s of inInterval) {
      assembler.onSnapshot(t, s);
      target.lastSnapshot = s;
    }
    target.lastProc = procAt(T0 + (i + 1) * 1000);
    assembler.onSample(t);
    assembler.onTick();
  });
  return assembler.finish().map((s) => s.processes?.[0]?.busyS);
}

const near = (actual: Array<number | undefined>, expected: Array<number | undefined>): void => {
  assert.equal(actual.length, expected.length, `${actual}`);
  actual.forEach((a, i) => {
    const e = expected[i];
    if (e === undefined) assert.equal(a, undefined, `interval ${i}: ${actual}`);
    else assert.ok(a !== undefined && Math.abs(a - e) < 1e-9, `interval ${i}: ${a} vs ${e} (${actual})`);
  });
};

test("the window's first interval counts from the probe's last snapshot before the window", () => {
  near(busyPerInterval(snapshot(T0 - 200, 10), [[snapshot(T0 + 800, 10.6)]]), [0.6]);
  // Without one, the first two snapshots' rate reads back to the window's start (0.2 s before them).
  near(busyPerInterval(undefined, [[snapshot(T0 + 800, 10.6)], [snapshot(T0 + 1800, 11)]]), [0.4, 0.4]);
});

test('an interval that got two snapshots, and one that got none, read the busy rate', () => {
  // 0.5 busy s/s throughout: snapshots at 0.95 s, 1.05 s (both before tick 2), none before tick 3,
  // then 3.0 s.
  const rate = 0.5;
  const at = (s: number): SnapshotMessage => snapshot(T0 + s * 1000, 10 + rate * s);
  near(busyPerInterval(at(-0.05), [[at(0.95)], [at(1.05), at(1.95)], [], [at(3.95)]]), [0.5, 0.5, 0.5, 0.5]);
  // The old arithmetic (the difference of the counters, per interval) read 0.5, 0.5, none, 1.0.
});

test('a probe silent for three intervals is read between its snapshots; for five, not guessed for', () => {
  const at = (s: number, busy: number): SnapshotMessage => snapshot(T0 + s * 1000, busy);
  near(busyPerInterval(at(-0.05, 10), [[at(0.95, 10.25)], [], [], [at(3.95, 11)]]), [0.25, 0.25, 0.25, 0.25]);
  // 5 s without a snapshot: an interval up to about one past the last snapshot reads its rate on.
  near(busyPerInterval(at(-0.05, 10), [[at(0.95, 10.25)], [], [], [], [], [at(5.95, 11.5)]]), [
    0.25,
    0.25,
    undefined,
    undefined,
    undefined,
    undefined,
  ]);
});

test("busy time is read at the interval's own ends: a burst in the second half of an interval is not booked to the next", () => {
  // Busy 1 s/s from 0.5 s to 1.0 s, idle otherwise; snapshots every 0.25 s (a probe whose clock is
  // a quarter interval off the watcher's would still miss by less than this).
  const busyAt = (s: number): number => 10 + Math.min(0.5, Math.max(0, s - 0.5));
  const at = (s: number): SnapshotMessage => snapshot(T0 + s * 1000, busyAt(s));
  near(
    busyPerInterval(at(-0.25), [
      [at(0), at(0.25), at(0.5), at(0.75), at(1)],
      [at(1.25), at(1.5), at(1.75), at(2)],
    ]),
    [0.5, 0],
  );
  // With one snapshot per interval half an interval off the ticks, the old arithmetic read 0.25 and 0.25 here.
});

test('a probe whose counters went back (restarted) reads nothing, not a negative time', () => {
  near(busyPerInterval(snapshot(T0 - 100, 50), [[snapshot(T0 + 900, 0.2)]]), [undefined]);
});

/** An event loop's snapshot: busy time, and its idle time with the part of it that had work in flight. */
function loopSnapshot(t: number, busyS: number, idleS: number, idleBusyS: number): SnapshotMessage {
  return {
    ...snapshot(t, busyS),
    eventLoop: { idleS, idleBusyS, delayNs: { min: 1, max: 1, mean: 1, p50: 1, p90: 1, p99: 1 } },
  } as SnapshotMessage;
}

test("an event loop's interval that got no snapshot splits its waits by the counters either side, not the busy fraction", () => {
  // A CPU-only loop: busy 0.2 of each second, idle 0.8, of which 0.002 s had a request in flight.
  const target = watched();
  const t = target as unknown as Target;
  const assembler = new ServiceAssembler(T0);
  target.lastProc = procAt(T0);
  assembler.onSample(t);
  const arrivals: SnapshotMessage[][] = [
    [loopSnapshot(T0 + 500, 0.2, 0.8, 0.002)],
    [loopSnapshot(T0 + 1500, 0.4, 1.6, 0.004)],
    [loopSnapshot(T0 + 2500, 0.6, 2.4, 0.006)],
    [], // the probe's next snapshot slipped past this tick
    [loopSnapshot(T0 + 4500, 1.0, 4.0, 0.01)],
    [], // and the probe went silent
    [],
  ];
  arrivals.forEach((inInterval, i) => {
    for (const s of inInterval) assembler.onSnapshot(t, s);
    target.lastProc = procAt(T0 + (i + 1) * 1000);
    assembler.onSample(t);
    assembler.onTick();
  });
  const samples = assembler.finish();
  const shares = samples.map((s) => s.processes?.[0]?.loopWaitBusyShare);
  const busy = samples.map((s) => s.processes?.[0]?.busyS);
  const about = (x: number | undefined, what: string): void =>
    assert.ok(x !== undefined && Math.abs(x - 0.0025) < 1e-9, `${what}: ${shares}`);
  for (const i of [0, 1, 2, 4]) about(shares[i], `measured, interval ${i}`);
  assert.ok(busy[3] !== undefined && Math.abs(busy[3] - 0.2) < 1e-9, `busy ${busy}`);
  about(shares[3], 'the interval without a snapshot');
  assert.equal(busy[6], undefined, 'a second silent interval is not guessed for');
  assert.equal(shares[6], undefined);
});
