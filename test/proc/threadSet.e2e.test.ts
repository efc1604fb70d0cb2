// The per-thread accounting of collectors/proc/threadSet.ts against the kernel's own counters, on a
// busy CPU: a Node loop that computes 4 ms every 20 ms shares CPU 0 with a spinning hog, so at many
// looks it is queued for the CPU, and between two such looks it often slept. Its cpu and run queue
// must come out as schedstat counts them, not with the sleeps between runnable looks taken for
// run-queue waits.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ThreadSet } from '../../collectors/proc/threadSet';
import { schedstat } from '../helpers/groundTruth';
import { sleep, start } from '../helpers/processes';

function schedstatS(pid: number): [number, number] {
  const { cpuNs, runqueueNs } = schedstat(pid);
  return [cpuNs / 1e9, runqueueNs / 1e9];
}

test('a loop sharing its CPU with a hog: cpu and run queue as schedstat counts them, its sleeps as its wait', async () => {
  const loop = start('taskset', [
    '-c',
    '0',
    process.execPath,
    '-e',
    'setInterval(() => { const e = performance.now() + 4; while (performance.now() < e); }, 20); console.log("ready")',
  ]);
  const hog = start('taskset', ['-c', '0', process.execPath, '-e', 'for (;;);']);
  try {
    await loop.waitFor(/ready/);
    await sleep(300);
    const set = new ThreadSet(loop.pid, 1);
    set.tick();
    set.collect();
    const [cpu0, rq0] = schedstatS(loop.pid);
    const totals = { cpu: 0, runqueue: 0, ready: 0, wall: 0 };
    const add = (): void => {
      for (const t of set.collect()) {
        if (!t.main) continue;
        totals.cpu += t.seconds.cpu;
        totals.runqueue += t.seconds.runqueue;
        totals.ready += t.seconds.ready;
        totals.wall += Object.values(t.seconds).reduce((a, b) => a + b, 0);
      }
    };
    for (let i = 0; i < 150; i++) {
      await sleep(20);
      set.tick();
      if (i % 50 === 49) add();
    }
    const [cpu1, rq1] = schedstatS(loop.pid);
    const truth = { cpu: cpu1 - cpu0, runqueue: rq1 - rq0 };
    const line = `threadSet ${JSON.stringify(totals)} vs schedstat ${JSON.stringify(truth)}`;
    process.stderr.write(`${line}\n`);
    assert.ok(truth.runqueue > 0.05, `the hog made the loop queue for its CPU: ${line}`);
    assert.ok(Math.abs(totals.cpu - truth.cpu) <= 0.02 + 0.05 * truth.cpu, `cpu: ${line}`);
    assert.ok(Math.abs(totals.runqueue - truth.runqueue) <= 0.03 + 0.15 * truth.runqueue, `run queue: ${line}`);
    // The rest of its time it waited in epoll, the loop's readiness wait.
    assert.ok(totals.ready >= 0.8 * (totals.wall - truth.cpu - truth.runqueue), `its sleeps are its epoll wait: ${line}`);
  } finally {
    hog.kill();
    loop.kill();
  }
});
