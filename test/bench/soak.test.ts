// The soak's check in short: 50 s of churning Node and Python targets (attached, preloaded, of
// another uid, killed mid-attach) under one agent, judged by the same rules as `npm run soak`.
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { test } from 'node:test';
import { judge, text } from '../../bench/soak/judge';
import { runSoak } from '../../bench/soak/run';
import { recordCase } from '../helpers/reliability';

test('50 s of churn: agent RSS flat, fds back to baseline, nothing left in the temp dir', { timeout: 150_000 }, async (t) => {
  const logFile = path.join(os.tmpdir(), `soak-test-${process.pid}.log`);
  const run = await runSoak({ churnMs: 50_000, everyMs: 3000, sampleMs: 2000, scrapeMs: 2000, lifeS: [5, 12], logFile });
  const checks = judge(run);
  for (const line of text(run, checks).trimEnd().split('\n')) t.diagnostic(line);
  const failed = checks.filter((c) => !c.ok);
  assert.deepEqual(
    failed.map((c) => `${c.rule}: ${c.measured}`),
    [],
    `soak rules failed; agent log:\n${fs.readFileSync(logFile, 'utf8').slice(-3000)}`,
  );
  // The rules must be able to fail: the table has the samples they judge.
  assert.ok(run.samples.length >= 20, `${run.samples.length} samples`);
  assert.ok(Object.keys(run.kinds).length >= 6, `kinds started: ${Object.keys(run.kinds).join(', ')}`);
  const growth = checks[0]!.measured.split(' (')[0];
  recordCase(
    'soak-short',
    `passed: RSS ${growth} (fitted, last ${run.options.churnMs / 2000} s), fds ${run.drained.fds} after vs ${run.baseline.fds} before, no leftovers, ${run.scrapes.count} scrapes all 200`,
  );
  fs.rmSync(logFile, { force: true });
});
