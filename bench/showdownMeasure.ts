// The showdown's measurements (bench/showdown.ts runs them): the runtimes and scenarios, a cold
// start, and one runtime's windows of load with rtprof attached, each re-run while other work on
// the machine contended for its CPUs. Services run pinned to SERVICE_CPU, the rest to LOAD_CPU.
import { execFileSync } from 'node:child_process';
import { CLK_TCK, readStatus } from '../collectors/proc/procfs';
import { runWindow } from '../src/commands/profile';
import { appCommand, type SampleApp } from '../src/demo/apps';
import type { Target } from '../src/target';
import type { Watcher } from '../src/watcher';
import {
  cpuBusyTicks,
  cpuTicks,
  freePort,
  getOnce,
  runLoad,
  showdownWatcher,
  sleep,
  spawnPinned,
  stop,
  type Spawned,
} from './showdownProcs';
import { contention, type RuntimeKey, type RuntimeResult, type Scenario, type ScenarioKey, type ScenarioResult } from './showdownTypes';

export const SERVICE_CPU = '0';
export const LOAD_CPU = '1';

export const RUNTIMES: Array<{ key: RuntimeKey; label: string; app: SampleApp }> = [
  { key: 'node', label: 'Node.js (Fastify)', app: 'node' },
  { key: 'asyncio', label: 'Python asyncio', app: 'python-asyncio' },
  { key: 'threaded', label: 'Python threaded', app: 'python-threaded' },
  // The articles' Python framework; runs when Debian's python3-fastapi and python3-uvicorn are installed.
  { key: 'fastapi', label: 'Python FastAPI (uvicorn)', app: 'python-fastapi' },
];

// Saturated /io needs many connections: each waits 20 ms downstream, so 100 connections cap any
// service at ~4,500 req/s, below what either runtime serves on one core (measured: 0.5–0.6 cores).
// /cpu?ms=5 burns 5 ms of wall time per request in both runtimes, so its throughput is ~200 req/s
// by construction; what differs is how much work fits in those 5 ms (iterationsPerMs).
export const SCENARIOS: Scenario[] = [
  { key: 'json-rate', title: '/json at 200 req/s', path: '/json', rate: 200, connections: 10 },
  { key: 'json-sat', title: '/json saturated', path: '/json', rate: undefined, connections: 50 },
  { key: 'io-rate', title: '/io?ms=20 at 200 req/s', path: '/io?ms=20', rate: 200, connections: 10 },
  { key: 'io-sat', title: '/io?ms=20 saturated', path: '/io?ms=20', rate: undefined, connections: 200 },
  { key: 'cpu-rate', title: '/cpu?ms=5 at 100 req/s', path: '/cpu?ms=5', rate: 100, connections: 10 },
  { key: 'cpu-sat', title: '/cpu?ms=5 saturated', path: '/cpu?ms=5', rate: undefined, connections: 10 },
];

/** Spawn → first successful GET /json (polled every ~2 ms on fresh connections), and spawn → READY. */
export async function coldStart(app: SampleApp, env: NodeJS.ProcessEnv): Promise<{ firstResponseMs: number; readyMs: number }> {
  const port = await freePort();
  const t0 = performance.now();
  const { child, ready } = spawnPinned(app, appCommand(app), SERVICE_CPU, env, port);
  ready.catch(() => undefined); // awaited below; an early exit must not be an unhandled rejection
  const url = `http://127.0.0.1:${port}/json`;
  try {
    for (;;) {
      try {
        await getOnce(url);
        break;
      } catch {
        if (performance.now() - t0 > 20_000) throw new Error(`${app}: no answer on ${url} within 20 s`);
        await sleep(2);
      }
    }
    const firstResponseMs = performance.now() - t0;
    return { firstResponseMs, readyMs: (await ready).readyMs };
  } finally {
    await stop(child);
  }
}

/** Waits for the probe; an idle CPython loads an injected probe only when it next runs Python code, so poke it. */
async function waitForProbe(target: Target, url: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && !['connected', 'failed', 'unsupported'].includes(target.probe.state)) {
    await getOnce(`${url}/healthz`).catch(() => undefined);
    await sleep(200);
  }
}

/** Re-runs of a contended window: per scenario, and over the whole run (each costs a window). */
const RERUNS_PER_SCENARIO = 2;
let rerunsLeft = 8;

/** Ticks of work on each CPU that is not ours: [CPU 0 minus the service, CPU 1 minus the load side]. */
function foreignTicks(servicePid: number | undefined, downstreamPid: number): [number, number] {
  const service = servicePid ? cpuTicks(servicePid) : 0;
  return [cpuBusyTicks(SERVICE_CPU) - service, cpuBusyTicks(LOAD_CPU) - cpuTicks(process.pid) - cpuTicks(downstreamPid)];
}

/** Waits (up to maxWaitMs) for a second in which both CPUs are at most half as busy with others' work as "contended". */
export async function quietMachine(servicePid: number | undefined, downstreamPid: number, maxWaitMs: number): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const [a0, a1] = foreignTicks(servicePid, downstreamPid);
    await sleep(1000);
    const [b0, b1] = foreignTicks(servicePid, downstreamPid);
    if (contention({ foreignCpu0Cores: (b0 - a0) / CLK_TCK, foreignCpu1Cores: (b1 - a1) / CLK_TCK }) < 0.5 || Date.now() > deadline) return;
  }
}

/** One runtime under measurement: its service, the watcher attached to it, and the downstream. */
interface Bench {
  watcher: Watcher;
  target: Target;
  app: Spawned;
  downstreamPid: number;
}

async function measureScenario(bench: Bench, sc: Scenario, windowS: number): Promise<ScenarioResult> {
  const { app, downstreamPid } = bench;
  await quietMachine(app.pid, downstreamPid, 20_000);
  let best = await measureWindow(bench, sc, windowS);
  let attempts = 1;
  while (contention(best) > 1 && rerunsLeft > 0 && attempts <= RERUNS_PER_SCENARIO) {
    rerunsLeft--;
    attempts++;
    process.stderr.write(
      `showdown: ${sc.title}: others used ${best.foreignCpu0Cores.toFixed(2)} cores of CPU 0 and ${best.foreignCpu1Cores.toFixed(2)} of CPU 1; running the window again\n`,
    );
    await quietMachine(app.pid, downstreamPid, 30_000);
    const again = await measureWindow(bench, sc, windowS);
    if (contention(again) < contention(best)) best = again;
  }
  return { ...best, attempts };
}

async function measureWindow({ watcher, target, app, downstreamPid }: Bench, sc: Scenario, windowS: number): Promise<ScenarioResult> {
  const interpreterP99s: number[] = [];
  const onSnapshot = (t: Target, snap: { interpreter?: { delayNs?: { p99: number } } }): void => {
    if (t === target && snap.interpreter?.delayNs) interpreterP99s.push(snap.interpreter.delayNs.p99 / 1e6);
  };
  watcher.on('snapshot', onSnapshot);
  let serviceTicks = 0;
  let loadTicks = 0;
  let foreign: [number, number] = [0, 0];
  let wallS = 0;
  const around = (): (() => void) => {
    const f0 = foreignTicks(app.pid, downstreamPid);
    const s0 = cpuTicks(app.pid);
    const l0 = cpuTicks(process.pid) + cpuTicks(downstreamPid);
    const w0 = performance.now();
    return () => {
      serviceTicks = cpuTicks(app.pid) - s0;
      const f1 = foreignTicks(app.pid, downstreamPid);
      foreign = [f1[0] - f0[0], f1[1] - f0[1]];
      loadTicks = cpuTicks(process.pid) + cpuTicks(downstreamPid) - l0;
      wallS = (performance.now() - w0) / 1000;
    };
  };
  const log = (line: string): void => void process.stderr.write(`showdown: ${line}\n`);
  const [doc, load] = await Promise.all([
    runWindow(watcher, target, { durationMs: windowS * 1000, load: undefined, log, progress: false }),
    runLoad(`${app.url}${sc.path}`, sc.rate, sc.connections, windowS, around),
  ]);
  watcher.off('snapshot', onSnapshot);
  const serviceS = serviceTicks / CLK_TCK;
  const s = doc.busy.shares;
  return {
    rps: load.rps,
    requests: load.requests,
    errors: load.errors,
    latencyMs: load.latencyMs,
    ...(load.unfinished !== undefined ? { unfinished: load.unfinished } : {}),
    cpuPerRequestMs: load.requests > 0 ? (serviceS * 1000) / load.requests : NaN,
    cores: wallS > 0 ? serviceS / wallS : NaN,
    loopDelayP99Ms: doc.eventLoop ? doc.eventLoop.delayS.p99 * 1000 : null,
    interpreterDelayP99Ms: interpreterP99s.length > 0 ? interpreterP99s.reduce((a, b) => a + b, 0) / interpreterP99s.length : null,
    gcShare: doc.gc && doc.window.durationS > 0 ? doc.gc.totalS / doc.window.durationS : null,
    gcCount: doc.gc ? doc.gc.count : null,
    rssPeakBytes: doc.memory.rssBytes.max,
    verdict: doc.verdict,
    busyShares: { cpu: s.cpu, io: s.io, runqueue: s.runqueue, lock: s.lock, other: s.sleep + s.other },
    mainThreadCpuShare: doc.threadCpu?.mainShareOfCpu ?? null,
    loadSideCores: wallS > 0 ? loadTicks / CLK_TCK / wallS : NaN,
    foreignCpu0Cores: wallS > 0 ? Math.max(0, foreign[0]) / CLK_TCK / wallS : NaN,
    foreignCpu1Cores: wallS > 0 ? Math.max(0, foreign[1]) / CLK_TCK / wallS : NaN,
    attempts: 1,
  };
}

function runtimeVersion(key: RuntimeKey): string {
  if (key === 'node') return `Node ${process.version}`;
  return execFileSync('/usr/bin/python3', ['--version'], { encoding: 'utf8' }).trim();
}

export async function measureRuntime(
  rt: (typeof RUNTIMES)[number],
  env: NodeJS.ProcessEnv,
  downstreamPid: number,
  opts: { windowS: number; warmupS: number },
  cold: { first: number[]; ready: number[] },
  scenarioList: Scenario[] = SCENARIOS,
): Promise<RuntimeResult> {
  const say = (line: string): void => void process.stderr.write(`showdown: ${rt.label}: ${line}\n`);
  const { child, ready } = spawnPinned(rt.app, appCommand(rt.app), SERVICE_CPU, env);
  const watcher = showdownWatcher(say);
  try {
    const app = await ready;
    await sleep(2000);
    const baselineRssBytes = readStatus(app.pid).rssBytes;
    for (const path of ['/healthz', '/json', '/io?ms=20', '/cpu?ms=5']) await getOnce(`${app.url}${path}`);
    let iterationsPerMs = 0;
    await quietMachine(app.pid, downstreamPid, 10_000);
    for (let i = 0; i < 5; i++) {
      const r = JSON.parse(await getOnce(`${app.url}/cpu?ms=50`)) as { iterations: number; elapsed_ms: number };
      iterationsPerMs = Math.max(iterationsPerMs, r.iterations / r.elapsed_ms);
    }
    const warmRssBytes = readStatus(app.pid).rssBytes;
    await watcher.start();
    const target = watcher.watchPid(app.pid);
    await waitForProbe(target, app.url, 20_000);
    const probe = target.probe.state === 'connected' ? target.probe.method : `none (${target.probe.message ?? target.probe.state})`;
    say(`baseline RSS ${(baselineRssBytes / 1048576).toFixed(1)} MB, ${iterationsPerMs.toFixed(0)} steps/ms, probe ${probe}; warming up`);
    // Warm-up, not measured: JIT (Node), caches, connection pools on both sides.
    await runLoad(`${app.url}/json`, undefined, 50, opts.warmupS);
    await runLoad(`${app.url}/io?ms=20`, undefined, 200, Math.max(1, opts.warmupS - 1));
    if (target.probe.state !== 'connected') say(`probe still ${target.probe.state}: loop delay and GC will be missing`);
    const scenarios = {} as Record<ScenarioKey, ScenarioResult>;
    for (const sc of scenarioList) {
      scenarios[sc.key] = await measureScenario({ watcher, target, app, downstreamPid }, sc, opts.windowS);
      const r = scenarios[sc.key];
      say(
        `${sc.title}: ${r.rps.toFixed(0)} req/s, p99 ${r.latencyMs.p99.toFixed(2)} ms, ${r.errors} errors, ${r.verdict}, load side ${r.loadSideCores.toFixed(2)} cores, others ${r.foreignCpu0Cores.toFixed(2)} / ${r.foreignCpu1Cores.toFixed(2)} cores of CPU 0 / 1`,
      );
    }
    return {
      key: rt.key,
      label: rt.label,
      version: runtimeVersion(rt.key),
      coldStartMs: cold.first,
      readyMs: cold.ready,
      baselineRssBytes,
      warmRssBytes,
      iterationsPerMs,
      probe,
      scenarios,
    };
  } finally {
    watcher.detachAll();
    await watcher.stop();
    await stop(child);
  }
}
