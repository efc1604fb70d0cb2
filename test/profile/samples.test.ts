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
