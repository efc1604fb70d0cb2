// The showdown's claim judge on given numbers: the rule docs/SHOWDOWN.md states.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCENARIOS } from '../../bench/showdownMeasure';
import { CLAIMS, judge, median } from '../../bench/showdownClaims';
import { renderShowdown } from '../../bench/showdownReport';
import type { RuntimeResult, ScenarioKey, ScenarioResult } from '../../bench/showdownTypes';

test('a claimed ratio holds within ±15 % of its range, else direction only or does not hold', () => {
  const fiveX = { kind: 'ratio', lo: 5.1, hi: 5.1 } as const;
  assert.equal(judge(fiveX, 5.1).verdict, 'holds');
  assert.equal(judge(fiveX, 4.5).verdict, 'holds');
  assert.equal(judge(fiveX, 1.8).verdict, 'direction only');
  assert.match(judge(fiveX, 1.8).why, /by less than claimed/);
  assert.match(judge({ kind: 'ratio', lo: 1.15, hi: 1.15 }, 2.7).why, /by more than claimed/);
  assert.equal(judge(fiveX, 1.1).verdict, 'does not hold');
  assert.equal(judge(fiveX, 0.4).verdict, 'does not hold');
  const pythonLess = { kind: 'ratio', lo: 0.8, hi: 0.8 } as const; // "Python uses ~20 % less memory"
  assert.equal(judge(pythonLess, 0.75).verdict, 'holds');
  assert.equal(judge(pythonLess, 0.3).verdict, 'direction only');
  assert.match(judge(pythonLess, 0.3).why, /Python ahead as claimed, by more than claimed/);
  assert.equal(judge(pythonLess, 2).verdict, 'does not hold');
});

test('directions need a clear margin; parity holds only within it', () => {
  assert.equal(judge({ kind: 'direction', better: 'node' }, 1.2).verdict, 'holds');
  assert.equal(judge({ kind: 'direction', better: 'node' }, 1.05).verdict, 'does not hold');
  assert.match(judge({ kind: 'direction', better: 'node' }, 0.5).why, /reverse/);
  assert.equal(judge({ kind: 'parity' }, 1.1).verdict, 'holds');
  assert.equal(judge({ kind: 'parity' }, 7).verdict, 'does not hold');
  assert.equal(judge({ kind: 'at-least', value: 5, unit: 'ms' }, 12).verdict, 'holds');
  assert.equal(judge({ kind: 'direction', better: 'node' }, NaN).verdict, 'not comparable');
  assert.equal(judge({ kind: 'not-comparable', why: 'x' }, 1).verdict, 'not comparable');
});

function runtime(key: RuntimeResult['key'], scale: number): RuntimeResult {
  const sc: ScenarioResult = {
    rps: 1000 / scale,
    requests: 10_000,
    errors: 0,
    latencyMs: { p50: scale, p99: 10 * scale, max: 20 * scale },
    cpuPerRequestMs: scale,
    cores: 1,
    loopDelayP99Ms: 6,
    interpreterDelayP99Ms: null,
    gcShare: 0.01 * scale,
    gcCount: 10,
    rssPeakBytes: 50e6 * scale,
    verdict: 'cpu-bound',
    busyShares: { cpu: 1, io: 0, runqueue: 0, lock: 0, other: 0 },
    mainThreadCpuShare: 1,
    loadSideCores: 0.3,
    foreignCpu0Cores: 0,
    foreignCpu1Cores: 0,
    attempts: 1,
  };
  const keys: ScenarioKey[] = ['json-rate', 'json-sat', 'io-rate', 'io-sat', 'cpu-rate', 'cpu-sat'];
  return {
    key,
    label: key,
    version: 'x',
    coldStartMs: [100 * scale, 90 * scale, 300 * scale],
    readyMs: [90 * scale],
    baselineRssBytes: 50e6 * scale,
    warmRssBytes: 50e6 * scale,
    iterationsPerMs: 1000 / scale,
    probe: 'test',
    scenarios: Object.fromEntries(keys.map((k) => [k, sc])) as Record<ScenarioKey, ScenarioResult>,
  };
}

test('every measurable claim reads a factor that favours the better runtime', () => {
  assert.equal(median([3, 1, 2]), 2);
  const node = runtime('node', 1);
  const python = runtime('asyncio', 2); // twice the memory, twice the ms, half the req/s
  for (const c of CLAIMS) {
    if (c.form.kind === 'not-comparable' || c.form.kind === 'at-least') continue;
    assert.ok(Math.abs(c.factor(node, python) - 2) < 1e-9, `${c.claim}: ${c.factor(node, python)}`);
    assert.notEqual(c.measured(node, python), '');
  }
});

test('the document carries every claim, its source and a verdict, and no empty cell', () => {
  const run = {
    startedAt: new Date(0).toISOString(),
    durationS: 1,
    windowS: 1,
    coldStarts: 3,
    machine: 'm',
    command: 'c',
    fastapiInstalled: false,
    runtimes: [runtime('node', 1), runtime('asyncio', 2), runtime('threaded', 2)],
  };
  const md = renderShowdown(run, SCENARIOS);
  for (const c of CLAIMS) assert.ok(md.includes(`| ${c.claim} |`), c.claim);
  assert.match(md, /\| Node.js 5.1× the throughput .*\| \*\*direction only\*\* \|/);
  assert.doesNotMatch(md, /undefined|NaN|\| \|/);
});
