// `rtprof profile` against real targets with a known answer (the accuracy cases).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, test } from 'node:test';
import type { ProfileDocument } from '../src/report';
import { ROOT, rtprof, startSample } from './helpers/agent';
import { measureWaitShare, type GroundTruth } from './helpers/groundTruth';
import { start, type Started } from './helpers/processes';

let downstream: Started;
let downstreamUrl: string;

before(async () => {
  ({ proc: downstream, url: downstreamUrl } = await startSample('downstream/server.js'));
});
after(() => downstream.kill());

async function nodeApp(): Promise<{ app: Started; base: string }> {
  const { proc: app, url } = await startSample('node/server.js', { DOWNSTREAM_URL: downstreamUrl });
  return { app, base: url };
}

async function profileJson(args: string[]): Promise<ProfileDocument> {
  const p = rtprof(['profile', '--json', ...args]);
  const { code } = await p.exited;
  assert.equal(code, 0, `profile exit code; stderr: ${p.stderr()}`);
  return JSON.parse(p.stdout()) as ProfileDocument;
}

const busyIo = (d: ProfileDocument): number => d.busy.shares.io;
const show = (d: ProfileDocument): string => `${d.verdict} busy=${JSON.stringify(d.busy)} breakdown=${JSON.stringify(d.breakdown)}`;

/** The io-bound known-answer workload: the ground truth and the profile's load must use the same one. */
const SPIN_20_WAIT_60 = '/mixed?cpu_ms=20&io_ms=60';

/** Measures the known answer without rtprof first (see helpers/groundTruth.ts): the nominal 0.75 of a
 * 20 ms spin + 60 ms wait, less what the runtime and the machine add to every request. */
async function truthFor(pid: number, url: string): Promise<GroundTruth> {
  const truth = await measureWaitShare(pid, url);
  assert.ok(Math.abs(truth.waitShare - 0.75) <= 0.08, `the workload waits ~3/4 of each request: ${JSON.stringify(truth)}`);
  return truth;
}

function assertIoMatches(doc: ProfileDocument, truth: GroundTruth, tolerance = 0.05): void {
  const io = busyIo(doc);
  assert.ok(
    Math.abs(io - truth.waitShare) <= tolerance,
    `io share of busy time ${io.toFixed(3)} vs ${truth.waitShare.toFixed(3)} measured from schedstat without rtprof (± ${tolerance}): ${show(doc)} truth=${JSON.stringify(truth)}`,
  );
}

test('node: 20 ms spin then 60 ms downstream wait at concurrency 1 → io-bound, io share of busy time ≈ 0.75 (as the kernel measures it without rtprof, ± 0.05)', async () => {
  const { app, base } = await nodeApp();
  const truth = await truthFor(app.pid, `${base}${SPIN_20_WAIT_60}`);
  const doc = await profileJson([
    '--pid',
    String(app.pid),
    '--duration',
    '8s',
    '--load',
    `${base}${SPIN_20_WAIT_60}`,
    '--connections',
    '1',
  ]);
  assert.equal(doc.target.attach, 'inspector');
  assert.equal(doc.target.runtime, 'nodejs');
  assert.equal(doc.verdict, 'io-bound', show(doc));
  assertIoMatches(doc, truth);
  assert.ok(doc.load && doc.load.requests > 50 && doc.load.errors === 0, JSON.stringify(doc.load));
  assert.ok(doc.load.latencyS.p50 >= 0.08, 'each request takes at least 80 ms');
  assert.ok(doc.eventLoop !== null && doc.gc !== null, 'the probe filled event loop and GC');
  const sum = Object.values(doc.breakdown).reduce((a, b) => a + b, 0);
  assert.ok(Math.abs(sum - 1) < 1e-6, 'breakdown sums to 1');
  app.kill();
});

test('node: 60 ms spin then 20 ms wait → cpu-bound; no traffic → idle', async () => {
  const { app, base } = await nodeApp();
  const cpu = await profileJson([
    '--pid',
    String(app.pid),
    '--duration',
    '6s',
    '--load',
    `${base}/mixed?cpu_ms=60&io_ms=20`,
    '--connections',
    '1',
  ]);
  assert.equal(cpu.verdict, 'cpu-bound', show(cpu));
  assert.ok(cpu.busy.shares.cpu >= 0.6, show(cpu));
  const idle = await profileJson(['--pid', String(app.pid), '--duration', '4s']);
  assert.equal(idle.verdict, 'idle', show(idle));
  app.kill();
});

test('python asyncio (probe attached with gdb): 20/60 → io-bound ≈ 0.75, 60/20 → cpu-bound, no traffic → idle', async () => {
  const app = start('/usr/bin/python3', [join(ROOT, 'sample-apps/python/asyncio_app.py')], {
    env: { ...process.env, PORT: '0', DOWNSTREAM_URL: downstreamUrl },
  });
  const [, port] = await app.waitFor(/READY pid=\d+ port=(\d+)/);
  const base = `http://127.0.0.1:${port}`;
  const truth = await truthFor(app.pid, `${base}${SPIN_20_WAIT_60}`);
  const io = await profileJson(['--pid', String(app.pid), '--duration', '8s', '--load', `${base}${SPIN_20_WAIT_60}`, '--connections', '1']);
  assert.equal(io.target.runtime, 'cpython');
  assert.equal(io.target.attach, 'gdb');
  assert.equal(io.evidence.source, 'probe', 'the probe reports requests in flight');
  assert.equal(io.verdict, 'io-bound', show(io));
  assertIoMatches(io, truth);
  assert.ok(io.eventLoop !== null && io.gc !== null, 'asyncio loop delay and GC from the probe');
  const cpu = await profileJson([
    '--pid',
    String(app.pid),
    '--duration',
    '6s',
    '--load',
    `${base}/mixed?cpu_ms=60&io_ms=20`,
    '--connections',
    '1',
  ]);
  assert.equal(cpu.verdict, 'cpu-bound', show(cpu));
  const idle = await profileJson(['--pid', String(app.pid), '--duration', '4s']);
  assert.equal(idle.verdict, 'idle', show(idle));
  app.kill();
});

test('python threaded server: the work runs on handler threads; /cpu → cpu-bound from the process CPU, /io → io-bound', async () => {
  const app = start('/usr/bin/python3', [join(ROOT, 'sample-apps/python/threaded_app.py')], {
    env: { ...process.env, PORT: '0', DOWNSTREAM_URL: downstreamUrl },
  });
  const [, port] = await app.waitFor(/READY pid=\d+ port=(\d+)/);
  const base = `http://127.0.0.1:${port}`;
  const cpu = await profileJson(['--pid', String(app.pid), '--duration', '5s', '--load', `${base}/cpu?ms=20`, '--connections', '1']);
  assert.equal(cpu.threadCpu.workOffMainThread, true, JSON.stringify(cpu.threads));
  assert.equal(cpu.verdict, 'cpu-bound', `${show(cpu)} threads=${JSON.stringify(cpu.threads)}`);
  assert.ok(
    cpu.warnings.some((w) => /other threads did \d+ % of the process's CPU/.test(w)),
    cpu.warnings.join('\n'),
  );
  const io = await profileJson(['--pid', String(app.pid), '--duration', '5s', '--load', `${base}/io?ms=40`, '--connections', '1']);
  assert.equal(io.verdict, 'io-bound', `${show(io)} threads=${JSON.stringify(io.threads)}`);
  app.kill();
});

test('without a probe, /proc evidence (client connections) splits io from idle', async () => {
  const app = start('/usr/bin/python3', [join(ROOT, 'sample-apps/python/asyncio_app.py')], {
    env: { ...process.env, PORT: '0', DOWNSTREAM_URL: downstreamUrl },
  });
  const [, port] = await app.waitFor(/READY pid=\d+ port=(\d+)/);
  const truth = await truthFor(app.pid, `http://127.0.0.1:${port}${SPIN_20_WAIT_60}`);
  const quiet = await profileJson(['--pid', String(app.pid), '--duration', '3s', '--no-attach']);
  assert.equal(quiet.evidence.source, 'proc');
  assert.equal(quiet.verdict, 'idle', show(quiet));
  const loaded = await profileJson([
    '--pid',
    String(app.pid),
    '--duration',
    '5s',
    '--no-attach',
    '--load',
    `http://127.0.0.1:${port}${SPIN_20_WAIT_60}`,
    '--connections',
    '1',
  ]);
  assert.equal(loaded.evidence.source, 'proc');
  assert.equal(loaded.verdict, 'io-bound', show(loaded));
  assertIoMatches(loaded, truth, 0.08);
  app.kill();
});

test('a plain process is profiled from /proc alone; eventLoop and gc are null', async () => {
  const spinner = start('sh', ['-c', 'while :; do :; done']);
  const doc = await profileJson(['--pid', String(spinner.pid), '--duration', '3s']);
  assert.equal(doc.target.runtime, 'other');
  assert.equal(doc.target.attach, 'none');
  assert.equal(doc.eventLoop, null);
  assert.equal(doc.gc, null);
  assert.ok(doc.cpu.avgCores > 0.5, `a shell spinning uses most of a core: ${doc.cpu.avgCores}`);
  assert.ok(doc.breakdown.cpu + doc.breakdown.runqueue > 0.9, show(doc));
  assert.ok(doc.memory.rssBytes.max > 0);
  spinner.kill();
});

test('profile -- CMD launches with the probe preloaded, writes HTML, and stops the command', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'rtprof-profile-'));
  const html = join(dir, 'report.html');
  const p = rtprof([
    'profile',
    '--duration',
    '3s',
    '--json',
    '--html',
    html,
    '--',
    process.execPath,
    '-e',
    'setInterval(() => { const end = Date.now() + 100; while (Date.now() < end); }, 1000)',
  ]);
  const { code } = await p.exited;
  assert.equal(code, 0, p.stderr());
  const doc = JSON.parse(p.stdout()) as ProfileDocument;
  assert.equal(doc.target.attach, 'preload');
  assert.ok(
    doc.eventLoop && doc.eventLoop.delayS.max >= 0.08 && doc.eventLoop.delayS.max <= 0.13,
    `a 100 ms block shows as max delay: ${JSON.stringify(doc.eventLoop)}`,
  );
  const page = readFileSync(html, 'utf8');
  assert.match(page, /<html/);
  assert.ok(!/src="http|href="http/.test(page), 'self-contained: no network references');
});

test('bad input and a target that exits mid-profile', async () => {
  const run = (args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(join(ROOT, 'bin/rtprof.js'), ['profile', ...args], { encoding: 'utf8', timeout: 20_000 });
  let r = run(['--pid', 'abc']);
  assert.equal(r.status, 2);
  r = run(['--pid', '1', '--duration', '0']);
  assert.equal(r.status, 2);
  assert.match(String(r.stderr), /500ms, 10s, 2m/);
  r = run(['--pid', '1', '--duration', 'forever']);
  assert.equal(r.status, 2);
  assert.match(String(r.stderr), /500ms, 10s, 2m/);
  r = run(['--duration', '2s']);
  assert.equal(r.status, 2, 'neither --pid nor a command');

  const brief = start('/usr/bin/python3', ['-c', 'import time\nt = time.time()\nwhile time.time() - t < 2.5: pass']);
  const doc = await profileJson(['--pid', String(brief.pid), '--duration', '10s', '--no-attach']);
  assert.equal(doc.targetExited, true);
  assert.ok(
    doc.warnings.some((w) => /exited/.test(w)),
    JSON.stringify(doc.warnings),
  );
  assert.ok(doc.window.durationS < 6, `the window ends when the target does: ${doc.window.durationS}`);
  assert.ok(doc.series.length >= 1, 'what was seen is reported');
});
