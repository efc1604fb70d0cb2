// The demo's side-by-side table: sizes in MiB, the memory trend as the reports state it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { compareTable } from '../../src/demo/compare';
import { buildProfile } from '../../src/report/build';
import { generate, IO_HEAVY, META } from '../report/synthetic';

test('RSS in MiB, never MB; the trend row says when the window cannot tell', () => {
  const short = buildProfile(generate({ ...IO_HEAVY, seed: 1, intervals: 10 }), META);
  const growing = buildProfile(generate({ ...IO_HEAVY, seed: 1, intervals: 60, rssGrowthBytesPerS: 2 ** 21 / 60 }), META);
  const table = compareTable([
    ['short', short],
    ['growing', growing],
  ]);
  assert.match(table, /^RSS \(avg\) +50\.0 MiB +5\d\.\d MiB$/m);
  assert.match(table, /^RSS trend +not enough time to tell +\+2\.0 ± 0\.0 MiB\/min \(95 %\)$/m);
  assert.doesNotMatch(table, /\bMB\b/);
});
