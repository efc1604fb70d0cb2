// buildProfile on synthetic series with known answers: memory growth, loop-delay and GC
// percentiles, CPU cores, the window, and the JSON contract's field names.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProfile } from '../../src/report/build';
import type { ProfileSample } from '../../src/report/model';
import { BREAKDOWN_STATES } from '../../src/report/model';
import { formatBytes, formatBytesGroup, formatSeconds } from '../../src/report/format';
import { percentile, leastSquaresSlope } from '../../src/report/stats';
import { CPU_HEAVY, generate, IO_HEAVY, META, T0 } from './synthetic';

const MIB = 2 ** 20;

test('memory growth is the least-squares slope: 1 MiB/min through ±32 KiB noise', () => {
  const samples = generate({ ...IO_HEAVY, seed: 11, intervals: 120, rssGrowthBytesPerS: MIB / 60 });
  const doc = buildProfile(samples, META);
  assert.ok(Math.abs(doc.memory.growthBytesPerMin - MIB) < 0.02 * MIB, `${doc.memory.growthBytesPerMin}`);
  const rss = samples.map((s) => s.rssBytes);
  assert.equal(doc.memory.rssBytes.min, Math.min(...rss));
  assert.equal(doc.memory.rssBytes.max, Math.max(...rss));
  assert.equal(doc.memory.rssBytes.last, rss[rss.length - 1]);
  const flat = buildProfile(generate({ ...IO_HEAVY, seed: 11, intervals: 120 }), META);
  assert.ok(Math.abs(flat.memory.growthBytesPerMin) < 0.02 * MIB, 'no growth reads ≈ 0');
});

test('event loop: p50/p90/p99 are duration-weighted means of the intervals, max is the max of maxes', () => {
  const samples = generate({ ...IO_HEAVY, seed: 5, withLoop: true });
  // One bad second: its max and p99 must show, and the mean p99 must move by its share only.
  const bad = samples[10];
  assert.ok(bad?.eventLoop);
  bad.eventLoop.delayNs.p99 = 150e6;
  bad.eventLoop.delayNs.max = 200e6;
  const doc = buildProfile(samples, META);
  assert.ok(doc.eventLoop);
  const p99s = samples.map((s) => s.eventLoop?.delayNs.p99 ?? 0);
  const meanP99 = p99s.reduce((a, b) => a + b, 0) / p99s.length / 1e9;
  assert.ok(Math.abs(doc.eventLoop.delayS.p99 - meanP99) < 1e-12);
  assert.equal(doc.eventLoop.delayS.max, 0.2);
  assert.equal(doc.eventLoop.worstIntervalP99S, 0.15);
  assert.ok(doc.eventLoop.delayS.p50 > 0.0007 && doc.eventLoop.delayS.p50 < 0.0013);
  assert.ok(doc.eventLoop.utilization > 0.9 && doc.eventLoop.utilization <= 1);
  assert.match(doc.eventLoop.aggregation, /weighted mean/);
  assert.equal(buildProfile(generate({ ...IO_HEAVY, seed: 5 }), META).eventLoop, null, 'no probe → null');
});

test('gc: count, total, max and p99 over the individual pauses, by kind; null without a probe', () => {
  const samples = generate({ ...IO_HEAVY, seed: 8, intervals: 100 });
  const pauses: number[] = [];
  samples.forEach((s, i) => {
    s.gc = i % 2 ? [{ kind: 'minor', durationS: 0.001 * (i % 10) }] : [];
    if (i === 50) s.gc.push({ kind: 'major', durationS: 0.05 });
    pauses.push(...s.gc.map((p) => p.durationS));
  });
  const gc = buildProfile(samples, META).gc;
  assert.ok(gc);
  assert.equal(gc.count, 51);
  assert.ok(Math.abs(gc.totalS - pauses.reduce((a, b) => a + b, 0)) < 1e-12);
  assert.equal(gc.maxS, 0.05);
  assert.equal(gc.p99S, percentile(pauses, 0.99));
  assert.deepEqual(Object.keys(gc.byKind).sort(), ['major', 'minor']);
  assert.equal(gc.byKind.major?.count, 1);
  assert.equal(gc.byKind.minor?.count, 50);
  const quiet = buildProfile(
    generate({ ...IO_HEAVY, seed: 8, withGc: true }).map((s) => ({ ...s, gc: [] })),
    META,
  ).gc;
  assert.deepEqual(
    quiet && { ...quiet, byKind: { ...quiet.byKind } },
    { count: 0, totalS: 0, maxS: 0, p99S: 0, byKind: {} },
    'probe saw none → zeros, not null',
  );
  assert.equal(buildProfile(generate({ ...IO_HEAVY, seed: 8 }), META).gc, null);
});

test('cpu: average cores over the window, max over intervals, user and system totals', () => {
  const samples = generate({ ...IO_HEAVY, seed: 2, intervals: 10 });
  const first = samples[0];
  assert.ok(first);
  first.cpu = { userS: 1.5, systemS: 0.3 };
  const doc = buildProfile(samples, META);
  const user = samples.reduce((a, s) => a + s.cpu.userS, 0);
  const system = samples.reduce((a, s) => a + s.cpu.systemS, 0);
  assert.ok(Math.abs(doc.cpu.userS - user) < 1e-12);
  assert.ok(Math.abs(doc.cpu.systemS - system) < 1e-12);
  assert.ok(Math.abs(doc.cpu.avgCores - (user + system) / 10) < 1e-12);
  assert.ok(Math.abs(doc.cpu.maxCores - 1.8) < 1e-12);
});

test('window, series and pass-through fields; samples out of order are sorted', () => {
  const samples = generate({ ...IO_HEAVY, seed: 4, intervals: 20, withLoop: true, withGc: true }).reverse();
  const load = { requests: 12000, rps: 400, latencyS: { p50: 0.08, p99: 0.12, max: 0.3 }, errors: 2 };
  const doc = buildProfile(samples, { ...META, load, targetExited: true, warnings: ['from the cli'] });
  assert.equal(doc.rtprof, 1);
  assert.equal(doc.window.start, new Date(T0).toISOString());
  assert.equal(doc.window.durationS, 20);
  assert.equal(doc.series.length, 20);
  assert.ok(doc.series.every((p, i) => i === 0 || p.t > (doc.series[i - 1]?.t ?? 0)));
  assert.deepEqual(doc.load, load);
  assert.equal(doc.targetExited, true);
  assert.equal(doc.warnings[0], 'from the cli');
  assert.ok(doc.warnings.some((w) => w.includes('target exited') && w.includes('20.0 s')));
  for (const p of doc.series) {
    const sum = BREAKDOWN_STATES.reduce((a, s) => a + (p.breakdown?.[s] ?? NaN), 0);
    assert.ok(Math.abs(sum - 1) < 1e-9);
    assert.ok(p.loopDelayP99S !== null && p.gcPauseS !== null && p.busyFraction !== null);
  }
});

test('the JSON document keeps the contract field names', () => {
  const doc = JSON.parse(JSON.stringify(buildProfile(generate({ ...IO_HEAVY, seed: 1, withLoop: true, withGc: true }), META)));
  for (const key of ['rtprof', 'target', 'window', 'cpu', 'memory', 'eventLoop', 'gc', 'breakdown', 'verdict', 'load', 'series']) {
    assert.ok(key in doc, key);
  }
  assert.deepEqual(Object.keys(doc.target).sort(), ['attach', 'command', 'pid', 'runtime', 'runtimeVersion']);
  assert.deepEqual(Object.keys(doc.window).sort(), ['durationS', 'end', 'start']);
  assert.deepEqual(Object.keys(doc.cpu).sort(), ['avgCores', 'maxCores', 'systemS', 'userS']);
  assert.deepEqual(Object.keys(doc.memory.rssBytes).sort(), ['avg', 'last', 'max', 'min']);
  assert.ok('growthBytesPerMin' in doc.memory);
  assert.deepEqual(Object.keys(doc.memory.trend).sort(), [
    'bytesPerMin',
    'confidence',
    'effectiveSamples',
    'intervalBytesPerMin',
    'reason',
    'reasonCode',
    'samples',
    'status',
    'stdErrBytesPerMin',
    'swingBytes',
    'windowS',
  ]);
  assert.match(doc.rtprofVersion, /^\d+\.\d+\.\d+/, 'the package version beside the format version');
  assert.deepEqual(Object.keys(doc.eventLoop.delayS).sort(), ['max', 'p50', 'p90', 'p99']);
  assert.ok('utilization' in doc.eventLoop);
  for (const key of ['count', 'totalS', 'maxS', 'p99S', 'byKind']) assert.ok(key in doc.gc, key);
  assert.deepEqual(Object.keys(doc.breakdown).sort(), [...BREAKDOWN_STATES].sort());
  assert.equal(doc.load, null);
});

test('no samples, or malformed ones: a document that says so, breakdown still sums to 1', () => {
  const empty = buildProfile([], { ...META, targetExited: true, startMs: T0 });
  assert.equal(empty.verdict, 'idle');
  assert.equal(empty.breakdown.idle, 1);
  assert.equal(empty.window.durationS, 0);
  assert.match(empty.explanation, /No samples/);
  const bad = { ...generate({ ...IO_HEAVY, seed: 1, intervals: 1 })[0], durationS: 0 } as ProfileSample;
  const doc = buildProfile([bad, ...generate({ ...IO_HEAVY, seed: 1, intervals: 3 })], META);
  assert.equal(doc.series.length, 3);
  assert.ok(doc.warnings.includes('1 malformed sample dropped'), JSON.stringify(doc.warnings));
});

test('stats helpers: interpolated percentile and exact slope', () => {
  assert.equal(percentile([3, 1, 2, 4], 0.5), 2.5);
  assert.equal(percentile([], 0.99), 0);
  assert.equal(percentile([7], 0.99), 7);
  assert.equal(leastSquaresSlope([0, 1, 2, 3], [1, 3, 5, 7]), 2);
  assert.equal(leastSquaresSlope([1], [1]), 0);
});

test('formatting: seconds pick their unit, bytes use 1024ⁿ', () => {
  assert.deepEqual([0, 0.00042, 0.0123, 0.0803, 2.5, 60, 119.6].map(formatSeconds), [
    '0 ms',
    '420 µs',
    '12.3 ms',
    '80.3 ms',
    '2.50 s',
    '1m00s',
    '2m00s',
  ]);
  assert.deepEqual([512, 50 * MIB, -1536].map(formatBytes), ['512 B', '50.0 MiB', '-1.5 KiB']);
  assert.deepEqual(formatBytesGroup([49.9 * MIB, 2 * 2 ** 30]), { numbers: ['0.0', '2.0'], unit: 'GiB' });
});

test('threads: CPU that ran off the main thread is measured and named; a main-thread service is not flagged', () => {
  const normal = buildProfile(generate({ ...CPU_HEAVY, seed: 3, intervals: 20 }), META);
  assert.equal(normal.threadCpu.workOffMainThread, false);
  assert.ok((normal.threadCpu.mainShareOfCpu ?? 0) > 0.9, `main share ${normal.threadCpu.mainShareOfCpu}`);
  assert.ok(!normal.warnings.some((w) => /other threads did/.test(w)));
  // A thread-per-request server: the main thread waits in accept (io), workers burn 0.5 cores.
  const offMain = generate({ ...IO_HEAVY, seed: 3, intervals: 20 }).map((s) => ({
    ...s,
    cpu: { userS: 0.5 * s.durationS, systemS: 0.02 * s.durationS },
    threadTime: { ...s.threadTime, cpu: 0.01 * s.durationS },
  }));
  const doc = buildProfile(offMain, META);
  assert.equal(doc.threadCpu.workOffMainThread, true);
  assert.ok(Math.abs(doc.threadCpu.otherCpuS - 0.51 * 20) < 0.5, `other cpu ${doc.threadCpu.otherCpuS}`);
  assert.ok(
    doc.warnings.some((w) => /other threads did 98 % of the process's CPU \(0\.51 cores vs 0\.01/.test(w)),
    doc.warnings.join('\n'),
  );
  // 0.52 cores of CPU over ~97 % busy time: the workers are CPU-bound whatever the main thread did.
  assert.equal(doc.verdict, 'cpu-bound');
  assert.ok(Math.abs((doc.threadCpu.processCpuShareOfBusy ?? 0) - 0.52 / 0.97) < 0.05, `${doc.threadCpu.processCpuShareOfBusy}`);
  assert.match(doc.explanation, /Worker threads were on CPU for 5\d % of the time requests were in flight/);
  assert.ok(doc.warnings.some((w) => /main thread alone: io-bound/.test(w)));
  // Workers that mostly wait (0.1 cores over the busy time): the main thread's verdict stands.
  const waiting = buildProfile(
    offMain.map((s) => ({ ...s, cpu: { userS: 0.1 * s.durationS, systemS: 0 } })),
    META,
  );
  assert.equal(waiting.threadCpu.workOffMainThread, true);
  assert.equal(waiting.verdict, 'io-bound');
});
