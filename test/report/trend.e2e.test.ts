// The memory trend of `rtprof profile` on real processes with a known answer: a Node process that
// keeps 1 MiB more every 100 ms grows at 600 MiB/min, and the report says so within its stated
// interval; one that allocates as much and keeps none of it has no trend.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { ProfileDocument } from '../../src/report';
import { formatTrend } from '../../src/report/format';
import { rtprof } from '../helpers/agent';
import { sleep, start } from '../helpers/processes';
import { nodeFixture } from '../helpers/spawn';

const MIB = 2 ** 20;
const GROW_S = 20;
const PROFILE_S = 14;
/** 1 MiB per 100 ms; each buffer also costs its allocator chunk header and page rounding, under 1 %. */
const TRUTH = { low: 600 * MIB, high: 606 * MIB };

async function profileOf(pid: number, seconds: number): Promise<ProfileDocument> {
  // /proc only: RSS needs no probe, and the test then waits on no inspector attach.
  const p = rtprof(['profile', '--pid', String(pid), '--no-attach', '--duration', `${seconds}s`, '--json']);
  const { code } = await p.exited;
  assert.equal(code, 0, `profile exit code; stderr: ${p.stderr()}`);
  return JSON.parse(p.stdout()) as ProfileDocument;
}

const show = (doc: ProfileDocument): string =>
  `${formatTrend(doc.memory.trend, 'long')} ${JSON.stringify(doc.memory.trend)} rss MiB: ${doc.series.map((p) => (p.rssBytes / MIB).toFixed(1)).join(' ')}`;

test(`a process keeping 1 MiB every 100 ms: growing, 600 MiB/min (+1 % allocator overhead) inside the stated 95 % interval`, async (t) => {
  const app = start(process.execPath, [nodeFixture('memory-trend.cjs')], { env: { ...process.env, MODE: 'grow', GROW_S: String(GROW_S) } });
  const [, t0] = await app.waitFor(/READY pid=\d+ mode=grow t0=(\d+)/);
  const doc = await profileOf(app.pid, PROFILE_S);
  app.kill();
  const trend = doc.memory.trend;
  t.diagnostic(show(doc));
  assert.ok(
    Date.parse(doc.window.end) <= Number(t0) + GROW_S * 1000,
    `the window must lie within the ${GROW_S} s of growth (the machine was too slow to start the profile): ${doc.window.end}`,
  );
  assert.equal(trend.status, 'growing', show(doc));
  assert.ok(trend.intervalBytesPerMin && trend.bytesPerMin !== null, show(doc));
  assert.ok(
    trend.intervalBytesPerMin.low <= TRUTH.high && trend.intervalBytesPerMin.high >= TRUTH.low,
    `truth inside the interval: ${show(doc)}`,
  );
  assert.ok(Math.abs(trend.bytesPerMin - 600 * MIB) <= 0.1 * 600 * MIB, `slope within 10 % of 600 MiB/min: ${show(doc)}`);
  assert.ok(trend.windowS >= 12 && trend.confidence === 0.95, show(doc));
});

test('a process allocating 1 MiB every 100 ms and keeping none: not enough time to tell', async (t) => {
  const app = start(process.execPath, [nodeFixture('memory-trend.cjs')], { env: { ...process.env, MODE: 'flat' } });
  await app.waitFor(/READY pid=\d+ mode=flat/);
  // Its first seconds are the allocator and the heap sizing up to the churn: real growth, not a trend.
  await sleep(6000);
  // Longer than the growing case: its collection cycle swings RSS by 30 MiB every 3-4 s, and a
  // short window can end on a plateau of it.
  const doc = await profileOf(app.pid, 20);
  app.kill();
  t.diagnostic(show(doc));
  assert.equal(doc.memory.trend.status, 'unknown', show(doc));
  assert.ok(doc.memory.rssBytes.max - doc.memory.rssBytes.min > 4 * MIB, `RSS moved (the churn is real): ${show(doc)}`);
});
