// Instructions per request (valgrind callgrind, Ir), with and without the probe: the probes' own
// work, counted exactly instead of timed. The paired throughput benchmarks (pythonOverhead,
// nodeOverhead) see everything the probe changes, but on this shared 2-core VM their noise is about
// as large as the effect; an instruction count does not move with the machine's load. It does not
// see what costs time without costing instructions (cache and TLB misses, context switches, lock
// prefixes): the difference between the two is that part.
//
// Each service runs under callgrind, is warmed up with W requests (the JIT settles), then the
// counters are zeroed, N requests are sent (keep-alive connections, one request at a time on
// each), and the counters dumped. Callgrind slows the service ~50x, so work the probe does per
// unit of time (timers, snapshots) is ~50x larger per request here than in reality: it is measured
// apart, over 5 s with no requests, and taken out; it is reported per second, as it costs.
// Python's main thread is also reported apart, with callgrind's cache and branch simulation, beside
// the pythonOverhead benchmark's minimal measuring thread (no rtprof): what the probe adds to the
// thread the requests run on, against what the measurements themselves need there.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import * as http from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ChannelServer } from '../collectors/channel/server';
import { checkMinimal } from './pythonOverhead';
import type { BenchResult } from './types';

const ROOT = join(__dirname, '..', '..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const IDLE_S = 5;

interface Service {
  runtime: 'python' | 'node';
  variant: string;
  label: string;
  cmd: string[];
  env: NodeJS.ProcessEnv;
  path: string;
  /** the probe connects to the bench's channel server with this token */
  probed: boolean;
  /** Python: also simulate the caches and branch predictors, and report the main thread apart */
  mainThread?: boolean;
}

/** Per request on the service's main thread (the loop's), per-second work taken out. */
interface MainThread {
  ir: number;
  /** L1 data cache misses, reads and writes (callgrind's simulated cache) */
  d1Misses: number;
  /** mispredicted conditional and indirect branches (simulated) */
  branchMisses: number;
}

interface Counted {
  service: Service;
  requests: number;
  windowS: number;
  /** Ir over the request window, all threads */
  loadIr: number;
  /** Ir per second with no requests, all threads */
  idleIrPerS: number;
  /** (loadIr - idleIrPerS * windowS) / requests */
  perRequest: number;
  snapshots: number;
  main?: MainThread;
}

function hasValgrind(): boolean {
  try {
    execFileSync('valgrind', ['--version'], { stdio: 'ignore' });
    execFileSync('callgrind_control', ['-h'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

async function requests(port: number, path: string, n: number, connections: number): Promise<void> {
  const agent = new http.Agent({ keepAlive: true, maxSockets: connections });
  let left = n;
  const one = (): Promise<void> =>
    new Promise((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path, agent }, (res) => {
          res.resume();
          res.on('end', resolve);
        })
        .on('error', reject);
    });
  const worker = async (): Promise<void> => {
    while (left-- > 0) await one();
  };
  try {
    await Promise.all(Array.from({ length: connections }, worker));
  } finally {
    agent.destroy();
  }
}

/** With --separate-threads=yes each dump has one file per thread, thread 1 (the main thread) ending in -01. */
const isMainThread = (f: string): boolean => f.endsWith('-01');

/** Each event of the "summary"/"totals" lines of the callgrind dumps in dir whose names pass keep,
 * summed over all threads (all) and over the main thread's files only (main), in one read. */
function dumped(dir: string, keep: (name: string) => boolean): { all: Map<string, number>; main: Map<string, number> } {
  const all = new Map<string, number>();
  const main = new Map<string, number>();
  for (const f of readdirSync(dir).filter(keep)) {
    const text = readFileSync(join(dir, f), 'utf8');
    const events = /^events:\s+(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/);
    const values = /^(?:summary|totals):\s+(.+)$/m.exec(text)?.[1]?.trim().split(/\s+/);
    if (!events || !values) continue;
    for (const sums of isMainThread(f) ? [all, main] : [all])
      events.forEach((e, i) => sums.set(e, (sums.get(e) ?? 0) + Number(values[i] ?? 0)));
  }
  return { all, main };
}

function mainThreadEvents(e: Map<string, number>): MainThread {
  const get = (k: string): number => e.get(k) ?? 0;
  return { ir: get('Ir'), d1Misses: get('D1mr') + get('D1mw'), branchMisses: get('Bcm') + get('Bim') };
}

async function count(
  service: Service,
  channel: ChannelServer,
  warm: number,
  n: number,
  connections: number,
  log: (s: string) => void,
): Promise<Counted> {
  const dir = mkdtempSync(join(tmpdir(), 'rtprof-cg-'));
  const token = `bench-${Math.random().toString(36).slice(2)}-${Date.now()}`;
  const env = {
    ...process.env,
    ...service.env,
    ...(service.probed ? { RTPROF_SOCKET: channel.socketPath, RTPROF_TOKEN: token, RTPROF_HTTP: '0' } : {}),
  };
  const child: ChildProcess = spawn(
    'valgrind',
    [
      '--tool=callgrind',
      '--separate-threads=yes',
      '--dump-instr=no',
      ...(service.mainThread ? ['--cache-sim=yes', '--branch-sim=yes'] : []),
      `--callgrind-out-file=${join(dir, 'cg.%p')}`,
      ...service.cmd,
    ],
    { env, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
  );
  const pid = child.pid!; // valgrind runs the service in its own process
  if (service.probed) channel.issueToken(pid, token);
  let snapshots = 0;
  const onSnapshot = (s: { pid: number }): void => {
    if (s.pid === pid) snapshots++;
  };
  channel.on('snapshot', onSnapshot);
  try {
    let listenTimer: NodeJS.Timeout | undefined;
    const port = await new Promise<number>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        const m = /port=(\d+)|"port":(\d+)/.exec(out);
        if (m) resolve(Number(m[1] ?? m[2]));
      });
      child.once('exit', (code) => reject(new Error(`${service.label} exited (${code}) before listening`)));
      listenTimer = setTimeout(() => reject(new Error(`${service.label}: not listening after 120 s under valgrind`)), 120_000);
    }).finally(() => clearTimeout(listenTimer));
    await requests(port, service.path, warm, connections);
    await sleep(1000);
    execFileSync('callgrind_control', ['--zero', String(pid)], { stdio: 'ignore' });
    const t0 = performance.now();
    await requests(port, service.path, n, connections);
    const windowS = (performance.now() - t0) / 1000;
    const before = new Set(readdirSync(dir));
    execFileSync('callgrind_control', ['--dump=load', String(pid)], { stdio: 'ignore' });
    const load = dumped(dir, (f) => !before.has(f));
    const loadIr = load.all.get('Ir') ?? 0;
    const loadMain = mainThreadEvents(load.main);
    const afterLoad = new Set(readdirSync(dir));
    execFileSync('callgrind_control', ['--zero', String(pid)], { stdio: 'ignore' });
    await sleep(IDLE_S * 1000);
    execFileSync('callgrind_control', ['--dump=idle', String(pid)], { stdio: 'ignore' });
    const idle = dumped(dir, (f) => !afterLoad.has(f));
    const idleIrPerS = (idle.all.get('Ir') ?? 0) / IDLE_S;
    const idleMain = mainThreadEvents(idle.main);
    const perRequest = (loadIr - idleIrPerS * windowS) / n;
    const mainPer = (k: keyof MainThread): number => (loadMain[k] - (idleMain[k] / IDLE_S) * windowS) / n;
    const main = service.mainThread
      ? { ir: mainPer('ir'), d1Misses: mainPer('d1Misses'), branchMisses: mainPer('branchMisses') }
      : undefined;
    if (main && !(main.ir > 0)) throw new Error(`${service.label}: no main-thread counts in the callgrind dumps`);
    log(
      `  ${service.label}: ${(loadIr / n).toFixed(0)} Ir/request over ${windowS.toFixed(1)} s, idle ${(idleIrPerS / 1e3).toFixed(0)}k Ir/s, per request ${perRequest.toFixed(0)}, snapshots ${snapshots}`,
    );
    return { service, requests: n, windowS, loadIr, idleIrPerS, perRequest, snapshots, main };
  } finally {
    channel.off('snapshot', onSnapshot);
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
    await sleep(300);
    rmSync(dir, { recursive: true, force: true });
  }
}

const pct = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(2)} %`;

export async function instructions(opts: { rounds?: number } = {}): Promise<BenchResult> {
  const title = 'Instructions per request (callgrind)';
  if (!hasValgrind()) {
    return { name: 'instructions', title, markdown: 'Not run: valgrind is not installed (`apt-get install valgrind`).\n', numbers: {} };
  }
  const rounds = opts.rounds ?? 2;
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const probeJs = join(ROOT, 'collectors', 'node', 'probe.js');
  const PYTHON = '/usr/bin/python3';
  // The minimal thread's JSON lines: checked after each of its counts (the loop found, its select timed).
  const minimalDir = mkdtempSync(join(tmpdir(), 'rtprof-bench-minimal-'));
  const minimalOut = join(minimalDir, 'snapshots.jsonl');
  const APP = join(ROOT, 'sample-apps', 'python', 'asyncio_app.py');
  const fastify = join(ROOT, 'bench', 'fixtures', 'fastify-hello.js');
  const services: Service[] = [
    {
      runtime: 'python',
      variant: 'plain',
      label: 'asyncio /healthz, plain',
      cmd: [PYTHON, APP],
      env: { PORT: '0' },
      path: '/healthz',
      probed: false,
      mainThread: true,
    },
    {
      runtime: 'python',
      variant: 'probe',
      label: 'asyncio /healthz, probe preloaded',
      cmd: [PYTHON, APP],
      env: { PORT: '0', PYTHONPATH: join(ROOT, 'collectors', 'python', 'preload') },
      path: '/healthz',
      probed: true,
      mainThread: true,
    },
    {
      runtime: 'python',
      variant: 'minimal',
      label: 'asyncio /healthz, no rtprof: the minimal measuring thread',
      cmd: [PYTHON, APP],
      env: { PORT: '0', PYTHONPATH: join(ROOT, 'bench', 'fixtures', 'python-minimal'), RTPROF_BENCH_MINIMAL_OUT: minimalOut },
      path: '/healthz',
      probed: false,
      mainThread: true,
    },
    {
      runtime: 'node',
      variant: 'plain',
      label: 'Fastify /, plain',
      cmd: [process.execPath, fastify],
      env: { BENCH_VARIANT: 'none' },
      path: '/',
      probed: false,
    },
    {
      runtime: 'node',
      variant: 'probe',
      label: 'Fastify /, probe preloaded',
      cmd: [process.execPath, '--require', probeJs, fastify],
      env: { BENCH_VARIANT: 'none' },
      path: '/',
      probed: true,
    },
    {
      runtime: 'node',
      variant: 'prom',
      label: 'Fastify /, prom-client default metrics',
      cmd: [process.execPath, fastify],
      env: { BENCH_VARIANT: 'prom' },
      path: '/',
      probed: false,
    },
    {
      runtime: 'node',
      variant: 'otel',
      label: 'Fastify /, OTel runtime-node',
      cmd: [process.execPath, fastify],
      env: { BENCH_VARIANT: 'otel' },
      path: '/',
      probed: false,
    },
  ];
  // Python: 16 connections, as pythonOverhead (how many requests a loop iteration serves, and so how
  // many selects per request the probe times, depends on it). Node: 4; at nodeOverhead's 25 the
  // counts moved by ±10 % between services with how callgrind's slowness batched the requests (a
  // plain service 115k Ir/request, the same with the probe 102k), at 4 they repeat within 0.3 %.
  const plan = { python: { warm: 3000, n: 3000, connections: 16 }, node: { warm: 15000, n: 5000, connections: 4 } };
  const dir = mkdtempSync(join(tmpdir(), 'rtprof-bench-ch-'));
  const channel = new ChannelServer({ socketPath: join(dir, 'agent.sock') });
  await channel.listen();
  const results = new Map<string, Counted[]>();
  try {
    for (let round = 0; round < rounds; round++) {
      for (const s of services) {
        const r = await count(s, channel, plan[s.runtime].warm, plan[s.runtime].n, plan[s.runtime].connections, log);
        if (s.probed && r.snapshots === 0) throw new Error(`${s.label}: the probe sent no snapshot`);
        if (s.variant === 'minimal') checkMinimal(minimalOut);
        results.set(s.label, [...(results.get(s.label) ?? []), r]);
      }
    }
  } finally {
    await channel.close();
    rmSync(dir, { recursive: true, force: true });
    rmSync(minimalDir, { recursive: true, force: true });
  }
  const numbers: Record<string, number> = {};
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  const rows: string[] = [];
  for (const runtime of ['python', 'node'] as const) {
    const plain = services.find((s) => s.runtime === runtime && s.variant === 'plain')!;
    const base = mean(results.get(plain.label)!.map((r) => r.perRequest));
    for (const s of services.filter((x) => x.runtime === runtime)) {
      const rs = results.get(s.label)!;
      const per = rs.map((r) => r.perRequest);
      const vs = mean(per) / base - 1;
      numbers[`${runtime}.${s.variant}.irPerRequest`] = Math.round(mean(per));
      if (s.variant !== 'plain') numbers[`${runtime}.${s.variant}.vsPlain`] = vs;
      rows.push(
        `| ${s.label} | ${per.map((x) => x.toFixed(0)).join(', ')} | ${s.variant === 'plain' ? '—' : pct(vs)} | ${rs.map((r) => (r.loadIr / r.requests).toFixed(0)).join(', ')} | ${rs.map((r) => `${(r.idleIrPerS / 1e3).toFixed(0)}k`).join(', ')} |`,
      );
    }
  }
  // Python's main thread (the loop's) apart, with the simulated caches and branch predictors: what
  // the probe adds to the service's own thread, beside the least code measuring the same things.
  const mainRows: string[] = [];
  const pyPlain = services.find((s) => s.runtime === 'python' && s.variant === 'plain')!;
  const mainOf = (label: string, k: keyof MainThread): number => mean(results.get(label)!.map((r) => r.main![k]));
  for (const s of services.filter((x) => x.mainThread)) {
    const cells = (['ir', 'd1Misses', 'branchMisses'] as const).map((k) => {
      const v = mainOf(s.label, k);
      const vs = v / mainOf(pyPlain.label, k) - 1;
      numbers[`python.${s.variant}.main.${k}PerRequest`] = Math.round(v);
      if (s !== pyPlain) numbers[`python.${s.variant}.main.${k}VsPlain`] = vs;
      return `${v.toFixed(0)}${s === pyPlain ? '' : ` (${pct(vs)})`}`;
    });
    mainRows.push(`| ${s.label} | ${cells.join(' | ')} |`);
  }
  const markdown =
    `Instructions (callgrind Ir, all threads of the service) per request, with and without the probe (preloaded, connected to a channel server that takes its snapshots; HTTP hooks off, as the agent's default), ` +
    `and the peers on the Node side. Per service: ${plan.python.warm} (Python) / ${plan.node.warm} (Node) warm-up requests, then ${plan.python.n} / ${plan.node.n} requests counted, ` +
    `${plan.python.connections} / ${plan.node.connections} keep-alive connections (Python as in its throughput benchmark; Node at 25 connections batched so differently under callgrind that the counts moved ±10 % between services, at 4 they repeat within 0.3 %); then ${IDLE_S} s with no requests counted apart: that per-second work (timers, snapshots; ~50x more per request under callgrind than in reality) is taken out of the per-request figure and shown per second. ` +
    `${rounds} rounds. prom-client and OTel register a \`GET /metrics\` route beside \`/\`, which changes Fastify's router: their hello-world counts are not the same request path, so read them as an order of magnitude. An instruction count is not a time: it leaves out cache and TLB misses, context switches and lock prefixes, which the paired throughput benchmarks above include; the gap between the two is that part.\n\n` +
    '| service | Ir per request, per-second work taken out (per round) | vs plain | Ir per request as counted | per-second work, no requests |\n| --- | ---: | ---: | ---: | ---: |\n' +
    rows.join('\n') +
    '\n\n' +
    `Python's main thread (the loop's, where the service's requests run) apart, per request, mean of the rounds, per-second work taken out as above; callgrind also simulating the caches (L1 data misses, reads and writes) and the branch predictors (mispredicted conditional and indirect branches) there. ` +
    `Beside the probe, the least code measuring what it measures (the pythonOverhead benchmark's minimal row, \`bench/fixtures/python-minimal\`, no rtprof): the part of the probe's cost on this thread that the measurements themselves need (the timed select, the loop-delay callbacks). Simulated, not the machine's own counters (none in this VM).\n\n` +
    '| service | main thread: Ir per request (vs plain) | L1 data misses per request | branch mispredictions per request |\n| --- | ---: | ---: | ---: |\n' +
    mainRows.join('\n') +
    '\n';
  return { name: 'instructions', title, markdown, numbers };
}
