// The /proc thread-state breakdown attributes real processes' time to the right state.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProcCollector } from '../../collectors/proc/process';
import { readStat } from '../../collectors/proc/procfs';
import { SamplerHub } from '../../collectors/proc/sampler';
import { THREAD_STATES, zeroTimes, type ThreadTimes } from '../../collectors/proc/threadTime';
import { PYTHON, sleep, start } from '../helpers/processes';

/** Watches pid for windowMs after a settle time and returns the main thread's share per state. */
async function shares(pid: number, windowMs = 2000): Promise<ThreadTimes> {
  await sleep(300);
  const collector = new ProcCollector(pid, readStat(pid).startTicks);
  const hub = new SamplerHub(50);
  hub.add(collector);
  collector.collect();
  const total = zeroTimes();
  for (let i = 0; i < windowMs / 500; i++) {
    await sleep(500);
    const s = collector.collect();
    assert.ok(s, 'target still alive');
    for (const k of THREAD_STATES) total[k] += s.threadTimeDelta[k];
  }
  hub.stop();
  collector.close();
  const wall = THREAD_STATES.reduce((sum, k) => sum + total[k], 0);
  assert.ok(Math.abs(wall - windowMs / 1000) < 0.25, `states sum to the wall time (${wall.toFixed(3)} s)`);
  for (const k of THREAD_STATES) total[k] /= wall;
  return total;
}

const fmt = (t: ThreadTimes): string => THREAD_STATES.map((k) => `${k}=${t[k].toFixed(2)}`).join(' ');

test('a spinning process is ≥ 90 % cpu (+ runqueue when the machine is busy)', async () => {
  const p = start(process.execPath, ['-e', 'for(;;){}']);
  const s = await shares(p.pid);
  // On a loaded 2-core machine a spinner waits for a CPU: that is runqueue, not I/O or sleep.
  assert.ok(s.cpu + s.runqueue >= 0.9, fmt(s));
  assert.ok(s.cpu >= 0.5, fmt(s));
  p.kill();
});

test('a sleeper is ≥ 90 % sleep', async () => {
  const p = start(PYTHON, ['-c', 'import time\nwhile True: time.sleep(10)']);
  const s = await shares(p.pid);
  assert.ok(s.sleep >= 0.9, fmt(s));
  p.kill();
});

test('a thread blocked reading a socket is ≥ 90 % io', async () => {
  const p = start(PYTHON, ['-c', 'import socket\na, b = socket.socketpair()\nprint("ready", flush=True)\na.recv(1)']);
  await p.waitFor(/ready/);
  const s = await shares(p.pid);
  assert.ok(s.io >= 0.9, fmt(s));
  p.kill();
});

test('a thread waiting on a lock (futex) is ≥ 90 % lock', async () => {
  const p = start(PYTHON, ['-c', 'import threading\nl = threading.Lock()\nl.acquire()\nprint("ready", flush=True)\nl.acquire()']);
  await p.waitFor(/ready/);
  const s = await shares(p.pid);
  assert.ok(s.lock >= 0.9, fmt(s));
  p.kill();
});

test('a node server idle in epoll_wait is ≥ 90 % io-wait', async () => {
  const p = start(process.execPath, ['-e', 'require("net").createServer().listen(0, "127.0.0.1", () => console.log("ready"))']);
  await p.waitFor(/ready/);
  const s = await shares(p.pid);
  assert.ok(s.io >= 0.9, fmt(s));
  p.kill();
});

test('other threads are sampled too: one asleep and one blocked on a socket read as ≈ 1 s each per second', async () => {
  const code = [
    'import socket, threading, time',
    'a, b = socket.socketpair()',
    'threading.Thread(target=lambda: time.sleep(100), daemon=True).start()',
    'threading.Thread(target=lambda: a.recv(1), daemon=True).start()',
    'print("ready", flush=True)',
    'time.sleep(100)',
  ].join('\n');
  const p = start(PYTHON, ['-c', code]);
  await p.waitFor(/ready/);
  await sleep(300);
  const collector = new ProcCollector(p.pid, readStat(p.pid).startTicks);
  const hub = new SamplerHub(50);
  hub.add(collector);
  collector.collect(); // opens the other threads
  await sleep(500);
  const first = { ...collector.collect()!.otherThreadsTime };
  const t0 = Date.now();
  await sleep(2500);
  const last = collector.collect()!.otherThreadsTime;
  const wallS = (Date.now() - t0) / 1000;
  hub.stop();
  collector.close();
  const rate = (k: keyof typeof last): number => (last[k] - first[k]) / wallS;
  const total = THREAD_STATES.reduce((s, k) => s + rate(k), 0);
  assert.ok(Math.abs(total - 2) < 0.2, `two other threads: rates sum to ≈ 2 (${total.toFixed(2)})`);
  assert.ok(
    rate('sleep') > 0.8 && rate('io') > 0.8,
    `one sleeps, one waits on I/O: sleep=${rate('sleep').toFixed(2)} io=${rate('io').toFixed(2)}`,
  );
  p.kill();
});
