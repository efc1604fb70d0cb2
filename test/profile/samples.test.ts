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
  return assembler.samples.map((s) => s.processes?.[0]?.busyS);
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
  // Without one (a probe that has not reported yet) the first interval has no probe evidence.
  near(busyPerInterval(undefined, [[snapshot(T0 + 800, 10.6)], [snapshot(T0 + 1800, 11)]]), [undefined, 0.4]);
});

test('an interval that got two snapshots, and one that got none, read the busy rate', () => {
  // 0.5 busy s/s throughout: snapshots at 0.95 s, 1.05 s (both before tick 2), none before tick 3,
  // then 3.0 s.
  const rate = 0.5;
  const at = (s: number): SnapshotMessage => snapshot(T0 + s * 1000, 10 + rate * s);
  near(busyPerInterval(at(-0.05), [[at(0.95)], [at(1.05), at(1.95)], [], [at(3.95)]]), [0.5, 0.5, 0.5, 0.5]);
  // The old arithmetic (the difference of the counters, per interval) read 0.5, 0.5, none, 1.0.
});

test('a probe silent for two intervals is not guessed for', () => {
  const at = (s: number, busy: number): SnapshotMessage => snapshot(T0 + s * 1000, busy);
  near(busyPerInterval(at(-0.05, 10), [[at(0.95, 10.25)], [], [], [at(3.95, 11)]]), [0.25, 0.25, undefined, 0.25]);
});

test('a probe whose counters went back (restarted) reads 0, not a negative time', () => {
  near(busyPerInterval(snapshot(T0 - 100, 50), [[snapshot(T0 + 900, 0.2)]]), [0]);
});

/** An event loop's snapshot: busy time, and its idle time with the part of it that had work in flight. */
function loopSnapshot(t: number, busyS: number, idleS: number, idleBusyS: number): SnapshotMessage {
  return {
    ...snapshot(t, busyS),
    eventLoop: { idleS, idleBusyS, delayNs: { min: 1, max: 1, mean: 1, p50: 1, p90: 1, p99: 1 } },
  } as SnapshotMessage;
}

test("an event loop's interval that got no snapshot splits its waits by the last measured shares, not the busy fraction", () => {
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
    [],
  ];
  arrivals.forEach((inInterval, i) => {
    for (const s of inInterval) assembler.onSnapshot(t, s);
    target.lastProc = procAt(T0 + (i + 1) * 1000);
    assembler.onSample(t);
    assembler.onTick();
  });
  const shares = assembler.samples.map((s) => s.processes?.[0]?.loopWaitBusyShare);
  const busy = assembler.samples.map((s) => s.processes?.[0]?.busyS);
  // The first interval sits out (a loop's first interval in the window), the second measures 0.0025.
  const about = (x: number | undefined, what: string): void =>
    assert.ok(x !== undefined && Math.abs(x - 0.0025) < 1e-9, `${what}: ${shares}`);
  about(shares[1], 'measured');
  about(shares[2], 'measured');
  assert.ok(busy[3] !== undefined && Math.abs(busy[3] - 0.2) < 1e-9, `busy ${busy}`);
  about(shares[3], 'the interval without a snapshot carries the measured share');
  assert.equal(busy[4], undefined, 'a second silent interval is not guessed for');
  assert.equal(shares[4], undefined);
});
