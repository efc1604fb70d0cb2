// The breakdown splits wall time into states that sum to 1, and turns waiting with nothing in
// flight into idle by the best evidence each interval has.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apportionInterval, evidenceOf, toShares, totalSeconds, windowBreakdown } from '../../src/report/breakdown';
import type { ProfileSample } from '../../src/report/model';
import { BREAKDOWN_STATES } from '../../src/report/model';
import { CPU_HEAVY, generate, IO_HEAVY, MIXED, NO_TRAFFIC } from './synthetic';

function sample(over: Partial<ProfileSample>): ProfileSample {
  return {
    t: 1000,
    durationS: 1,
    cpu: { userS: 0.1, systemS: 0 },
    rssBytes: 1,
    threadTime: { cpu: 0.1, runqueue: 0.05, io: 0.6, lock: 0.1, sleep: 0.1, other: 0.05 },
    ...over,
  };
}

test('probe: waiting is split b·w to its state and (1−b)·w to idle; cpu, runqueue and lock never idle', () => {
  const { seconds, evidence } = apportionInterval(sample({ busyS: 0.25 }));
  assert.equal(evidence, 'probe');
  assert.ok(Math.abs(seconds.io - 0.15) < 1e-12);
  assert.ok(Math.abs(seconds.sleep - 0.025) < 1e-12);
  assert.ok(Math.abs(seconds.other - 0.0125) < 1e-12);
  assert.ok(Math.abs(seconds.idle - 0.5625) < 1e-12);
  assert.equal(seconds.cpu, 0.1);
  assert.equal(seconds.runqueue, 0.05);
  assert.equal(seconds.lock, 0.1);
  assert.ok(Math.abs(totalSeconds(seconds) - 1) < 1e-12, 'the interval keeps its wall time');
});

test('probe: busyS beyond the interval counts as fully busy, negative as none', () => {
  assert.equal(apportionInterval(sample({ busyS: 5 })).seconds.idle, 0);
  assert.equal(apportionInterval(sample({ busyS: -1 })).seconds.io, 0);
});

test('/proc: io on a connected socket stays io, the rest of io is idle; other waits keep their state', () => {
  const { seconds, evidence } = apportionInterval(sample({ ioWaitOnConnectedS: 0.2 }));
  assert.equal(evidence, 'proc');
  assert.ok(Math.abs(seconds.io - 0.2) < 1e-12);
  assert.ok(Math.abs(seconds.idle - 0.4) < 1e-12);
  assert.equal(seconds.sleep, 0.1);
  // More connected-socket time than io time measured: clamped to what was measured.
  assert.equal(apportionInterval(sample({ ioWaitOnConnectedS: 3 })).seconds.io, 0.6);
});

test('no evidence: every wait stays in its state and nothing is idle', () => {
  const s = sample({});
  assert.equal(evidenceOf(s), 'none');
  const { seconds } = apportionInterval(s);
  assert.equal(seconds.idle, 0);
  assert.equal(seconds.io, 0.6);
});

test('a probe wins over /proc evidence in the same interval', () => {
  assert.equal(evidenceOf(sample({ busyS: 0.5, ioWaitOnConnectedS: 0.1 })), 'probe');
});

test('shares sum to 1 within 1e-9 over many seeded shapes and evidence kinds', () => {
  for (let seed = 1; seed <= 40; seed++) {
    for (const shape of [IO_HEAVY, CPU_HEAVY, NO_TRAFFIC, MIXED]) {
      for (const evidence of ['probe', 'proc', 'none'] as const) {
        const { shares, wallS } = windowBreakdown(generate({ ...shape, seed, evidence }));
        const sum = BREAKDOWN_STATES.reduce((acc, s) => acc + shares[s], 0);
        assert.ok(Math.abs(sum - 1) < 1e-9, `seed ${seed} ${evidence}: sum ${sum}`);
        assert.ok(Math.abs(wallS - 30) < 1e-6, 'wall time is the window');
        for (const s of BREAKDOWN_STATES) assert.ok(shares[s] >= 0, `${s} is not negative`);
      }
    }
  }
});

test('evidence names its source, and says how much of the window it covered', () => {
  const probed = generate({ ...IO_HEAVY, seed: 3 });
  assert.deepEqual(windowBreakdown(probed).evidence, { source: 'probe', detail: 'probe: requests in flight' });
  const partial = [...probed.slice(0, 10), ...generate({ ...IO_HEAVY, seed: 4, evidence: 'none', intervals: 5 })];
  assert.equal(windowBreakdown(partial).evidence.detail, 'probe: requests in flight (10 of 15 intervals)');
  assert.equal(windowBreakdown(generate({ ...IO_HEAVY, seed: 5, evidence: 'proc' })).evidence.source, 'proc');
  assert.equal(windowBreakdown(generate({ ...IO_HEAVY, seed: 5, evidence: 'none' })).evidence.source, 'none');
});

test('no thread time gives all-zero shares rather than NaN', () => {
  const zero = { cpu: 0, runqueue: 0, throttled: 0, io: 0, lock: 0, sleep: 0, other: 0, idle: 0 };
  assert.deepEqual(toShares(zero), zero);
  assert.equal(windowBreakdown([]).wallS, 0);
});

test('intervals left out are counted with their noun agreeing: "1 of 14 intervals left out"', () => {
  const samples = generate({ ...IO_HEAVY, seed: 9, intervals: 14 });
  const first = samples[0]!;
  first.apportioned = { ...apportionInterval(first), unknown: true };
  const { evidence } = windowBreakdown(samples);
  assert.match(evidence.detail, /; 1 of 14 intervals left out: /);
});
