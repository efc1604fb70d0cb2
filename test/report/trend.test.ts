// The memory trend on known-answer series: a flat RSS with noise (or a GC sawtooth, or one step)
// is "not enough time to tell", a real linear growth is reported with its true slope inside the
// stated interval, and the interval covers the truth about as often as it says it does.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProfile } from '../../src/report/build';
import { formatTrend } from '../../src/report/format';
import { renderHtml } from '../../src/report/html';
import { renderText } from '../../src/report/text';
import { fitLine, memoryTrend, tCritical95, TREND_MIN_WINDOW_S, type MemoryTrend } from '../../src/report/trend';
import { generate, IO_HEAVY, META, rng } from './synthetic';

const MIB = 2 ** 20;

/** Standard normal draws from a seeded uniform source (Box-Muller). */
function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(random() || 1e-12)) * Math.cos(2 * Math.PI * random());
}

/** n one-second RSS samples: 100 MiB + slope × t + AR(1) noise of standard deviation `noise`. */
function series(seed: number, n: number, slopePerMin: number, noise: number, rho = 0) {
  const normal = gaussian(rng(seed));
  let e = 0;
  return Array.from({ length: n }, (_, i) => {
    e = rho * e + Math.sqrt(1 - rho * rho) * normal() * noise;
    return { t: 1.7e12 + (i + 1) * 1000, durationS: 1, rssBytes: 100 * MIB + (slopePerMin * (i + 1)) / 60 + e };
  });
}

const covers = (t: MemoryTrend, truth: number): boolean =>
  t.intervalBytesPerMin !== null && t.intervalBytesPerMin.low <= truth && truth <= t.intervalBytesPerMin.high;

test("Student's t multipliers: the table to 30 degrees of freedom, the expansion beyond (± 0.002)", () => {
  assert.equal(tCritical95(1), 12.706);
  assert.equal(tCritical95(10), 2.228);
  assert.equal(tCritical95(10.9), 2.228, 'fractional degrees of freedom round down');
  assert.ok(Math.abs(tCritical95(40) - 2.021) < 0.002, `${tCritical95(40)}`);
  assert.ok(Math.abs(tCritical95(120) - 1.98) < 0.002, `${tCritical95(120)}`);
  assert.equal(tCritical95(0.5), Infinity);
});

test('fitLine: an exact line has its slope, zero error; residuals that follow each other shrink the effective samples', () => {
  const xs = [0, 1, 2, 3, 4, 5];
  const exact = fitLine(
    xs,
    xs.map((x) => 3 + 2 * x),
  );
  assert.ok(exact);
  assert.ok(Math.abs(exact.slope - 2) < 1e-12 && Math.abs(exact.intercept - 3) < 1e-12 && exact.stdErr === 0);
  assert.equal(fitLine([1, 1, 1], [1, 2, 3]), null, 'no spread in x');
  assert.equal(fitLine([1, 2], [1, 2]), null, 'two points');
  // A slow wave around the line: neighbours' residuals agree, so fewer independent samples.
  const wavy = fitLine(
    Array.from({ length: 30 }, (_, i) => i),
    Array.from({ length: 30 }, (_, i) => i + 5 * Math.sin(i / 3)),
  );
  assert.ok(wavy && wavy.rho > 0.5 && wavy.effectiveN < 10, JSON.stringify(wavy));
});

test('flat RSS with ±2 MiB noise over 30 s: not enough time to tell, in the JSON, the text and the HTML', () => {
  const trend = memoryTrend(series(3, 30, 0, 2 * MIB));
  assert.equal(trend.status, 'unknown');
  assert.ok(covers(trend, 0), JSON.stringify(trend));
  assert.match(trend.reason, /interval includes zero/);
  assert.match(formatTrend(trend, 'short'), /^not enough time to tell \(-[\d.]+ to \+[\d.]+ MiB\/min at 95 %\)$/);

  const samples = generate({ ...IO_HEAVY, seed: 4, intervals: 30 });
  const doc = buildProfile(samples, META);
  assert.equal(doc.memory.trend.status, 'unknown');
  assert.equal(typeof doc.memory.growthBytesPerMin, 'number', 'the existing field stays');
  assert.match(renderText(doc, { color: false }), /^memory {6}.*\n {12}.*trend not enough time to tell/m);
  assert.match(renderHtml(doc), /trend not enough time to tell: the 95 % interval includes zero/);
});

test('a window shorter than the minimum is not enough time to tell, however steep the line', () => {
  const short = series(5, 8, 100 * MIB, 0.1 * MIB);
  const trend = memoryTrend(short);
  assert.equal(trend.status, 'unknown');
  assert.ok(trend.windowS < TREND_MIN_WINDOW_S);
  assert.ok(trend.bytesPerMin !== null && Math.abs(trend.bytesPerMin - 100 * MIB) < 5 * MIB, 'the slope is still in the JSON');
  assert.equal(formatTrend(trend, 'short'), `not enough time to tell (8 s window, needs ${TREND_MIN_WINDOW_S} s)`);
  assert.equal(memoryTrend([]).status, 'unknown');
  const almost = memoryTrend(series(5, 12, 100 * MIB, 0.1 * MIB).map((p) => ({ ...p, durationS: 0.97 })));
  assert.equal(almost.reasonCode, 'window');
  assert.equal(formatTrend(almost, 'short'), 'not enough time to tell (11 s window, needs 12 s)', 'rounded down, never "12 s, needs 12 s"');
  assert.match(almost.reason, /^a 11\.6 s window is shorter than the 12 s a trend needs$/);
});

test("a GC sawtooth (10 MiB, 7 s period; a churning process's, from a plateau) or one step of RSS is no trend", () => {
  for (let phase = 0; phase < 7; phase += 0.5) {
    const saw = Array.from({ length: 30 }, (_, i) => ({
      t: (i + 1) * 1000,
      durationS: 1,
      rssBytes: 100 * MIB + (10 * MIB * ((i + phase) % 7)) / 7,
    }));
    const trend = memoryTrend(saw);
    assert.equal(trend.status, 'unknown', `phase ${phase}: ${JSON.stringify(trend)}`);
  }
  // A real one: 14 s of a Node process churning 1 MiB buffers (the e2e test's flat fixture), its
  // collection cycle running into a plateau.
  const churn = [42.9, 52.9, 62.9, 72.9, 50.9, 60.9, 70.9, 48.9, 58.9, 68.9, 73.9, 73.9, 73.9, 73.9];
  const intoPlateau = memoryTrend(churn.map((v, i) => ({ t: (i + 1) * 1000, durationS: 1, rssBytes: v * MIB })));
  assert.ok(intoPlateau.intervalBytesPerMin && intoPlateau.intervalBytesPerMin.low > 0, 'the interval alone would call it growing');
  assert.equal(intoPlateau.status, 'unknown', JSON.stringify(intoPlateau));
  assert.equal(intoPlateau.reasonCode, 'small');
  const step = Array.from({ length: 30 }, (_, i) => ({
    t: (i + 1) * 1000,
    durationS: 1,
    rssBytes: 100 * MIB + (i >= 15 ? 132 * 1024 : 0),
  }));
  assert.equal(memoryTrend(step).status, 'unknown', JSON.stringify(memoryTrend(step)));
});

test('a heap warming up (collections sawtoothing upward for 10 s, then flat for 10 s) levelled off: no trend', () => {
  const rss = [40, 60, 45, 65, 50, 70, 55, 75, 60, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80, 80];
  const trend = memoryTrend(rss.map((mib, i) => ({ t: (i + 1) * 1000, durationS: 1, rssBytes: mib * MIB })));
  assert.ok(trend.intervalBytesPerMin && trend.intervalBytesPerMin.low > 0, 'the whole window alone would call it growth');
  assert.equal(trend.status, 'unknown', JSON.stringify(trend));
  assert.equal(trend.reasonCode, 'levelled');
  assert.equal(formatTrend(trend, 'short'), 'not enough time to tell (levelled off)');
});

test('a steep line with small residuals that follow each other (allocation paced by a clock) is still a trend', () => {
  // 10 MiB/s sampled with a slowly drifting phase: residuals of ±0.3 MiB, neighbours alike.
  const rss = Array.from({ length: 13 }, (_, i) => ({
    t: (i + 1) * 1000,
    durationS: 1,
    rssBytes: (57 + 10 * i + 0.3 * Math.sin(i / 2)) * MIB,
  }));
  const trend = memoryTrend(rss);
  assert.equal(trend.status, 'growing', JSON.stringify(trend));
  assert.ok(covers(trend, 600 * MIB), JSON.stringify(trend));
});

test('a steady creep of a few pages (40 KiB in 13 s) is significant but under 1 MiB: not enough time to tell', () => {
  const creep = Array.from({ length: 13 }, (_, i) => ({
    t: (i + 1) * 1000,
    durationS: 1,
    rssBytes: 200 * MIB + Math.floor(i * 0.8) * 4096,
  }));
  const trend = memoryTrend(creep);
  assert.equal(trend.status, 'unknown', JSON.stringify(trend));
  assert.equal(trend.reasonCode, 'small');
  assert.ok(trend.intervalBytesPerMin && trend.intervalBytesPerMin.low > 0, 'the interval alone would call it growth');
  assert.equal(formatTrend(trend, 'short'), 'not enough time to tell (moved < 1 MiB in 13 s)');
});

test('linear growth of 20 MiB/min through ±2 MiB noise over 60 s: growing, the true slope within the interval', () => {
  const trend = memoryTrend(series(7, 60, 20 * MIB, 2 * MIB));
  assert.equal(trend.status, 'growing', JSON.stringify(trend));
  assert.ok(covers(trend, 20 * MIB), JSON.stringify(trend));
  assert.ok(trend.stdErrBytesPerMin !== null && trend.stdErrBytesPerMin > 0);
  assert.match(formatTrend(trend, 'short'), /^\+\d+\.\d ± \d+\.\d MiB\/min \(95 %\)$/);
  const shrinking = memoryTrend(series(7, 60, -20 * MIB, 2 * MIB));
  assert.equal(shrinking.status, 'shrinking');
  assert.match(formatTrend(shrinking, 'short'), /^-\d+\.\d ± /);
  // 5 MiB/min is significant over that minute but has moved RSS less than the noise swings it:
  // the window cannot yet tell it from where the noise happened to start and end.
  const slow = memoryTrend(series(7, 60, 5 * MIB, 2 * MIB));
  assert.ok(slow.intervalBytesPerMin && slow.intervalBytesPerMin.low > 0, JSON.stringify(slow));
  assert.equal(slow.status, 'unknown');
  assert.equal(slow.reasonCode, 'small');
  assert.match(formatTrend(slow, 'short'), /^not enough time to tell \(moved 5\.\d MiB, swings \d+\.\d MiB\)$/);

  const doc = buildProfile(generate({ ...IO_HEAVY, seed: 11, intervals: 60, rssGrowthBytesPerS: (2 * MIB) / 60 }), META);
  assert.equal(doc.memory.trend.status, 'growing');
  assert.ok(covers(doc.memory.trend, 2 * MIB), JSON.stringify(doc.memory.trend));
  assert.match(renderText(doc, { color: false }), /trend \+2\.0 ± 0\.0 MiB\/min \(95 %\)/);
});

test('calibration over 400 seeded 30 s series: the 95 % interval covers the truth ≥ 93 % (independent noise) / ≥ 88 % (AR(1), ρ 0.6); flat is called a trend ≤ 7 % / ≤ 10 %', () => {
  // Independent noise: the interval is exact, coverage ≈ 0.95 (400 draws: ± 0.011 one sd).
  // AR(1) noise with ρ = 0.6 (RSS between collections): the correction is approximate, so the
  // bound is looser there.
  for (const [rho, minCover, maxFalse] of [
    [0, 0.93, 0.07],
    [0.6, 0.88, 0.1],
  ] as const) {
    let covered = 0;
    let falseAlarms = 0;
    const runs = 400;
    for (let seed = 1; seed <= runs; seed++) {
      const growing = memoryTrend(series(seed, 30, 5 * MIB, 2 * MIB, rho));
      if (growing.intervalBytesPerMin === null || covers(growing, 5 * MIB)) covered++;
      if (memoryTrend(series(seed + 10_000, 30, 0, 2 * MIB, rho)).status !== 'unknown') falseAlarms++;
    }
    assert.ok(covered / runs >= minCover, `ρ ${rho}: coverage ${covered / runs}`);
    assert.ok(falseAlarms / runs <= maxFalse, `ρ ${rho}: flat series called a trend ${falseAlarms / runs}`);
  }
});
