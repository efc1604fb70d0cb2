// An independent oracle for the /proc collector: pidusage (the library most Node tools use for
// per-process CPU and memory) reads the same process at the same moment, and the agent's
// exported process.cpu.time and process.memory.usage must agree with it.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pidusage from 'pidusage';
import { parsePrometheus, startAgent, valuesOf } from '../helpers/agent';
import { start } from '../helpers/processes';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('process CPU time and RSS exported by the agent agree with pidusage', async () => {
  // Half busy (spin 50 ms, sleep 50 ms) with ~60 MB resident, so both numbers are far from 0.
  const target = start(process.execPath, [
    '-e',
    `const keep = Buffer.alloc(60 * 1048576, 1);
     setInterval(() => { const t = Date.now(); while (Date.now() - t < 50); }, 100);
     setInterval(() => keep[0]++, 1000);`,
  ]);
  const agent = await startAgent(['--pid', String(target.pid), '--no-attach', '--interval', '500ms']);
  try {
    await sleep(3000);
    // Several paired readings: the agent's counters are updated every 500 ms, so compare each
    // with pidusage read right after the scrape, allowing one interval of drift.
    for (let i = 0; i < 3; i++) {
      const { samples } = parsePrometheus(await agent.scrape());
      const usage = await pidusage(target.pid);
      const cpu = valuesOf(samples, 'process_cpu_time_seconds_total', target.pid).reduce((s, x) => s + x.value, 0);
      const rss = valuesOf(samples, 'process_memory_usage_bytes', target.pid)[0]?.value;
      assert.ok(rss !== undefined, 'process_memory_usage_bytes exported');
      const cpuOracle = usage.ctime / 1000;
      assert.ok(cpuOracle > 0.8, `target burnt CPU (pidusage ctime ${cpuOracle} s)`);
      // one 500 ms interval at 50 % CPU plus scheduling slack
      assert.ok(
        cpu <= cpuOracle + 0.05 && cpu >= cpuOracle - 0.45,
        `cpu time: rtprof ${cpu.toFixed(3)} s vs pidusage ${cpuOracle.toFixed(3)} s`,
      );
      assert.ok(Math.abs(rss - usage.memory) / usage.memory < 0.05, `rss: rtprof ${rss} vs pidusage ${usage.memory}`);
      assert.ok(rss > 60 * 1048576, `rss ${rss} includes the 60 MB buffer`);
      await sleep(700);
    }
  } finally {
    await agent.stop();
    target.kill();
    pidusage.clear();
  }
});
