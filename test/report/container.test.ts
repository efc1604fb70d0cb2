// The container part of a profile on crafted samples: throttled time carved out of the run queue,
// the verdict naming the CPU limit, the memory-limit warning, when `container` is null, and the
// text and HTML lines.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apportionInterval } from '../../src/report/breakdown';
import { buildProfile } from '../../src/report/build';
import { renderHtml } from '../../src/report/html';
import type { ProfileMeta, ProfileSample } from '../../src/report/model';
import { renderText, visibleWidth } from '../../src/report/text';

const ID = 'c0ffee'.repeat(10) + 'c0de';
const UID = '0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d';

/** A busy loop under a 0.2-core limit: 0.2 s on CPU, 0.8 s runnable, `throttledS` of it on the limit. */
function busy(i: number, throttledS: number | undefined, io = 0): ProfileSample {
  const s: ProfileSample = {
    t: 1_000_000 + i * 1000,
    durationS: 1,
    cpu: { userS: 0.2, systemS: 0 },
    rssBytes: 50e6,
    threadTime: { cpu: 0.2, runqueue: 0.8 - io, io, lock: 0, sleep: 0, other: 0 },
  };
  if (throttledS !== undefined) s.throttledS = throttledS;
  return s;
}

const CONTAINER: NonNullable<ProfileMeta['container']> = {
  id: ID,
  podUid: UID,
  podName: 'web-7d9f8-x2k4q',
  namespace: 'shop',
  cpuLimitCores: 0.2,
  memoryLimitBytes: 256 * 2 ** 20,
  memoryWorkingSetBytes: 100 * 2 ** 20,
};
const meta = (container: ProfileMeta['container']): ProfileMeta => ({
  target: { pid: 42, runtime: 'nodejs', runtimeVersion: '20.20.2', command: 'node app.js', attach: 'none' },
  container,
});

test('throttled time is carved out of the run queue and never exceeds it', () => {
  const partly = apportionInterval(busy(0, 0.3)).seconds;
  assert.ok(Math.abs(partly.throttled - 0.3) < 1e-12 && Math.abs(partly.runqueue - 0.5) < 1e-12, JSON.stringify(partly));
  const capped = apportionInterval(busy(0, 1.7)).seconds; // several CPUs' queues throttled at once
  assert.equal(capped.throttled, 0.8);
  assert.equal(capped.runqueue, 0);
  const none = apportionInterval(busy(0, undefined)).seconds;
  assert.equal(none.throttled, 0);
  assert.equal(none.runqueue, 0.8);
  for (const s of [partly, capped, none]) assert.ok(Math.abs(Object.values(s).reduce((a, b) => a + b, 0) - 1) < 1e-12);
});

test('throttled for most of busy time: cpu-bound, and the explanation names the limit', () => {
  const doc = buildProfile(
    [0, 1, 2, 3].map((i) => busy(i, 0.7)),
    meta(CONTAINER),
  );
  assert.equal(doc.verdict, 'cpu-bound');
  assert.ok(Math.abs(doc.breakdown.throttled - 0.7) < 1e-9 && Math.abs(doc.breakdown.runqueue - 0.1) < 1e-9, JSON.stringify(doc.breakdown));
  assert.match(doc.explanation, /^Throttled by its 0\.2-core CPU limit for 70 % of busy time \(20 % on CPU\): raise the limit/);
  assert.deepEqual(doc.container, { ...CONTAINER, throttledS: 2.8 });
});

test('a little throttling does not take over the verdict; I/O-bound stays I/O-bound', () => {
  const little = buildProfile(
    [0, 1].map((i) => busy(i, 0.1)),
    meta(CONTAINER),
  );
  assert.equal(little.verdict, 'mixed');
  assert.doesNotMatch(little.explanation, /Throttled/);
  const io = buildProfile(
    [0, 1].map((i) => busy(i, 0.1, 0.7)),
    meta(CONTAINER),
  );
  assert.equal(io.verdict, 'io-bound');
});

test('container is null outside any container and limit; fields are null when unknown', () => {
  const none = {
    id: null,
    podUid: null,
    podName: null,
    namespace: null,
    cpuLimitCores: null,
    memoryLimitBytes: null,
    memoryWorkingSetBytes: 5e6,
  };
  assert.equal(buildProfile([busy(0, undefined)], meta(none)).container, null);
  assert.equal(buildProfile([busy(0, undefined)], meta(undefined)).container, null);
  const limitedOnly = buildProfile([busy(0, 0.5)], meta({ ...none, cpuLimitCores: 0.5 })).container;
  assert.deepEqual(limitedOnly, { ...none, cpuLimitCores: 0.5, throttledS: 0.5 });
  const noLimit = buildProfile([busy(0, undefined)], meta({ ...none, id: ID })).container;
  assert.equal(noLimit?.throttledS, null, 'no CPU limit, no throttled time');
});

test('working set at ≥ 90 % of the memory limit is a warning; below it is not', () => {
  const at = (ws: number): string[] => buildProfile([busy(0, 0)], meta({ ...CONTAINER, memoryWorkingSetBytes: ws })).warnings;
  assert.ok(at(0.93 * 256 * 2 ** 20).some((w) => /memory working set 238\.1 MiB is 93 % of the cgroup's 256\.0 MiB limit/.test(w)));
  assert.ok(!at(0.85 * 256 * 2 ** 20).some((w) => w.includes('memory working set')));
});

test('text and HTML show the container line and the throttled state; text fits 80 columns', () => {
  const doc = buildProfile(
    [0, 1, 2].map((i) => busy(i, 0.7)),
    meta(CONTAINER),
  );
  const text = renderText(doc, { color: false });
  assert.match(text, /^container {3}id c0ffeec0ffee\n {12}pod web-7d9f8-x2k4q \(shop, uid 0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\)$/m);
  assert.match(text, /^ {12}CPU limit 0\.2 cores, throttled 2\.10 s\n {12}memory limit 256\.0 MiB, working set 100\.0 MiB \(39 %\)$/m);
  assert.match(text, /^ {2}throttled +█+ +70\.0 % +70 %$/m);
  for (const line of text.split('\n')) assert.ok(visibleWidth(line) <= 80, line);
  const html = renderHtml(doc);
  assert.match(html, /<p class="meta container">container · id c0ffeec0ffee · pod web-7d9f8-x2k4q/);
  assert.match(html, /<td><span class="swatch" style="background:#[0-9a-f]{6}"><\/span>throttled<\/td><td>70\.0 %<\/td>/);
});
