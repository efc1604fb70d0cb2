// How long `rtprof agent --pid <master>` takes to have a probe in every process of a service:
// a Node cluster and gunicorn (sync workers) with 1, 2 and 4 workers, from launching the agent to
// every target connected. Goal: ≤ 2 s + 0.3 s × workers. Node attaches run one at a time (one
// inspector port per network namespace); CPython attaches (gdb) run side by side.
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { BenchResult } from './types';

const ROOT = join(__dirname, '..', '..');
const RTPROF = join(ROOT, 'bin', 'rtprof.js');
const ROUNDS = 3;
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function launch(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): { child: ChildProcess; out: () => string } {
  const child = spawn(cmd, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'], cwd: join(ROOT, 'bench/fixtures/services') });
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  return { child, out: () => out };
}

function killGroup(child: ChildProcess): void {
  try {
    process.kill(-child.pid!, 'SIGKILL');
  } catch {
    // already gone
  }
}

async function waitFor(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await sleep(everyMs);
  }
  throw new Error(`timed out: ${what}`);
}

/** Seconds from the agent's launch to every process of the tree connected (the agent starts its
 * attaches before it serves HTTP, so the clock starts at the command, as a user's would). */
async function attachOnce(service: { child: ChildProcess }, processes: number): Promise<number> {
  const t0 = Date.now();
  const agent = launch(RTPROF, ['agent', '--pid', String(service.child.pid), '--port', '0', '--interval', '500ms']);
  try {
    let url = '';
    await waitFor('agent serving', () => !!(url = /serving (http:\/\/\S+)\/metrics/.exec(agent.out())?.[1] ?? ''), 20_000);
    await waitFor(
      `${processes} probes connected`,
      async () => {
        const targets = (await (await fetch(`${url}/api/targets`)).json()) as Array<{ probe: { state: string } }>;
        return targets.length === processes && targets.every((t) => t.probe.state === 'connected');
      },
      30_000,
    );
    return (Date.now() - t0) / 1000;
  } finally {
    killGroup(agent.child);
    await sleep(300);
  }
}

/** A free loopback port (the OS picks it; closed again before the service binds it). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** One request every 100 ms while attaching: a service with traffic. Returns a stop function. */
function trickle(port: number): () => void {
  const timer = setInterval(() => {
    fetch(`http://127.0.0.1:${port}/`).catch(() => undefined);
  }, 100);
  return () => clearInterval(timer);
}

async function measure(kind: 'cluster' | 'gunicorn', workers: number, traffic: boolean): Promise<number[]> {
  const times: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    // A fresh service each round: a process that already holds a probe reconnects at once.
    const port = await freePort();
    const service =
      kind === 'cluster'
        ? launch(process.execPath, ['cluster.cjs'], { ...process.env, WORKERS: String(workers), PORT: String(port) })
        : launch('gunicorn', ['-w', String(workers), '-b', `127.0.0.1:${port}`, 'wsgi:app']);
    let stop = (): void => undefined;
    try {
      await waitFor(
        'service ready',
        () => (kind === 'cluster' ? /ready/.test(service.out()) : (service.out().match(/Booting worker/g) ?? []).length >= workers),
        20_000,
      );
      await sleep(500);
      if (traffic) stop = trickle(port);
      // A round that times out counts as infinitely slow (the goal line then says so), not as an abort.
      times.push(await attachOnce(service, workers + 1).catch(() => Infinity));
    } finally {
      stop();
      killGroup(service.child);
      await sleep(300);
    }
  }
  return times;
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? NaN;

export async function treeAttach(): Promise<BenchResult> {
  const rows: string[] = [];
  const numbers: Record<string, number> = {};
  const kinds: Array<'cluster' | 'gunicorn'> = existsSync('/usr/bin/gunicorn') ? ['cluster', 'gunicorn'] : ['cluster'];
  const cases: Array<[kind: 'cluster' | 'gunicorn', workers: number, traffic: boolean]> = [];
  for (const kind of kinds) for (const workers of [1, 2, 4]) cases.push([kind, workers, true]);
  if (kinds.includes('gunicorn')) cases.push(['gunicorn', 2, false]);
  for (const [kind, workers, traffic] of cases) {
    const times = await measure(kind, workers, traffic);
    const goal = 2 + 0.3 * workers;
    const med = median(times);
    const max = Math.max(...times);
    numbers[`${kind}${workers}${traffic ? '' : 'Idle'}MedianS`] = med;
    rows.push(
      `| ${kind === 'cluster' ? 'Node cluster' : 'gunicorn (sync)'} | ${workers} | ${traffic ? 'a request / 100 ms' : 'none'} | ${med.toFixed(2)} s | ${max.toFixed(2)} s | ${goal.toFixed(1)} s | ${max <= goal ? 'met' : 'NOT met'} |`,
    );
  }
  const markdown = [
    `A fresh service per round (${ROUNDS} rounds), \`rtprof agent --pid <master>\`; time from launching the agent to every process of the tree (master + workers) connected. Goal: ≤ 2 s + 0.3 s × workers.`,
    '',
    '| service | workers | traffic | median | max | goal | |',
    '| --- | ---: | --- | ---: | ---: | ---: | --- |',
    ...rows,
    '',
    'An idle CPython process whose main thread is parked in a blocking call loads the probe when it next runs Python code. A gunicorn sync worker with no traffic waits in select() for half its --timeout (15 s by default); rtprof wakes it with SIGWINCH, which gunicorn workers take as a no-op (collectors/python/wake.ts).',
  ].join('\n');
  return { name: 'treeAttach', title: 'Attaching to a whole service', markdown, numbers };
}
