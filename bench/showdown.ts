// `npm run showdown`: Node.js (Fastify) vs Python (asyncio, threaded) on the same endpoints of the
// sample apps, on this machine, in one run: cold start, idle RSS, compute speed, then fixed-rate
// and saturating load on /json, /io and /cpu with rtprof attached (loop/interpreter delay, GC,
// breakdown, verdict) and the load generator measuring the answers (open loop at a fixed rate,
// autocannon saturated). Writes docs/SHOWDOWN.md, prints its tables; `--rate-only` re-measures
// just the fixed-rate rows into an earlier run's data. Every service runs pinned to CPU 0,
// everything else (load generator, rtprof, the downstream) to CPU 1, so each runtime gets exactly
// one core. The measuring is showdownMeasure.ts's.
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { appCommand } from '../src/demo/apps';
import { coldStart, LOAD_CPU, measureRuntime, quietMachine, RUNTIMES, SCENARIOS } from './showdownMeasure';
import { killAll, spawnPinned, stop } from './showdownProcs';
import { renderShowdown, tablesOf } from './showdownReport';
import { scalingShowdown } from './showdownScaling';
import { renderScaling } from './showdownScalingReport';
import type { RuntimeKey, RuntimeResult, ScalingRun, ShowdownRun } from './showdownTypes';

const ROOT = join(__dirname, '..', '..');
const DOC = join(ROOT, 'docs', 'SHOWDOWN.md');

function fastapiInstalled(): boolean {
  try {
    execFileSync('/usr/bin/python3', ['-c', 'import fastapi, uvicorn'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function machine(): string {
  const read = (cmd: string, args: string[]): string => {
    try {
      return execFileSync(cmd, args, { encoding: 'utf8' }).trim();
    } catch {
      return '?';
    }
  };
  let debian = '?';
  try {
    debian = readFileSync('/etc/debian_version', 'utf8').trim();
  } catch {
    // not Debian
  }
  return `${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, ${(totalmem() / 2 ** 30).toFixed(0)} GiB RAM, Debian ${debian}, Linux ${read('uname', ['-r'])}`;
}

interface Options {
  windowS: number;
  warmupS: number;
  coldStarts: number;
  runtimes: RuntimeKey[];
  out: string;
  /** the multi-worker rows: 'also' after the single-process part, 'only' them, or 'no' */
  scaling: 'also' | 'only' | 'no';
  /** re-measure only the fixed-rate scenarios into the data of an earlier full run */
  rateOnly: boolean;
}

function parseArgs(argv: string[]): Options {
  const quick = argv.includes('--quick');
  const pick = (flag: string): string | undefined => {
    const i = argv.indexOf(flag);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  return {
    windowS: Number(pick('--window') ?? (quick ? 3 : 10)),
    warmupS: quick ? 1 : 3,
    coldStarts: Number(pick('--cold-starts') ?? (quick ? 3 : 7)),
    runtimes:
      (pick('--runtimes')?.split(',') as RuntimeKey[] | undefined) ??
      RUNTIMES.map((r) => r.key).filter((k) => k !== 'fastapi' || fastapiInstalled()),
    out: pick('--out') ?? (quick ? '/tmp/SHOWDOWN.quick.md' : DOC),
    scaling: argv.includes('--scaling-only') ? 'only' : argv.includes('--no-scaling') ? 'no' : 'also',
    rateOnly: argv.includes('--rate-only'),
  };
}

/** The run's data beside its document (docs/SHOWDOWN.json): what a later `--scaling-only` merges into. */
const jsonOf = (out: string): string => out.replace(/\.md$/, '') + '.json';

/**
 * `--scaling-only`: the multi-worker rows alone. When the document's data from an earlier full run
 * is there, they replace that run's multi-worker section (the document then says which rows
 * come from which run); otherwise the document has only them.
 */
function mergeScaling(out: string, scaling: ScalingRun): { markdown: string; run?: ShowdownRun } {
  if (existsSync(jsonOf(out))) {
    const base = JSON.parse(readFileSync(jsonOf(out), 'utf8')) as ShowdownRun;
    const run = { ...base, scaling };
    return { markdown: renderShowdown(run, SCENARIOS), run };
  }
  const markdown = ['# Node.js vs Python: the showdown, multi-worker rows only', '', ...renderScaling(scaling, undefined), ''].join('\n');
  return { markdown };
}

/**
 * `--rate-only`: the fixed-rate scenarios alone, measured again for each runtime of an earlier
 * full run's data and put in place of its rows (the document then says which rows are from when).
 */
async function rateRerun(
  opts: Options,
  chosen: typeof RUNTIMES,
  env: NodeJS.ProcessEnv,
  downstreamPid: number,
  command: string,
  t0: number,
): Promise<string> {
  if (!existsSync(jsonOf(opts.out))) throw new Error(`--rate-only re-measures rows of an earlier full run: ${jsonOf(opts.out)} is missing`);
  const run = JSON.parse(readFileSync(jsonOf(opts.out), 'utf8')) as ShowdownRun;
  const fixed = SCENARIOS.filter((s) => s.rate !== undefined);
  for (const rt of chosen) {
    const base = run.runtimes.find((r) => r.key === rt.key);
    if (!base) continue; // a runtime the full run did not have would be a column of one row
    const again = await measureRuntime(rt, env, downstreamPid, opts, { first: [], ready: [] }, fixed);
    for (const sc of fixed) base.scenarios[sc.key] = again.scenarios[sc.key];
  }
  run.rateRerun = {
    startedAt: new Date(t0).toISOString(),
    durationS: (Date.now() - t0) / 1000,
    command,
    scenarios: fixed.map((s) => s.key),
  };
  const markdown = renderShowdown(run, SCENARIOS);
  writeFileSync(opts.out, markdown);
  writeFileSync(jsonOf(opts.out), `${JSON.stringify(run, null, 1)}\n`);
  return markdown;
}

/** Runs the showdown and returns the markdown of docs/SHOWDOWN.md. */
export async function showdown(argv: string[] = []): Promise<string> {
  const opts = parseArgs(argv);
  const chosen = RUNTIMES.filter((r) => opts.runtimes.includes(r.key));
  const t0 = Date.now();
  const command = `flock /tmp/rtprof-heavy.lock npm run showdown${argv.length ? ` -- ${argv.join(' ')}` : ''}`;
  // This process is the load generator and rtprof: it and its threads go to the other core.
  execFileSync('taskset', ['-a', '-p', '-c', LOAD_CPU, String(process.pid)], { stdio: 'ignore' });
  const downstream = spawnPinned('downstream', appCommand('downstream'), LOAD_CPU, {});
  try {
    const ds = await downstream.ready;
    const env = { DOWNSTREAM_URL: ds.url };
    const scalingOpts = { windowS: opts.windowS, warmupS: opts.warmupS, machine: machine(), command };
    if (opts.scaling === 'only') {
      const merged = mergeScaling(opts.out, await scalingShowdown(env, scalingOpts));
      writeFileSync(opts.out, merged.markdown);
      if (merged.run) writeFileSync(jsonOf(opts.out), `${JSON.stringify(merged.run, null, 1)}\n`);
      process.stderr.write(`showdown: wrote ${opts.out} (multi-worker rows only, after ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
      return merged.markdown;
    }
    if (opts.rateOnly) {
      const markdown = await rateRerun(opts, chosen, env, ds.pid, command, t0);
      process.stderr.write(`showdown: wrote ${opts.out} (fixed-rate rows only, after ${((Date.now() - t0) / 1000).toFixed(0)} s)\n`);
      return markdown;
    }
    const cold = new Map(chosen.map((r) => [r.key, { first: [] as number[], ready: [] as number[] }]));
    // One unmeasured start each (page cache), then the measured ones interleaved so drift hits all alike.
    for (const rt of chosen) await coldStart(rt.app, env);
    for (let i = 0; i < opts.coldStarts; i++) {
      await quietMachine(undefined, ds.pid, 10_000);
      for (const rt of chosen) {
        const c = await coldStart(rt.app, env);
        cold.get(rt.key)!.first.push(c.firstResponseMs);
        cold.get(rt.key)!.ready.push(c.readyMs);
      }
    }
    process.stderr.write(`showdown: cold starts done (${opts.coldStarts} each)\n`);
    const runtimes: RuntimeResult[] = [];
    for (const rt of chosen) runtimes.push(await measureRuntime(rt, env, ds.pid, opts, cold.get(rt.key)!));
    const run: ShowdownRun = {
      startedAt: new Date(t0).toISOString(),
      durationS: (Date.now() - t0) / 1000,
      windowS: opts.windowS,
      coldStarts: opts.coldStarts,
      machine: machine(),
      fastapiInstalled: fastapiInstalled(),
      command,
      runtimes,
    };
    const write = (): string => {
      const markdown = renderShowdown(run, SCENARIOS);
      writeFileSync(opts.out, markdown);
      writeFileSync(jsonOf(opts.out), `${JSON.stringify(run, null, 1)}\n`);
      return markdown;
    };
    let markdown = write(); // kept if the multi-worker part fails: `--scaling-only` can add it later
    if (opts.scaling === 'also') {
      run.scaling = { ...(await scalingShowdown(env, scalingOpts)), partOfRun: run.startedAt };
      markdown = write();
    }
    process.stderr.write(`showdown: wrote ${opts.out} after ${((Date.now() - t0) / 1000).toFixed(0)} s\n`);
    return markdown;
  } finally {
    await stop(downstream.child);
    killAll();
  }
}

if (require.main === module) {
  process.once('exit', killAll);
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => {
      killAll();
      process.exit(130);
    });
  }
  showdown(process.argv.slice(2)).then(
    (markdown) => void process.stdout.write(tablesOf(markdown)),
    (err: unknown) => {
      process.stderr.write(`showdown: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
