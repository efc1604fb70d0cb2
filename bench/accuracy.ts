// The verdict's accuracy grid: Node (Fastify) and CPython (asyncio) sample services, probe attached
// and preloaded, driven open-loop at 5, 20, 50 and 90 % of saturation with a CPU-only, an I/O-only
// and a 20/60 mixed handler. Each cell's busy io/cpu shares are compared with the truth measured
// without rtprof (test/helpers/openLoopTruth.ts: the client's in-flight time and the main thread's
// schedstat over the intervals the profile covered). test/accuracy.e2e.test.ts checks a few cells in CI.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { join } from 'node:path';
import type { ProfileDocument } from '../src/report';
import { nominalCpuOnly, OpenLoop, ThreadClock, truthOver, type OpenLoopTruth } from '../test/helpers/openLoopTruth';
import type { BenchResult } from './types';

const ROOT = join(__dirname, '..', '..');
const RTPROF = join(ROOT, 'bin', 'rtprof.js');
const DURATION_S = 5;
const TOLERANCE = 0.05;

type Runtime = 'node' | 'python';
type Handler = 'cpu' | 'io' | 'mixed';
type Mode = 'attached' | 'preloaded';

const PATHS: Record<Handler, string> = { cpu: '/cpu?ms=4', io: '/io?ms=40', mixed: '/mixed?cpu_ms=20&io_ms=60' };
/** Requests per second at 100 %: the CPU handlers' saturation of one loop (measured per request on
 * an idle machine: Node 4.5 and 21.5 ms, CPython 5.6 and 22 ms); for the I/O-only handler, one
 * request in flight at all times. */
const SATURATION: Record<Runtime, Record<Handler, number>> = {
  node: { cpu: 220, io: 25, mixed: 46 },
  python: { cpu: 180, io: 25, mixed: 45 },
};
const LOADS = [0.05, 0.2, 0.5, 0.9];

interface Cell {
  runtime: Runtime;
  mode: Mode;
  handler: Handler;
  load: number;
  rate: number;
  doc?: ProfileDocument;
  truth?: OpenLoopTruth;
  error?: string;
}

function command(runtime: Runtime): [string, string] {
  return runtime === 'node'
    ? [process.execPath, join(ROOT, 'sample-apps/node/server.js')]
    : ['/usr/bin/python3', join(ROOT, 'sample-apps/python/asyncio_app.py')];
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function run(
  cmd: string,
  args: string[],
  env: NodeJS.ProcessEnv,
): { child: ChildProcess; out: () => string; ready: Promise<{ pid: number; port: number }>; exited: Promise<number | null> } {
  const child = spawn(cmd, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  const ready = new Promise<{ pid: number; port: number }>((resolve, reject) => {
    const look = (): void => {
      const m = /READY pid=(\d+) port=(\d+)/.exec(out + err);
      if (m) resolve({ pid: Number(m[1]), port: Number(m[2]) });
    };
    child.stdout!.on('data', (d: Buffer) => ((out += d.toString()), look()));
    child.stderr!.on('data', (d: Buffer) => ((err += d.toString()), look()));
    setTimeout(() => reject(new Error(`no READY line from ${args.join(' ')}: ${err.slice(-500)}`)), 20_000).unref();
  });
  ready.catch(() => undefined); // awaited only for the service itself; a profile never prints READY
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, out: () => out, ready, exited };
}

/** The profile's JSON document: the last top-level object on stdout (a preloaded target prints its own lines first). */
function parseDoc(out: string): ProfileDocument {
  const at = out.lastIndexOf('\n{\n');
  return JSON.parse(at === -1 ? out : out.slice(at + 1)) as ProfileDocument;
}

async function measure(cell: Cell, downstreamUrl: string): Promise<void> {
  const [cmd, script] = command(cell.runtime);
  const env = { ...process.env, DOWNSTREAM_URL: downstreamUrl };
  const duration = `${DURATION_S}s`;
  let target: ReturnType<typeof run> | undefined;
  let profile: ReturnType<typeof run> | undefined;
  let load: OpenLoop | undefined;
  let clock: ThreadClock | undefined;
  try {
    let pid: number;
    let port: number;
    if (cell.mode === 'attached') {
      target = run(cmd, [script], { ...env, PORT: '0' });
      ({ pid, port } = await target.ready);
      load = new OpenLoop(`http://127.0.0.1:${port}${PATHS[cell.handler]}`, cell.rate).start();
      clock = new ThreadClock(pid).start();
      await new Promise((r) => setTimeout(r, 1000));
      profile = run(RTPROF, ['profile', '--json', '--pid', String(pid), '--duration', duration], env);
    } else {
      port = await freePort();
      // The profile launches the service with the probe preloaded; its window starts at once.
      profile = run(RTPROF, ['profile', '--json', '--duration', duration, '--', cmd, script], { ...env, PORT: String(port) });
      ({ pid } = await profile.ready);
      clock = new ThreadClock(pid).start();
      load = new OpenLoop(`http://127.0.0.1:${port}${PATHS[cell.handler]}`, cell.rate).start();
    }
    const code = await profile.exited;
    if (code !== 0) throw new Error(`profile exited ${code}`);
    clock.stop();
    cell.doc = parseDoc(profile.out());
    const spans = cell.doc.series.filter((p) => p.breakdown !== null).map((p) => [p.t - p.durationS * 1000, p.t] as [number, number]);
    cell.truth = truthOver(spans, clock, load);
  } catch (err) {
    cell.error = (err as Error).message;
  } finally {
    clock?.stop();
    await load?.stop();
    profile?.child.kill();
    target?.child.kill();
    await target?.exited;
  }
}

/** A CPU-only handler waits on nothing: its io is 0 by construction (see test/accuracy.e2e.test.ts for why the client cannot see that exactly). */
function truthShares(cell: Cell): { io: number; cpu: number; verdict: string } {
  const t = cell.handler === 'cpu' ? nominalCpuOnly(cell.truth!) : cell.truth!;
  return { io: t.shares.io, cpu: t.shares.cpu, verdict: t.verdict };
}

const f2 = (x: number): string => x.toFixed(2);

export async function accuracy(): Promise<BenchResult> {
  const downstream = run(process.execPath, [join(ROOT, 'sample-apps/downstream/server.js')], { ...process.env, PORT: '0' });
  const { port } = await downstream.ready;
  const cells: Cell[] = [];
  try {
    for (const runtime of ['node', 'python'] as const)
      for (const mode of ['attached', 'preloaded'] as const)
        for (const handler of ['cpu', 'io', 'mixed'] as const)
          for (const load of LOADS) {
            const cell: Cell = { runtime, mode, handler, load, rate: Math.max(1, Math.round(SATURATION[runtime][handler] * load)) };
            process.stderr.write(`accuracy: ${runtime} ${mode} ${handler} ${load * 100} % (${cell.rate}/s)…\n`);
            await measure(cell, `http://127.0.0.1:${port}`);
            cells.push(cell);
          }
  } finally {
    downstream.child.kill();
  }
  const rows = cells.map((c) => {
    if (!c.doc || !c.truth)
      return `| ${c.runtime} | ${c.mode} | ${c.handler} | ${c.load * 100} % | ${c.rate} | – | – | – | – | failed: ${c.error ?? '?'} |`;
    const t = truthShares(c);
    const s = c.doc.busy.shares;
    const ok = Math.abs(s.io - t.io) <= TOLERANCE && c.doc.verdict === t.verdict;
    return (
      `| ${c.runtime} | ${c.mode} | ${c.handler} | ${c.load * 100} % | ${c.rate} | ${f2(s.io)} / ${f2(s.cpu)} | ${f2(t.io)} / ${f2(t.cpu)} | ` +
      `${f2(Math.abs(s.io - t.io))} | ${c.doc.verdict} / ${t.verdict} | ${ok ? 'yes' : '**no**'} |`
    );
  });
  const measured = cells.filter((c) => c.doc && c.truth);
  const within = measured.filter((c) => Math.abs(c.doc!.busy.shares.io - truthShares(c).io) <= TOLERANCE).length;
  const verdicts = measured.filter((c) => c.doc!.verdict === truthShares(c).verdict).length;
  const markdown = [
    `Sample services (sample-apps/node/server.js, sample-apps/python/asyncio_app.py) driven open-loop at a fixed rate ` +
      `(test/helpers/openLoopTruth.ts: each request sent when due, whatever is in flight) for ${DURATION_S} s profiles. ` +
      `Truth: the client's in-flight time and the main thread's schedstat over the intervals the profile's shares cover; ` +
      `io = in-flight time less the thread's CPU and run queue while a request was in flight (schedstat polled every 2 ms). A CPU-only handler's truth is io 0 by construction. Handlers: cpu = \`${PATHS.cpu}\`, ` +
      `io = \`${PATHS.io}\`, mixed = \`${PATHS.mixed}\`. Load = rate / saturation (one loop's requests per second at 100 % CPU; ` +
      `for io, one request always in flight).`,
    '',
    `**io share within ± ${TOLERANCE}: ${within} of ${measured.length} cells; verdict right: ${verdicts} of ${measured.length}**` +
      (measured.length < cells.length ? ` (${cells.length - measured.length} cells failed to run)` : '') +
      '.',
    '',
    '| runtime | probe | handler | load | req/s | rtprof io / cpu | truth io / cpu | Δio | verdict rtprof / truth | within |',
    '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
  return {
    name: 'accuracy',
    title: 'Verdict accuracy at open-loop load (busy io/cpu shares vs truth)',
    markdown,
    numbers: { cells: cells.length, measured: measured.length, ioWithin: within, verdictRight: verdicts },
  };
}
