// The paired benchmarks' statistics: the interval the goal lines quote for a median.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { median, medianInterval } from '../../bench/pairs';

test('medianInterval: the order statistics of the sign test (binomial tables)', () => {
  const ranks = (n: number): number[] => Array.from({ length: n }, (_, i) => i + 1);
  // 90 %: n = 16 → 5th and 12th smallest; n = 8 → 2nd and 7th; n = 5 → the extremes (93.75 %).
  assert.deepEqual(medianInterval(ranks(16)), [5, 12]);
  assert.deepEqual(medianInterval(ranks(8)), [2, 7]);
  assert.deepEqual(medianInterval(ranks(5)), [1, 5]);
  // 95 %: n = 16 → 4th and 13th.
  assert.deepEqual(medianInterval(ranks(16), 0.95), [4, 13]);
  // Too few values for 90 %: even the extremes cover the median with only 87.5 % at n = 4.
  assert.ok(medianInterval(ranks(4)).every(Number.isNaN));
  // Order of the input does not matter.
  assert.deepEqual(medianInterval([9, 1, 14, 3, 16, 7, 5, 12, 2, 10, 8, 15, 4, 11, 6, 13]), [5, 12]);
});

test('medianInterval covers the median of the distribution at least as often as it says', () => {
  // A fixed pseudo-random sequence (LCG), so the test is the same on every run.
  let seed = 12345;
  const rand = (): number => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (const n of [8, 16, 24]) {
    let covered = 0;
    const trials = 4000;
    for (let t = 0; t < trials; t++) {
      const [lo, hi] = medianInterval(Array.from({ length: n }, rand));
      if (lo <= 0.5 && 0.5 <= hi) covered++;
    }
    assert.ok(covered / trials >= 0.89, `n=${n}: covered ${covered / trials}`);
    // and not a trivially wide interval: the whole sample would cover ~100 %
    assert.ok(covered / trials <= 0.98, `n=${n}: covered ${covered / trials}`);
  }
  assert.equal(median([3, 1, 2]), 2);
});
