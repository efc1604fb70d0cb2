// The showdown's multi-worker rows: Node `cluster`, gunicorn (sync workers) and `uvicorn --workers`,
// each run with 1 and then 2 workers on both cores and saturated on one endpoint, while rtprof
// profiles the master pid (the service: the master and every descendant). The pure efficiency
// and claims are in bench/showdownScalingClaims.ts.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { CLK_TCK } from '../collectors/proc/procfs';
import { descendantsOf } from '../collectors/proc/tree';
import { runWindow } from '../src/commands/profile';
import { packageRoot } from '../collectors/paths';
import type { Target } from '../src/target';
import type { Watcher } from '../src/watcher';
import { cpuBusyTicks, cpuTicks, getOnce, runLoad, showdownWatcher, sleep, spawnPinned, stop, type Spawned } from './showdownProcs';
import { latencyConsistent } from './showdownScalingClaims';
import { CONTENDED_BOTH, type ScalingRun, type StackKey, type StackResult, type WorkerWindow } from './showdownTypes';

const PYTHON = '/usr/bin/python3';
const BOTH_CPUS = '0,1';
export const WORKER_COUNTS = [1, 2] as const;
/** The same endpoint and connection count as the single-process "/json saturated" scenario. */
export const SCALING_PATH = '/json';
export const SCALING_CONNECTIONS = 50;
const RERUNS = 2;

interface Stack {
  key: StackKey;
  label: string;
  command: string[];
  /** import check for /usr/bin/python3 (Debian packages), undefined for Node */
  needs?: string;
}

export function stacks(): Stack[] {
  const dir = join(packageRoot(), 'sample-apps');
  return [
    { key: 'node-cluster', label: 'Node.js cluster (Fastify)', command: [process.execPath, join(dir, 'node', 'cluster.js')] },
    {
      key: 'gunicorn',
      label: 'Python gunicorn (sync workers)',
      command: [PYTHON, join(dir, 'python', 'gunicorn_app.py')],
      needs: 'gunicorn',
    },
    {
      key: 'uvicorn',
      label: 'Python uvicorn --workers (FastAPI)',
      command: [PYTHON, join(dir, 'python', 'uvicorn_workers.py')],
      needs: 'fastapi, uvicorn',
    },
  ];
}

function installed(modules: string | undefined): boolean {
  if (!modules) return true;
  try {
    execFileSync(PYTHON, ['-c', `import ${modules}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function version(stack: Stack): string {
  if (!stack.needs) return `Node ${process.version}`;
  const server = stack.key === 'gunicorn' ? 'gunicorn' : 'uvicorn';
  try {
    return execFileSync(
      PYTHON,
      ['-c', `import sys, ${server}; print("Python %d.%d.%d, ${server} %s" % (sys.version_info[:3] + (${server}.__version__,)))`],
      { encoding: 'utf8' },
    ).trim();
  } catch {
    return '?';
  }
}

/** CPU ticks of a process and all its live descendants (a process gone between the reads counts 0). */
function treeTicks(root: number): number {
  let sum = 0;
  for (const pid of [root, ...descendantsOf(root)]) {
    try {
      sum += cpuTicks(pid);
    } catch {
      // exited between the listing and the read
    }
  }
  return sum;
}

const busyTicks = (): number => cpuBusyTicks('0') + cpuBusyTicks('1');

/** Work on the two CPUs that is neither the service's nor this process's, in ticks. */
const foreignTicks = (root: number): number => busyTicks() - treeTicks(root) - cpuTicks(process.pid);

async function quietBoth(root: number, maxWaitMs: number): Promise<void> {
  const deadline = Date.now() + maxWaitMs;
  for (;;) {
    const a = foreignTicks(root);
    await sleep(1000);
    if ((foreignTicks(root) - a) / CLK_TCK < CONTENDED_BOTH / 2 || Date.now() > deadline) return;
  }
}

/** Waits until the master has its workers and answers; a pre-fork worker may still be importing. */
async function waitForWorkers(app: Spawned, workers: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const ok = await getOnce(`${app.url}/healthz`).then(
      () => true,
      () => false,
    );
    if (ok && descendantsOf(app.pid).length >= workers) return;
    if (Date.now() > deadline) throw new Error(`pid ${app.pid}: ${workers} workers not answering within 20 s`);
    await sleep(100);
  }
}

/** Waits for every process of the service to be watched and its probe to connect or give up. */
async function settleService(watcher: Watcher, app: Spawned, workers: number): Promise<string> {
  const t0 = Date.now();
  const done = (t: Target): boolean => ['connected', 'failed', 'unsupported'].includes(t.probe.state);
  // A process that never runs Python code (uvicorn's supervisor blocked on an Event, the
  // multiprocessing resource tracker) never loads an injected probe: once the workers have theirs,
  // give the rest a few seconds, not the whole timeout. They do no work, /proc covers them.
  const enough = (m: Target[]): boolean =>
    m.length >= workers + 1 &&
    (m.every(done) || (m.filter((t) => t.probe.state === 'connected').length >= workers && Date.now() - t0 > 8000));
  let members = watcher.serviceTargets(app.pid);
  while (Date.now() - t0 < 40_000 && !enough(members)) {
    // An idle CPython loads an injected probe only when it next runs Python code: poke the workers.
    await getOnce(`${app.url}/healthz`).catch(() => undefined);
    await sleep(200);
    members = watcher.serviceTargets(app.pid);
  }
  const connected = members.filter((t) => t.probe.state === 'connected');
  const methods = [...new Set(connected.map((t) => t.probe.method))].join(', ') || 'none';
  return `${methods} on ${connected.length} of ${members.length} processes`;
}

async function measureWindow(watcher: Watcher, target: Target, app: Spawned, workers: number, windowS: number): Promise<WorkerWindow> {
  let serviceTicks = 0;
  let loadTicks = 0;
  let foreign = 0;
  let wallS = 0;
  const around = (): (() => void) => {
    const s0 = treeTicks(app.pid);
    const l0 = cpuTicks(process.pid);
    const b0 = busyTicks();
    const w0 = performance.now();
    return () => {
      serviceTicks = treeTicks(app.pid) - s0;
      loadTicks = cpuTicks(process.pid) - l0;
      foreign = busyTicks() - b0 - serviceTicks - loadTicks;
      wallS = (performance.now() - w0) / 1000;
    };
  };
  const log = (line: string): void => void process.stderr.write(`showdown: ${line}\n`);
  const [doc, load] = await Promise.all([
    runWindow(watcher, target, { durationMs: windowS * 1000, load: undefined, log, progress: false }),
    runLoad(`${app.url}${SCALING_PATH}`, undefined, SCALING_CONNECTIONS, windowS, around),
  ]);
  const serviceS = serviceTicks / CLK_TCK;
  const s = doc.busy.shares;
  // Workers are the master's children that served; helpers (uvicorn's multiprocessing resource
  // tracker) are children too but do no work, so their small PSS would skew "per worker".
  const servers = doc.processes.filter((p) => p.role === 'worker' && p.workThreads > 0);
  const workerPss = servers.filter((p) => p.memory.pssBytes !== null).map((p) => p.memory.pssBytes as number);
  // autocannon times a request on a connection the server closed (gunicorn's sync workers close
  // every one) from before its reconnect: latencies that contradict the throughput are dropped.
  const latencyValid = latencyConsistent(load.latencyMs.p50, SCALING_CONNECTIONS, load.rps);
  return {
    workers,
    rps: load.rps,
    requests: load.requests,
    errors: load.errors,
    latencyMs: latencyValid ? load.latencyMs : null,
    serviceCores: wallS > 0 ? serviceS / wallS : NaN,
    cpuPerRequestMs: load.requests > 0 ? (serviceS * 1000) / load.requests : NaN,
    pssBytes: doc.memory.pssBytes ? doc.memory.pssBytes.max : null,
    workerPssBytes: workerPss,
    workerCores: servers.map((p) => p.cpu.avgCores).sort((a, b) => b - a),
    processes: doc.processes.length,
    verdict: doc.verdict,
    busyShares: { cpu: s.cpu, io: s.io, runqueue: s.runqueue, lock: s.lock, other: s.sleep + s.other },
    loadSideCores: wallS > 0 ? loadTicks / CLK_TCK / wallS : NaN,
    foreignCores: wallS > 0 ? Math.max(0, foreign) / CLK_TCK / wallS : NaN,
    attempts: 1,
  };
}

async function measureStackAt(
  stack: Stack,
  workers: number,
  env: NodeJS.ProcessEnv,
  opts: { windowS: number; warmupS: number },
): Promise<{ window: WorkerWindow; probe: string }> {
  const say = (line: string): void => void process.stderr.write(`showdown: ${stack.label} ×${workers}: ${line}\n`);
  const { child, ready } = spawnPinned(stack.key, stack.command, BOTH_CPUS, { ...env, WORKERS: String(workers) });
  const watcher = showdownWatcher(say, true);
  try {
    const app = await ready;
    await waitForWorkers(app, workers);
    await watcher.start();
    const target = watcher.watchPid(app.pid, { tree: true });
    const probe = await settleService(watcher, app, workers);
    say(`probe ${probe}; warming up`);
    await runLoad(`${app.url}${SCALING_PATH}`, undefined, SCALING_CONNECTIONS, opts.warmupS);
    await quietBoth(app.pid, 20_000);
    let best = await measureWindow(watcher, target, app, workers, opts.windowS);
    let attempts = 1;
    while (best.foreignCores > CONTENDED_BOTH && attempts <= RERUNS) {
      attempts++;
      say(`others used ${best.foreignCores.toFixed(2)} cores of the two; running the window again`);
      await quietBoth(app.pid, 30_000);
      const again = await measureWindow(watcher, target, app, workers, opts.windowS);
      if (again.foreignCores < best.foreignCores) best = again;
    }
    const w = { ...best, attempts };
    say(
      `${w.rps.toFixed(0)} req/s, p99 ${w.latencyMs ? w.latencyMs.p99.toFixed(2) : '?'} ms, ${w.errors} errors, service ${w.serviceCores.toFixed(2)} cores, ${w.verdict}, load side ${w.loadSideCores.toFixed(2)} cores, others ${w.foreignCores.toFixed(2)} cores`,
    );
    return { window: w, probe };
  } finally {
    watcher.detachAll();
    await watcher.stop();
    await stop(child);
  }
}

/** Runs every installed stack at 1 and then 2 workers; the pair of one stack runs back to back. */
export async function scalingShowdown(
  env: NodeJS.ProcessEnv,
  opts: { windowS: number; warmupS: number; machine: string; command: string },
): Promise<ScalingRun> {
  const t0 = Date.now();
  // The services use both cores here, so the load generator and rtprof may run on either too.
  execFileSync('taskset', ['-a', '-p', '-c', BOTH_CPUS, String(process.pid)], { stdio: 'ignore' });
  const results: StackResult[] = [];
  for (const stack of stacks()) {
    if (!installed(stack.needs)) {
      process.stderr.write(`showdown: ${stack.label}: skipped, /usr/bin/python3 cannot import ${stack.needs}\n`);
      continue;
    }
    const windows: WorkerWindow[] = [];
    const probes: string[] = [];
    for (const workers of WORKER_COUNTS) {
      const r = await measureStackAt(stack, workers, env, opts);
      windows.push(r.window);
      probes.push(`×${workers}: ${r.probe}`);
    }
    results.push({ key: stack.key, label: stack.label, version: version(stack), probe: probes.join('; '), windows });
  }
  return {
    startedAt: new Date(t0).toISOString(),
    partOfRun: null,
    durationS: (Date.now() - t0) / 1000,
    windowS: opts.windowS,
    path: SCALING_PATH,
    connections: SCALING_CONNECTIONS,
    machine: opts.machine,
    command: opts.command,
    stacks: results,
  };
}
