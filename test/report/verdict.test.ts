// The verdict over busy time, on the accuracy shapes generated synthetically, plus the
// thresholds themselves and the one-sentence explanation.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProfile } from '../../src/report/build';
import type { Breakdown } from '../../src/report/model';
import { decideVerdict, explainVerdict } from '../../src/report/verdict';
import { CPU_HEAVY, generate, IO_HEAVY, META, MIXED, NO_TRAFFIC } from './synthetic';

const SEEDS = [1, 7, 42, 1234];

test('20 ms CPU + 60 ms downstream wait per request → io-bound, io ≈ 0.75 of busy time', () => {
  for (const seed of SEEDS) {
    const doc = buildProfile(generate({ ...IO_HEAVY, seed }), META);
    assert.equal(doc.verdict, 'io-bound');
    assert.ok(Math.abs(doc.busy.shares.io - 0.75) < 0.02, `seed ${seed}: io share ${doc.busy.shares.io}`);
    assert.match(doc.explanation, /^75 % of busy time is spent waiting on I\/O; more concurrency/);
  }
});

test('60 ms CPU + 20 ms wait per request → cpu-bound, cpu ≈ 0.75 of busy time', () => {
  for (const seed of SEEDS) {
    const doc = buildProfile(generate({ ...CPU_HEAVY, seed }), META);
    assert.equal(doc.verdict, 'cpu-bound');
    assert.ok(Math.abs(doc.busy.shares.cpu - 0.75) < 0.02, `seed ${seed}: cpu share ${doc.busy.shares.cpu}`);
  }
});

test('no traffic → idle, even though timers put some time on CPU', () => {
  for (const seed of SEEDS) {
    const doc = buildProfile(generate({ ...NO_TRAFFIC, seed }), META);
    assert.equal(doc.verdict, 'idle');
    assert.ok(doc.breakdown.idle > 0.99, `idle share ${doc.breakdown.idle}`);
    assert.match(doc.explanation, /Nothing was in flight/);
  }
});

test('CPU, lock and I/O all substantial → mixed, and the sentence names the lock wait', () => {
  for (const seed of SEEDS) {
    const doc = buildProfile(generate({ ...MIXED, seed }), META);
    assert.equal(doc.verdict, 'mixed', `seed ${seed}: ${JSON.stringify(doc.busy.shares)}`);
    assert.match(doc.explanation, /waiting on locks/);
    assert.doesNotMatch(doc.explanation, /GIL/, 'a Node target has no GIL');
  }
  const py = buildProfile(generate({ ...MIXED, seed: 1 }), { ...META, target: { ...META.target, runtime: 'cpython' } });
  assert.match(py.explanation, /waiting on locks \(often the GIL\)/);
});

test('/proc socket evidence alone: io-heavy → io-bound, no traffic → idle', () => {
  assert.equal(buildProfile(generate({ ...IO_HEAVY, seed: 9, evidence: 'proc' }), META).verdict, 'io-bound');
  assert.equal(buildProfile(generate({ ...NO_TRAFFIC, seed: 9, evidence: 'proc' }), META).verdict, 'idle');
});

test('no evidence: io counted as io, the sentence and the warnings say idle may be in it', () => {
  const doc = buildProfile(generate({ ...IO_HEAVY, busyFraction: 0.5, seed: 2, evidence: 'none' }), META);
  assert.equal(doc.verdict, 'io-bound');
  assert.equal(doc.evidence.source, 'none');
  assert.equal(doc.breakdown.idle, 0);
  assert.match(doc.explanation, /some of that waiting may be idle/);
  assert.ok(doc.warnings.some((w) => w.includes('no probe')));
});

function shares(over: Partial<Breakdown>): Breakdown {
  return { cpu: 0, runqueue: 0, throttled: 0, io: 0, lock: 0, sleep: 0, other: 0, idle: 0, ...over };
}

test('thresholds: io ≥ 60 % of busy time is io-bound, cpu ≥ 40 % is cpu-bound, measured over busy time only', () => {
  assert.equal(decideVerdict({ shares: shares({ io: 0.6, cpu: 0.4 }), inFlightFraction: null }).verdict, 'io-bound');
  assert.equal(decideVerdict({ shares: shares({ io: 0.59, cpu: 0.4, lock: 0.01 }), inFlightFraction: null }).verdict, 'cpu-bound');
  assert.equal(decideVerdict({ shares: shares({ io: 0.5, cpu: 0.39, lock: 0.11 }), inFlightFraction: null }).verdict, 'mixed');
  // Half the window idle: io 0.3 of the window is 0.6 of busy time.
  const half = decideVerdict({ shares: shares({ io: 0.3, cpu: 0.2, idle: 0.5 }), inFlightFraction: 0.5 });
  assert.equal(half.verdict, 'io-bound');
  assert.ok(Math.abs(half.busyShares.io - 0.6) < 1e-12);
  assert.ok(Math.abs(half.busyFraction - 0.5) < 1e-12);
  // Under 1 % in flight is idle whatever the shares say.
  assert.equal(decideVerdict({ shares: shares({ cpu: 0.5, idle: 0.5 }), inFlightFraction: 0.005 }).verdict, 'idle');
  assert.equal(decideVerdict({ shares: shares({ idle: 1 }), inFlightFraction: null }).verdict, 'idle');
});

test('every explanation is one sentence that states a share and what helps', () => {
  const cases: Array<[Breakdown, number | null]> = [
    [shares({ io: 0.8, cpu: 0.2 }), 1],
    [shares({ cpu: 0.7, io: 0.3 }), 1],
    [shares({ cpu: 0.5, runqueue: 0.3, io: 0.2 }), 1],
    [shares({ cpu: 0.3, io: 0.4, sleep: 0.3 }), 1],
    [shares({ idle: 1 }), 0],
  ];
  for (const [s, inFlight] of cases) {
    const result = decideVerdict({ shares: s, inFlightFraction: inFlight });
    const sentence = explainVerdict(result, 'probe');
    assert.equal(sentence.split(/[.!?](\s|$)/).filter((x) => x && x.trim()).length, 1, sentence);
    assert.ok(sentence.endsWith('.'), sentence);
    assert.ok(!sentence.includes('\n'));
    if (result.verdict !== 'idle') assert.match(sentence, /\d+ %/);
  }
  const rq = explainVerdict(decideVerdict({ shares: shares({ cpu: 0.5, runqueue: 0.3, io: 0.2 }), inFlightFraction: 1 }), 'probe');
  assert.match(rq, /short of cores/);
});

test('a CPU limit that throttled ≥ 20 % of busy time makes a mixed or cpu verdict cpu-bound, never an io-bound or idle one', () => {
  const mixed = shares({ cpu: 0.2, throttled: 0.3, io: 0.3, lock: 0.2 });
  assert.equal(decideVerdict({ shares: mixed, inFlightFraction: 1 }).verdict, 'mixed', 'no limit: the split decides');
  const limited = decideVerdict({ shares: mixed, inFlightFraction: 1, cpuLimitCores: 0.25 });
  assert.equal(limited.verdict, 'cpu-bound');
  assert.equal(limited.throttledLimitCores, 0.25);
  assert.equal(
    explainVerdict(limited, 'probe'),
    'Throttled by its 0.25-core CPU limit for 30 % of busy time (20 % on CPU): raise the limit or make the hot code cheaper; more replicas also spread the load.',
  );
  const little = decideVerdict({
    shares: shares({ cpu: 0.3, throttled: 0.19, io: 0.31, lock: 0.2 }),
    inFlightFraction: 1,
    cpuLimitCores: 1,
  });
  assert.equal(little.verdict, 'mixed', '19 % throttled is below the share');
  assert.equal(little.throttledLimitCores, undefined);
  const io = decideVerdict({ shares: shares({ io: 0.6, throttled: 0.4 }), inFlightFraction: 1, cpuLimitCores: 1 });
  assert.equal(io.verdict, 'io-bound');
  const idle = decideVerdict({ shares: shares({ throttled: 0.5, idle: 0.5 }), inFlightFraction: 0, cpuLimitCores: 1 });
  assert.equal(idle.verdict, 'idle');
});
