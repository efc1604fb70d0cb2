// splitInterval on synthetic numbers: exact where schedstat is exact, proportional elsewhere.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { splitInterval, THREAD_STATES } from '../../collectors/proc/threadTime';
import { classifyWait } from '../../collectors/proc/syscalls';

const sum = (t: Record<string, number>): number => THREAD_STATES.reduce((s, k) => s + (t[k] ?? 0), 0);

test('cpu and runqueue come from schedstat, the rest is split by the tally', () => {
  const t = splitInterval(1e9, 2e8, 1e8, { io: 3, lock: 1, sleep: 0, other: 0 });
  assert.equal(t.cpu, 0.2);
  assert.equal(t.runqueue, 0.1);
  assert.ok(Math.abs(t.io - 0.525) < 1e-12);
  assert.ok(Math.abs(t.lock - 0.175) < 1e-12);
  assert.ok(Math.abs(sum(t) - 1) < 1e-12);
});

test('scheduler time beyond the wall clock is clamped, never negative', () => {
  const t = splitInterval(1e9, 9e8, 3e8, { io: 1, lock: 0, sleep: 0, other: 0 });
  assert.ok(Math.abs(sum(t) - 1) < 1e-12);
  assert.equal(t.io, 0);
  assert.ok(t.cpu > t.runqueue);
});

test('off-CPU time with no observation is other', () => {
  const t = splitInterval(5e8, 1e8, 0, { io: 0, lock: 0, sleep: 0, other: 0 });
  assert.ok(Math.abs(t.other - 0.4) < 1e-12);
});

test('syscalls map to states (x86_64 numbers)', { skip: process.arch !== 'x64' ? 'x86_64 table' : false }, () => {
  assert.equal(classifyWait('S', '232'), 'io'); // epoll_wait
  assert.equal(classifyWait('S', '202'), 'lock'); // futex
  assert.equal(classifyWait('S', '230'), 'sleep'); // clock_nanosleep
  assert.equal(classifyWait('D', '0'), 'io');
  assert.equal(classifyWait('S', '61'), 'other'); // wait4
  assert.equal(classifyWait('S', 'running'), 'other');
});
