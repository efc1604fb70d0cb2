// The text report fits 80 columns whatever the target's command line, colours only when asked,
// and never lets the target's strings send escape sequences to the terminal. The progress bar
// draws only on a TTY.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { buildProfile } from '../../src/report/build';
import { createProgress, type ProgressStream } from '../../src/report/progress';
import { renderText, visibleWidth, wrap } from '../../src/report/text';
import { CPU_HEAVY, generate, IO_HEAVY, META, MIXED, NO_TRAFFIC } from './synthetic';

const LONG_COMMAND = `node --max-old-space-size=4096 /srv/app/${'very-long-directory-name/'.repeat(8)}server.js --port 3000`;
const LOAD = { requests: 29950, rps: 998.3, latencyS: { p50: 0.061, p99: 0.0803, max: 0.12 }, errors: 0 };

function docs() {
  const meta = { ...META, target: { ...META.target, command: LONG_COMMAND }, load: LOAD, targetExited: true };
  return [IO_HEAVY, CPU_HEAVY, NO_TRAFFIC, MIXED].map((shape, i) =>
    buildProfile(generate({ ...shape, seed: i + 1, withLoop: true, withGc: true }), {
      ...meta,
      warnings: ['a warning long enough to need wrapping: '.repeat(4)],
    }),
  );
}

test('every line fits 80 columns, with and without colour', () => {
  for (const doc of docs()) {
    for (const color of [false, true]) {
      const text = renderText(doc, { color });
      for (const line of text.split('\n')) assert.ok(visibleWidth(line) <= 80, `${visibleWidth(line)}: ${line}`);
    }
  }
});

test('no ANSI escapes when colour is off; some when on', () => {
  const doc = docs()[0];
  assert.ok(doc);
  assert.ok(!renderText(doc, { color: false }).includes('\x1b'));
  assert.ok(renderText(doc, { color: true }).includes('\x1b['));
});

test('the verdict and its sentence come first, then the breakdown and one line per metric', () => {
  const doc = docs()[0];
  assert.ok(doc);
  const text = renderText(doc, { color: false });
  const lines = text.split('\n');
  assert.match(lines[0] ?? '', /^rtprof profile · pid 4242 · nodejs v20\.20\.2 · attach: preload/);
  assert.match(lines[3] ?? '', /^I\/O-BOUND\s+75 % of busy time/);
  for (const state of ['cpu', 'runqueue', 'io', 'lock', 'sleep', 'other', 'idle']) {
    assert.match(text, new RegExp(`^  ${state}\\s+[█▏▎▍▌▋▊▉ ]+ +\\d+\\.\\d %`, 'm'));
  }
  for (const label of ['event loop  delay p50', 'gc          ', 'memory      rss min', 'cpu         ', 'load        29,950 req (998/s)']) {
    assert.ok(text.includes(label), label);
  }
  assert.match(text, /evidence: probe: requests in flight/);
  assert.match(text, /! the target exited/);
});

test('a process without a probe says n/a for event loop and GC', () => {
  const doc = buildProfile(generate({ ...IO_HEAVY, seed: 1, evidence: 'none' }), {
    ...META,
    target: { ...META.target, runtime: 'other', runtimeVersion: null, attach: 'none' },
  });
  const text = renderText(doc, { color: false });
  assert.match(text, /event loop  n\/a/);
  assert.match(text, /gc          n\/a/);
  assert.match(text, /\/proc only/);
});

test('control characters from the target cannot reach the terminal', () => {
  const doc = buildProfile(generate({ ...IO_HEAVY, seed: 1 }), {
    ...META,
    target: { ...META.target, command: 'evil \x1b]0;pwned\x07\x1b[2J' },
  });
  const text = renderText(doc, { color: false });
  assert.ok(!text.includes('\x1b'));
  assert.ok(!text.includes('\x07'));
});

test('wrap keeps words whole and indents continuation lines', () => {
  assert.deepEqual(wrap('aaa bbb ccc ddd', 8, 2), ['aaa bbb', '  ccc', '  ddd']);
  assert.deepEqual(wrap('x'.repeat(12), 8), ['xxxxxxx…']);
});

function fakeStream(isTTY: boolean): ProgressStream & { out: string } {
  return {
    isTTY,
    columns: 60,
    out: '',
    write(chunk: string) {
      this.out += chunk;
      return true;
    },
  };
}

test('progress: nothing at all off a TTY', () => {
  const stream = fakeStream(false);
  const progress = createProgress({ totalS: 30, stream });
  progress.update(10);
  progress.done();
  assert.equal(stream.out, '');
});

test('progress: on a TTY, a bar that redraws in place, at most every 100 ms, and clears at the end', () => {
  const stream = fakeStream(true);
  let now = 0;
  const progress = createProgress({ totalS: 30, stream, label: 'profiling pid 4242', now: () => now });
  progress.update(15);
  progress.update(16); // same instant: throttled
  now = 150;
  progress.update(30, 'done');
  progress.done();
  progress.update(1);
  const draws = stream.out.split('\r\x1b[2K').filter(Boolean);
  assert.equal(draws.length, 2);
  assert.match(draws[0] ?? '', /^profiling pid 4242 \[#+\.+\] 15s\/30s$/);
  assert.match(draws[1] ?? '', /\[#+\] 30s\/30s done$/);
  assert.ok(draws.every((d) => d.length < 60));
  assert.ok(stream.out.endsWith('\r\x1b[2K'), 'cleared at the end');
});

test('an open-loop load says so, with p90, min and sub-ms precision, and counts what was left unanswered', () => {
  const load = {
    ...LOAD,
    latencyS: { p50: 0.0473, p90: 0.0512, p99: 0.0634, max: 0.0701, min: 0.00045 },
    mode: 'open-loop' as const,
    targetRps: 25,
    unfinished: 3,
  };
  const doc = buildProfile(generate({ ...IO_HEAVY, seed: 1 }), { ...META, load });
  const text = renderText(doc, { color: false });
  const loadLines = text.slice(text.indexOf('load        ')).split('\n').slice(0, 4).join(' ');
  for (const part of ['p50 47.3 ms', 'p90 51.2 ms', 'p99 63.4 ms', 'max 70.1 ms', 'min 450 µs', '3 unanswered', 'open loop at 25/s']) {
    assert.ok(loadLines.includes(part), `${part} in: ${loadLines}`);
  }
  for (const line of text.split('\n')) assert.ok(visibleWidth(line) <= 80, line);
});

test('counts agree with their nouns: 1 pause, 1 error; 2 pauses, 2 errors', () => {
  const samples = generate({ ...IO_HEAVY, seed: 2, withLoop: true, withGc: true });
  for (const s of samples) s.gc = [];
  samples[3]!.gc = [{ kind: 'minor', durationS: 0.002 }];
  const one = renderText(buildProfile(samples, { ...META, load: { ...LOAD, errors: 1 } }), { color: false });
  assert.match(one, /^gc {10}1 pause · total 2(\.00)? ms/m);
  assert.match(one, / 1 error$/m);
  samples[4]!.gc = [{ kind: 'minor', durationS: 0.001 }];
  const two = renderText(buildProfile(samples, { ...META, load: { ...LOAD, errors: 2 } }), { color: false });
  assert.match(two, /^gc {10}2 pauses · /m);
  assert.match(two, / 2 errors$/m);
});

test('sizes are binary units written as such (KiB, MiB, GiB), never MB', () => {
  for (const doc of docs()) {
    const text = renderText(doc, { color: false });
    assert.match(text, /MiB/);
    assert.doesNotMatch(text, /\b[KMG]B\b/);
  }
});
