// A hostile client on the channel (it holds a real launch token) cannot multiply the agent's series
// nor plant absurd values: 1000 new GC kinds, 256 resource types and 64 heap spaces per snapshot
// once took /metrics from ~17 KiB to 10 MiB. Now those snapshots are dropped, names that pass are
// capped per target, and 1e308 never reaches a series.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parsePrometheus, rtprof } from '../../helpers/agent';
import { sleep } from '../../helpers/processes';
import { nodeFixture } from '../../helpers/spawn';
import { recordCase } from '../../helpers/reliability';

const labelValues = (samples: ReturnType<typeof parsePrometheus>['samples'], name: RegExp, label: string): Set<string> =>
  new Set(samples.filter((s) => name.test(s.name) && s.labels[label] !== undefined).map((s) => s.labels[label]!));

test('hostile snapshots: /metrics stays small, names capped per target, absurd values dropped', async (t) => {
  // env -u: the real preload stays out; the fixture speaks on the channel itself.
  const run = rtprof([
    'run',
    '--port',
    '0',
    '--interval',
    '500ms',
    '--',
    'env',
    '-u',
    'NODE_OPTIONS',
    process.execPath,
    nodeFixture('hostile-probe.cjs'),
  ]);
  try {
    const [, url] = await run.waitFor(/metrics at (http:\/\/\S+)\/metrics/, 20_000);
    const [, pid] = await run.waitFor(/READY pid=(\d+)/, 20_000);
    await sleep(4000); // 16 rounds of hostile snapshots
    const text = await (await fetch(`${url}/metrics`)).text();
    t.diagnostic(`/metrics: ${text.length} bytes`);
    const { samples } = parsePrometheus(text);
    const mine = samples.filter((s) => s.labels.process_pid === pid);
    assert.ok(
      mine.some((s) => s.name.startsWith('v8js_')),
      'the snapshots that fit the rules are used',
    );
    assert.ok(text.length < 200 * 1024, `/metrics is ${Math.round(text.length / 1024)} KiB`);
    assert.ok(labelValues(mine, /^v8js_gc_duration/, 'v8js_gc_type').size <= 5, 'GC kinds only from the known set');
    assert.equal(labelValues(mine, /^v8js_resource/, 'v8js_resource_type').size, 32, 'resource types capped at 32');
    const spaces = labelValues(mine, /^v8js_memory/, 'v8js_heap_space_name');
    assert.equal(spaces.size, 32, `heap spaces capped at 32: ${spaces.size}`);
    const absurd = mine.filter((s) => s.value > 1e300);
    assert.deepEqual(absurd, [], 'no 1e308 in any series');
    const dropped = samples.find((s) => s.name === 'rtprof_channel_dropped_total' && s.labels.reason === 'bad_schema');
    assert.ok(dropped && dropped.value >= 16, `bad_schema drops: ${dropped?.value}`);
    recordCase(
      'hostile',
      `${text.length.toLocaleString('en')} bytes; GC kinds ${labelValues(mine, /^v8js_gc_duration/, 'v8js_gc_type').size} (≤ 5), 32 resource types, ${spaces.size} heap spaces; no value > 1e300; ${dropped.value} bad snapshots counted as \`bad_schema\``,
    );
  } finally {
    run.kill('SIGTERM');
    await run.exited;
  }
});
