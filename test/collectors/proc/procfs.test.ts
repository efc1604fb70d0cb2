// /proc listings come back in numeric order: the kernel hands out names that libuv's readdir sorts
// as strings ("10" before "9").
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { test } from 'node:test';
import { listPids, listTids } from '../../../collectors/proc/procfs';

const ascending = (xs: number[]): boolean => xs.every((x, i) => i === 0 || xs[i - 1]! < x);

test('listPids and listTids are in numeric order, not readdir order', (t) => {
  const raw = readdirSync('/proc')
    .filter((n) => /^\d+$/.test(n))
    .map(Number);
  // The sort shows where pids of different lengths interleave in string order ("13" after "10425":
  // nearly every host). Where readdir's order happens to be numeric the assertions below cannot
  // tell the difference, and the test says so.
  if (ascending(raw)) t.diagnostic(`readdir order is already numeric here: ${raw.slice(0, 8).join(' ')}`);
  const pids = listPids();
  assert.ok(ascending(pids), pids.slice(0, 20).join(' '));
  assert.deepEqual(
    [...pids].sort((a, b) => a - b),
    [...raw].sort((a, b) => a - b),
  );
  assert.ok(ascending(listTids(process.pid)));
});
