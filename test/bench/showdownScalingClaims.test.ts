// The multi-worker rows' arithmetic on given numbers: scaling efficiency, per-core efficiency, PSS
// per worker, and the scaling claims judged by the showdown's rule.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { SCENARIOS } from '../../bench/showdownMeasure';
import { renderShowdown } from '../../bench/showdownReport';
import {
  busiestWorkerShare,
  efficiencyOf,
  judgeScaling,
  latencyConsistent,
  perCoreEfficiency,
  pssPerWorker,
  SCALING_CLAIMS,
  scalingEfficiency,
} from '../../bench/showdownScalingClaims';
import type { ScalingRun, StackKey, StackResult, WorkerWindow } from '../../bench/showdownTypes';

const near = (actual: number, expected: number, tol = 1e-9): void =>
  assert.ok(Math.abs(actual - expected) <= tol, `${actual} is not within ${tol} of ${expected}`);

function window(workers: number, rps: number, serviceCores: number, workerPssMb: number[] = []): WorkerWindow {
  return {
    workers,
    rps,
    requests: rps * 10,
    errors: 0,
    latencyMs: { p50: 5, p99: 20, max: 30 },
    serviceCores,
    cpuPerRequestMs: (serviceCores * 1000) / rps,
    pssBytes: workerPssMb.reduce((a, b) => a + b, 10) * 1048576,
    workerPssBytes: workerPssMb.map((m) => m * 1048576),
    workerCores: workerPssMb.map(() => serviceCores / Math.max(1, workerPssMb.length)),
    processes: workers + 1,
    verdict: 'cpu-bound',
    busyShares: { cpu: 0.9, io: 0.05, runqueue: 0.05, lock: 0, other: 0 },
    loadSideCores: 0.3,
    foreignCores: 0.01,
    attempts: 1,
  };
}

function stack(key: StackKey, one: WorkerWindow, two: WorkerWindow): StackResult {
  return { key, label: key, version: 'x', probe: 'test', windows: [one, two] };
}

test('scaling efficiency is 2-worker throughput over twice the 1-worker throughput', () => {
  near(scalingEfficiency(window(1, 1000, 1), window(2, 2000, 2)), 1); // linear
  near(scalingEfficiency(window(1, 1000, 1), window(2, 1520, 1.6)), 0.76);
  near(scalingEfficiency(window(1, 4000, 1), window(2, 7280, 1.7)), 0.91);
  near(scalingEfficiency(window(1, 1000, 1), window(2, 900, 1.9)), 0.45); // 2 workers slower than 1
  near(scalingEfficiency(window(1, 1000, 1), window(4, 3000, 3)), 0.75); // n workers: ÷ n
});

test('per-core efficiency compares throughput per core of service CPU', () => {
  // Twice the throughput on twice the CPU: each core did as much as before.
  near(perCoreEfficiency(window(1, 1000, 1), window(2, 2000, 2)), 1);
  // 1.6 cores for 1.5× the requests: each core did 94 % of the single worker's.
  near(perCoreEfficiency(window(1, 1000, 1), window(2, 1500, 1.6)), 1500 / 1.6 / 1000);
  // The efficiency can be low (no free core) while per-core efficiency is 1.
  const one = window(1, 1000, 1);
  const two = window(2, 1300, 1.3);
  near(scalingEfficiency(one, two), 0.65);
  near(perCoreEfficiency(one, two), 1);
});

test('efficiency is NaN, never a number, without a usable 1-worker and n-worker pair', () => {
  assert.ok(Number.isNaN(scalingEfficiency(undefined, window(2, 2000, 2))));
  assert.ok(Number.isNaN(scalingEfficiency(window(1, 0, 1), window(2, 2000, 2))));
  assert.ok(Number.isNaN(scalingEfficiency(window(1, 1000, 1), window(2, NaN, 2))));
  assert.ok(Number.isNaN(scalingEfficiency(window(2, 1000, 1), window(2, 2000, 2))), 'both windows had 2 workers');
  assert.ok(Number.isNaN(perCoreEfficiency(window(1, 1000, 0), window(2, 2000, 2))), 'no CPU read');
  assert.ok(Number.isNaN(efficiencyOf({ key: 'gunicorn', label: 'g', version: 'x', probe: 'p', windows: [window(1, 1000, 1)] })));
  // Windows are found by worker count, not by order.
  near(efficiencyOf({ key: 'gunicorn', label: 'g', version: 'x', probe: 'p', windows: [window(2, 1500, 2), window(1, 1000, 1)] }), 0.75);
});

test('PSS per worker is the mean over the 2-worker window; the scaling claims read Node-advantage factors', () => {
  const node = stack('node-cluster', window(1, 4000, 1), window(2, 7280, 1.8, [60, 64]));
  const gunicorn = stack('gunicorn', window(1, 1000, 1), window(2, 1520, 1.8, [20, 22]));
  near(pssPerWorker(node), 62 * 1048576);
  near(pssPerWorker(gunicorn), 21 * 1048576);
  const [horizontal, parity, memory] = SCALING_CLAIMS;
  near(horizontal!.factor(node, gunicorn), 0.91 / 0.76);
  assert.equal(judgeScaling(horizontal!, node, gunicorn).verdict, 'holds');
  assert.equal(judgeScaling(parity!, node, gunicorn).verdict, 'does not hold'); // 1.20×: not similar
  // Python's workers are a third of Node's: the reverse of "120–180 MB vs 52–80 MB".
  near(memory!.factor(node, gunicorn), 21 / 62);
  assert.equal(judgeScaling(memory!, node, gunicorn).verdict, 'does not hold');
  const same = stack('uvicorn', window(1, 1000, 1), window(2, 1820, 1.8, [40, 40]));
  assert.equal(judgeScaling(parity!, node, same).verdict, 'holds');
  const noPss = stack('uvicorn', window(1, 1000, 1), window(2, 1820, 1.8));
  assert.equal(judgeScaling(memory!, node, noPss).verdict, 'not comparable');
});

test('the document gains the multi-worker section, and says when its rows come from another run', () => {
  const scaling: ScalingRun = {
    startedAt: '2026-12-05T11:00:00.000Z',
    partOfRun: null,
    durationS: 60,
    windowS: 10,
    path: '/json',
    connections: 50,
    machine: 'm',
    command: 'c',
    stacks: [
      stack('node-cluster', window(1, 4000, 1), window(2, 7280, 1.8, [60, 64])),
      stack('gunicorn', window(1, 1000, 1), window(2, 1520, 1.8, [20, 22])),
      stack('uvicorn', window(1, 1000, 1), window(2, 1700, 1.8, [40, 41])),
    ],
  };
  const run = {
    startedAt: '2026-11-23T19:21:00.000Z',
    durationS: 1,
    windowS: 1,
    coldStarts: 3,
    machine: 'm',
    command: 'c',
    fastapiInstalled: false,
    runtimes: [],
    scaling,
  };
  const md = renderShowdown(run, SCENARIOS);
  assert.match(md, /\| node-cluster \| 4000 req\/s \| 7280 req\/s \| \*\*91\.0 %\*\* \|/);
  assert.match(md, /\| gunicorn \| 1000 req\/s \| 1520 req\/s \| \*\*76\.0 %\*\* \|/);
  for (const c of SCALING_CLAIMS) assert.ok(md.includes(`| ${c.claim} |`), c.claim);
  assert.match(md, /a separate run from the single-process tables above\*\* \(those: 2026-11-23 19:21 UTC\)/);
  const together = renderShowdown({ ...run, scaling: { ...scaling, partOfRun: run.startedAt } }, SCENARIOS);
  assert.doesNotMatch(together, /separate run/);
  assert.doesNotMatch(md, /undefined|NaN/);
  assert.doesNotMatch(md, /\/work\/|seeds|\.txt/, 'the document names no path outside the project');
});

test("latencies that contradict the throughput are flagged; the busiest worker's share shows an uneven split", () => {
  // 50 connections at 5000 req/s: 10 ms on average.
  assert.equal(latencyConsistent(9, 50, 5000), true);
  assert.equal(latencyConsistent(29, 50, 5000), true);
  assert.equal(latencyConsistent(31, 50, 5000), false);
  assert.equal(latencyConsistent(800, 50, 3500), false); // autocannon against gunicorn's sync workers
  assert.equal(latencyConsistent(5, 50, 0), false);
  near(busiestWorkerShare([0.5, 0.5]), 0.5);
  near(busiestWorkerShare([0.9, 0.1]), 0.9);
  assert.ok(Number.isNaN(busiestWorkerShare([0, 0])));
});
