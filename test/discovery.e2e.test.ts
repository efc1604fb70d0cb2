// `rtprof ps` and `rtprof agent --discover`: finding Node and Python processes from /proc.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { rtprof, startAgent } from './helpers/agent';
import { PYTHON, sleep, start } from './helpers/processes';

test('rtprof ps lists node and python processes with runtime, version and attachability', async () => {
  const node = start(process.execPath, ['-e', 'setInterval(()=>{}, 1000)', 'ps-marker-node']);
  const py = start(PYTHON, ['-c', 'import time\nwhile True: time.sleep(1)', 'ps-marker-py']);
  const sh = start('sleep', ['30']);
  await sleep(300);
  const ps = rtprof(['ps', '--json']);
  await ps.exited;
  const rows = JSON.parse(ps.stdout()) as Array<{ pid: number; runtime: string; version: string; attachable: boolean; user: string }>;
  const byPid = new Map(rows.map((r) => [r.pid, r]));
  assert.equal(byPid.get(node.pid)?.runtime, 'nodejs');
  assert.equal(byPid.get(node.pid)?.version, process.versions.node);
  assert.equal(byPid.get(node.pid)?.attachable, true);
  assert.equal(byPid.get(py.pid)?.runtime, 'cpython');
  assert.match(byPid.get(py.pid)?.version ?? '', /^3\.11\./);
  assert.equal(byPid.has(sh.pid), false, 'a plain process is not listed');
  const table = rtprof(['ps']);
  await table.exited;
  assert.match(table.stdout(), /PID\s+RUNTIME\s+VERSION\s+USER\s+ATTACH\s+COMMAND/);
  assert.match(table.stdout(), new RegExp(`${node.pid}\\s+nodejs`));
  node.kill();
  py.kill();
  sh.kill();
});

// readdir's string order is shown in test/collectors/proc/procfs.test.ts; here, that the rows keep pid order.
test('rtprof ps lists pids in numeric order, in the JSON and in the table', async () => {
  const nodes = [0, 1, 2].map((i) => start(process.execPath, ['-e', 'setInterval(()=>{}, 1000)', `ps-order-${i}`]));
  await sleep(300);
  const ps = rtprof(['ps', '--json']);
  await ps.exited;
  const pids = (JSON.parse(ps.stdout()) as Array<{ pid: number }>).map((r) => r.pid);
  for (const n of nodes) assert.ok(pids.includes(n.pid), `${n.pid} listed`);
  assert.deepEqual(
    pids,
    [...pids].sort((a, b) => a - b),
    'JSON rows by pid',
  );
  const table = rtprof(['ps']);
  await table.exited;
  const tablePids = table
    .stdout()
    .split('\n')
    .slice(1)
    .map((line) => Number(/^\s*(\d+)\s/.exec(line)?.[1]))
    .filter((pid) => pid > 0);
  assert.deepEqual(
    tablePids,
    [...tablePids].sort((a, b) => a - b),
    'table rows by pid',
  );
  for (const n of nodes) n.kill();
});

test('agent --discover --match picks up new matching processes and drops dead ones', async () => {
  const agent = await startAgent(['--discover', '--match', 'disco-worker', '--interval', '500ms', '--no-attach']);
  const other = start(PYTHON, ['-c', 'import time\nwhile True: time.sleep(1)', 'unrelated']);
  const worker = start(PYTHON, ['-c', 'import time\nwhile True: time.sleep(1)', 'disco-worker']);
  const targets = async (): Promise<number[]> =>
    ((await (await agent.get('/api/targets')).json()) as Array<{ pid: number }>).map((t) => t.pid);
  await sleep(1500);
  let pids = await targets();
  assert.ok(pids.includes(worker.pid), 'the new matching process is watched');
  assert.ok(!pids.includes(other.pid), 'a non-matching process is not');
  worker.kill();
  await worker.exited;
  await sleep(1200);
  pids = await targets();
  assert.ok(!pids.includes(worker.pid), 'the dead process is dropped');
  assert.equal(await agent.stop(), 0);
  other.kill();
});
