// The load's warnings: said only when the open-loop latencies need them read with care.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { loadWarnings } from '../../src/profile/load';
import type { LoadSummary } from '../../src/report';

const BASE: LoadSummary = {
  requests: 250,
  rps: 25,
  latencyS: { p50: 0.048, p99: 0.06, max: 0.07 },
  errors: 0,
  mode: 'open-loop',
  scheduled: 250,
  unfinished: 0,
  sendLagS: { p50: 0.0005, p99: 0.004, max: 0.006 },
  maxQueued: 0,
};

test('a punctual open loop with every request answered, and a closed loop, warn of nothing', () => {
  assert.deepEqual(loadWarnings(BASE), []);
  assert.deepEqual(loadWarnings({ ...BASE, mode: 'closed-loop', unfinished: 9 }), []);
  assert.deepEqual(loadWarnings(null), []);
});

test('unanswered requests and a late generator are each one line', () => {
  const [unanswered] = loadWarnings({ ...BASE, unfinished: 7 });
  assert.match(unanswered ?? '', /7 of 250 requests were unanswered/);
  const [late] = loadWarnings({ ...BASE, sendLagS: { p50: 0.002, p99: 0.0412, max: 0.09 } });
  assert.match(late ?? '', /41\.2 ms or more late with a connection free/);
  // late because every connection was busy: that is the service's backlog, not the generator
  assert.deepEqual(loadWarnings({ ...BASE, sendLagS: { p50: 0.2, p99: 0.5, max: 0.6 }, maxQueued: 12 }), []);
});
