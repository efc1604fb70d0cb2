// Node probe overhead: a Fastify hello-world (bench/fixtures/fastify-hello.js) under autocannon,
// side by side in one run with rounds alternated — no probe, rtprof attached (`rtprof agent --pid`),
// rtprof preloaded (`rtprof run`), prom-client collectDefaultMetrics and OpenTelemetry's
// instrumentation-runtime-node. Every variant's metrics are scraped once a second during the load,
// as Prometheus would, so collection is paid for. The service is pinned to CPU 0; autocannon, the
// agent, the scraper and this process to CPU 1. Each (round, variant) is a fresh process: warm-up
// load discarded, then the measured window. Also the attach time: `rtprof agent --pid` started to
// the first probe snapshot in /api/targets, on fresh idle targets.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLK_TCK } from '../collectors/proc/procfs';
import type { BenchResult } from './types';

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'bench', 'fixtures', 'fastify-hello.js');
const RTPROF = join(ROOT, 'bin', 'rtprof.js');
const AUTOCANNON = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js');
const APP_CPU = '0';
const LOAD_CPU = '1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const VARIANTS = ['none', 'rtprof-attached', 'rtprof-preloaded', 'prom-client', 'otel-runtime-node'] as const;
type Variant = (typeof VARIANTS)[number];
const LABEL: Record<Variant, string> = {
  none: 'no probe',
  'rtprof-attached': 'rtprof, attached (`agent --pid`)',
  'rtprof-preloaded': 'rtprof, preloaded (`rtprof run`)',
  'prom-client': 'prom-client `collectDefaultMetrics`',
  'otel-runtime-node': 'OTel `instrumentation-runtime-node`',
};

export interface NodeOverheadOptions {
  rounds: number;
  warmupS: number;
  durationS: number;
  connections: number;
  attaches: number;
}

const DEFAULTS: NodeOverheadOptions = { rounds: 5, warmupS: 2, durationS: 8, connections: 50, attaches: 5 };

interface Running {
  /** the service's pid */
  pid: number;
  url: string;
  /** what is scraped every second during the load, if anything */
  metricsUrl: string | undefined;
  /** the agent's pid, for the rtprof variants */
  agentPid: number | undefined;
  /** every process group we started */
  groups: ChildProcess[];
}

interface Round {
  rps: number;
  p99Ms: number;
  p50Ms: number;
  /** the service's CPU time per request, µs */
  cpuUsPerReq: number;
  /** the service's CPU, fraction of its one core */
  appCpu: number;
  /** the agent's CPU, fraction of one core */
  agentCpu: number | undefined;
  errors: number;
  scrapes: number;
}

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}

function killGroups(children: ChildProcess[]): void {
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

/** Resolves with the first match of `re` in the stream; rejects if the process exits first. */
function waitFor(child: ChildProcess, stream: 'stdout' | 'stderr', re: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error(`timed out waiting for ${re} on ${stream}: ${text}`)), timeoutMs);
    child[stream]!.on('data', (d: Buffer) => {
      text += d.toString();
      const m = re.exec(text);
      if (m) {
        clearTimeout(timer);
        resolve(m);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`process exited (${code}) before ${re}: ${text}`));
    });
  });
}

function drain(child: ChildProcess): void {
  child.stdout?.resume();
  child.stderr?.resume();
}

function startFixture(variant: string): ChildProcess {
  return spawn('taskset', ['-c', APP_CPU, process.execPath, FIXTURE], {
    env: { ...process.env, BENCH_VARIANT: variant, NODE_OPTIONS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  });
}

interface TargetJson {
  pid: number;
  probe: { state: string; snapshots: number };
}

async function targets(agentUrl: string): Promise<TargetJson[]> {
  const body = (await (await fetch(`${agentUrl}/api/targets`)).json()) as TargetJson[] | { targets: TargetJson[] };
  return Array.isArray(body) ? body : body.targets;
}

/** Polls /api/targets every `everyMs` until the probe of `pid` (any, if undefined) has sent a snapshot. */
async function waitForSnapshot(agentUrl: string, pid: number | undefined, everyMs: number, timeoutMs = 15_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    try {
      const t = (await targets(agentUrl)).find((x) => pid === undefined || x.pid === pid);
      if (t && t.probe.state === 'connected' && t.probe.snapshots >= 1) return t.pid;
    } catch {
      // agent still starting
    }
    await sleep(everyMs);
  }
  throw new Error(`no probe snapshot for ${pid ?? 'the child'} from ${agentUrl} within ${timeoutMs} ms`);
}

async function startAgent(pid: number): Promise<{ child: ChildProcess; url: string }> {
  // Through the shebang, as users run it (it carries the agent's V8 flags).
  const child = spawn('taskset', ['-c', LOAD_CPU, RTPROF, 'agent', '--pid', String(pid), '--port', '0'], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  const m = await waitFor(child, 'stderr', /serving (http:\/\/\S+)\/metrics/);
  drain(child);
  return { child, url: m[1]! };
}

async function start(variant: Variant): Promise<Running> {
  const groups: ChildProcess[] = [];
  try {
    if (variant === 'rtprof-preloaded') {
      const child = spawn(
        'taskset',
        ['-c', LOAD_CPU, RTPROF, 'run', '--port', '0', '--', 'taskset', '-c', APP_CPU, process.execPath, FIXTURE],
        { env: { ...process.env, BENCH_VARIANT: 'none' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
      );
      groups.push(child);
      const [port, agent] = await Promise.all([waitFor(child, 'stdout', /"port":(\d+)/), waitFor(child, 'stderr', /(http:\/\/127\.0\.0\.1:\d+)\/metrics/)]);
      drain(child);
      const agentUrl = agent[1]!;
      const pid = await waitForSnapshot(agentUrl, undefined, 50);
      return { pid, url: `http://127.0.0.1:${port[1]}/`, metricsUrl: `${agentUrl}/metrics`, agentPid: child.pid!, groups };
    }
    const fixture = startFixture(variant === 'prom-client' ? 'prom' : variant === 'otel-runtime-node' ? 'otel' : 'none');
    groups.push(fixture);
    const port = (await waitFor(fixture, 'stdout', /"port":(\d+)/))[1]!;
    drain(fixture);
    const url = `http://127.0.0.1:${port}/`;
    if (variant === 'rtprof-attached') {
      const agent = await startAgent(fixture.pid!);
      groups.push(agent.child);
      await waitForSnapshot(agent.url, fixture.pid!, 50);
      return { pid: fixture.pid!, url, metricsUrl: `${agent.url}/metrics`, agentPid: agent.child.pid!, groups };
    }
    return { pid: fixture.pid!, url, metricsUrl: variant === 'none' ? undefined : `${url}metrics`, agentPid: undefined, groups };
  } catch (err) {
    killGroups(groups);
    throw err;
  }
}

interface LoadResult {
  rps: number;
  p50Ms: number;
  p99Ms: number;
  total: number;
  errors: number;
}

/** autocannon in its own process on the load CPU. */
async function load(url: string, durationS: number, connections: number): Promise<LoadResult> {
  const child = spawn('taskset', ['-c', LOAD_CPU, process.execPath, AUTOCANNON, '-c', String(connections), '-d', String(durationS), '-j', url], {
    stdio: ['ignore', 'pipe', 'ignore'],
    detached: true,
  });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  try {
    const code = await new Promise<number | null>((resolve) => child.once('exit', resolve));
    if (code !== 0) throw new Error(`autocannon exited ${code}`);
  } finally {
    killGroups([child]);
  }
  const r = JSON.parse(out) as {
    requests: { total: number };
    duration: number;
    latency: { p50: number; p99: number };
    errors: number;
    non2xx: number;
  };
  return { rps: r.requests.total / r.duration, p50Ms: r.latency.p50, p99Ms: r.latency.p99, total: r.requests.total, errors: r.errors + r.non2xx };
}

/** GET metricsUrl every second, as Prometheus would; resolves the number of good scrapes on stop. */
function scraper(metricsUrl: string | undefined): () => Promise<number> {
  if (!metricsUrl) return () => Promise.resolve(0);
  let ok = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const timer = setInterval(() => {
    inFlight = (async () => {
      try {
        const res = await fetch(metricsUrl);
        const text = await res.text();
        if (res.ok && text.length > 0) ok++;
      } catch {
        // counted as missing
      }
    })();
  }, 1000);
  return async () => {
    clearInterval(timer);
    await inFlight;
    return ok;
  };
}

async function measure(variant: Variant, opts: NodeOverheadOptions): Promise<Round> {
  const r = await start(variant);
  try {
    await load(r.url, opts.warmupS, opts.connections);
    const stop = scraper(r.metricsUrl);
    const app0 = cpuTicks(r.pid);
    const agent0 = r.agentPid !== undefined ? cpuTicks(r.agentPid) : 0;
    const w0 = performance.now();
    const res = await load(r.url, opts.durationS, opts.connections);
    const wallS = (performance.now() - w0) / 1000;
    const appS = (cpuTicks(r.pid) - app0) / CLK_TCK;
    const agentS = r.agentPid !== undefined ? (cpuTicks(r.agentPid) - agent0) / CLK_TCK : undefined;
    const scrapes = await stop();
    if (r.metricsUrl && scrapes < opts.durationS - 2) throw new Error(`${variant}: only ${scrapes} good scrapes of ${r.metricsUrl}`);
    return {
      rps: res.rps,
      p50Ms: res.p50Ms,
      p99Ms: res.p99Ms,
      cpuUsPerReq: (appS * 1e6) / res.total,
      appCpu: appS / wallS,
      agentCpu: agentS !== undefined ? agentS / wallS : undefined,
      errors: res.errors,
      scrapes,
    };
  } finally {
    killGroups(r.groups);
    await sleep(300);
  }
}

/** `rtprof agent --pid` started → first snapshot of that pid in /api/targets (polled every 10 ms). */
async function attachTime(): Promise<number> {
  const fixture = startFixture('none');
  const groups = [fixture];
  try {
    await waitFor(fixture, 'stdout', /"port":(\d+)/);
    drain(fixture);
    await sleep(500);
    const t0 = performance.now();
    const child = spawn('taskset', ['-c', LOAD_CPU, RTPROF, 'agent', '--pid', String(fixture.pid), '--port', '0'], {
      stdio: ['ignore', 'ignore', 'pipe'],
      detached: true,
    });
    groups.push(child);
    const url = (await waitFor(child, 'stderr', /serving (http:\/\/\S+)\/metrics/))[1]!;
    drain(child);
    await waitForSnapshot(url, fixture.pid!, 10);
    return (performance.now() - t0) / 1000;
  } finally {
    killGroups(groups);
    await sleep(200);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

function pinSelf(cpu: string): string | undefined {
  try {
    const before = /: (\S+)\s*$/.exec(execFileSync('taskset', ['-pc', String(process.pid)], { encoding: 'utf8' }))?.[1];
    execFileSync('taskset', ['-pc', cpu, String(process.pid)], { stdio: 'ignore' });
    return before;
  } catch {
    return undefined;
  }
}

const pct = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x * 100).toFixed(1)} %`;

export async function nodeOverhead(options: Partial<NodeOverheadOptions> = {}): Promise<BenchResult> {
  const opts = { ...DEFAULTS, ...options };
  const restore = pinSelf(LOAD_CPU);
  const rounds = new Map<Variant, Round[]>(VARIANTS.map((v) => [v, []]));
  const attaches: number[] = [];
  try {
    // Round 0 is a warm-up of the whole machinery (page cache, JIT of the tools) and is discarded.
    for (let round = 0; round <= opts.rounds; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
      for (const v of round === 0 ? ['none' as const] : order) {
        const m = await measure(v, round === 0 ? { ...opts, durationS: 2 } : opts);
        process.stderr.write(`  round ${round} ${v}: ${m.rps.toFixed(0)} req/s, p99 ${m.p99Ms} ms, ${m.cpuUsPerReq.toFixed(1)} µs CPU/req, app CPU ${(m.appCpu * 100).toFixed(0)} %\n`);
        if (round > 0) rounds.get(v)!.push(m);
      }
    }
    for (let i = 0; i < opts.attaches; i++) {
      attaches.push(await attachTime());
      process.stderr.write(`  attach ${i + 1}: ${attaches[i]!.toFixed(3)} s\n`);
    }
  } finally {
    if (restore) pinSelf(restore);
  }
  return report(rounds, attaches, opts);
}

function report(rounds: Map<Variant, Round[]>, attaches: number[], opts: NodeOverheadOptions): BenchResult {
  const numbers: Record<string, number> = {};
  const stat = (v: Variant, f: (r: Round) => number): number => median(rounds.get(v)!.map(f));
  const base = rounds.get('none')!;
  const baseRps = stat('none', (r) => r.rps);
  const baseP99 = stat('none', (r) => r.p99Ms);
  const baseCpu = stat('none', (r) => r.cpuUsPerReq);
  // Noise: how far apart the no-probe rounds are (range, relative to their median).
  const rpsNoise = (Math.max(...base.map((r) => r.rps)) - Math.min(...base.map((r) => r.rps))) / baseRps;
  const p99NoiseMs = Math.max(...base.map((r) => r.p99Ms)) - Math.min(...base.map((r) => r.p99Ms));
  numbers.noise_rps = rpsNoise;
  numbers.noise_p99_ms = p99NoiseMs;
  const rows: string[] = [];
  for (const v of VARIANTS) {
    const rps = stat(v, (r) => r.rps);
    const p99 = stat(v, (r) => r.p99Ms);
    const cpu = stat(v, (r) => r.cpuUsPerReq);
    const appCpu = stat(v, (r) => r.appCpu);
    const agent = rounds.get(v)!.every((r) => r.agentCpu !== undefined) ? stat(v, (r) => r.agentCpu!) : undefined;
    const errors = rounds.get(v)!.reduce((a, r) => a + r.errors, 0);
    numbers[`rps_${v}`] = rps;
    numbers[`ratio_${v}`] = rps / baseRps;
    numbers[`p99_ms_${v}`] = p99;
    numbers[`cpu_us_per_req_${v}`] = cpu;
    rows.push(
      `| ${LABEL[v]} | ${rps.toFixed(0)} | ${(rps / baseRps).toFixed(3)} (${pct(rps / baseRps - 1)}) | ${rounds
        .get(v)!
        .map((r) => (r.rps / 1000).toFixed(1))
        .join(' ')} | ${p99.toFixed(0)} ms | ${cpu.toFixed(1)} µs (${pct(cpu / baseCpu - 1)}) | ${(appCpu * 100).toFixed(0)} % | ${agent !== undefined ? `${(agent * 100).toFixed(1)} %` : '—'} | ${errors} |`,
    );
  }
  const attachMedian = median(attaches);
  numbers.attach_s_median = attachMedian;
  numbers.attach_s_max = Math.max(...attaches);

  const verdicts: string[] = [];
  const rpsOf = (v: Variant): number => numbers[`rps_${v}`]!;
  const p99Of = (v: Variant): number => numbers[`p99_ms_${v}`]!;
  for (const v of ['rtprof-attached', 'rtprof-preloaded'] as const) {
    const loss = 1 - rpsOf(v) / baseRps;
    const throughputOk = loss <= 0.01;
    const p99Ok = p99Of(v) - baseP99 <= p99NoiseMs;
    // Worse than a peer: lower throughput by more than the noise, or a higher p99 by more than the noise.
    const worseThan = (['prom-client', 'otel-runtime-node'] as const).filter(
      (peer) => (rpsOf(peer) - rpsOf(v)) / baseRps > rpsNoise || p99Of(v) - p99Of(peer) > p99NoiseMs,
    );
    verdicts.push(
      `- ${LABEL[v]}: throughput ${pct(-loss)} vs no probe → ≤ 1 % loss **${throughputOk ? 'met' : 'NOT met'}**` +
        `${throughputOk || loss > rpsNoise ? '' : ' (but within the noise of the no-probe rounds)'}; ` +
        `p99 ${p99Of(v).toFixed(0)} ms vs ${baseP99.toFixed(0)} ms (noise ${p99NoiseMs.toFixed(0)} ms) → **${p99Ok ? 'met' : 'NOT met'}**; ` +
        `never worse than a peer → **${worseThan.length === 0 ? 'met' : `NOT met (worse than ${worseThan.map((p) => LABEL[p]).join(', ')})`}**.`,
    );
  }
  verdicts.push(
    `- Attach time (agent started with \`--pid\` → first snapshot in /api/targets, polled every 10 ms, ${attaches.length} fresh idle targets): median ${attachMedian.toFixed(2)} s, max ${Math.max(...attaches).toFixed(2)} s (${attaches.map((a) => a.toFixed(2)).join(', ')}) → ≤ 1 s **${attachMedian <= 1 ? 'met' : 'NOT met'}**${attachMedian <= 1 && Math.max(...attaches) > 1 ? ' at the median (not every attach)' : ''}.`,
  );

  const markdown = [
    `Fastify 5 hello-world (\`bench/fixtures/fastify-hello.js\`) under autocannon, ${opts.connections} connections, as fast as it goes. ` +
      `${opts.rounds} rounds × ${VARIANTS.length} variants, variant order rotated each round; every (round, variant) is a fresh service process, ` +
      `${opts.warmupS} s of load discarded, then ${opts.durationS} s measured; a whole warm-up round before is discarded too. ` +
      `The service is pinned to CPU ${APP_CPU} alone (\`taskset\`); autocannon (its own process), the rtprof agent, the scraper and the bench to CPU ${LOAD_CPU}. ` +
      `Every variant's metrics are scraped once a second during the load, as Prometheus would: the agent's /metrics for rtprof, the service's /metrics for ` +
      `prom-client and for OTel (its \`PrometheusExporter\` as the MeterProvider's reader, served by the app), so collection is paid for. ` +
      `rtprof at its defaults (1 s interval, 5 ms loop-delay resolution, HTTP diagnostics_channel hooks on); prom-client and OTel at theirs (10 ms loop-delay resolution).`,
    '',
    '| variant | req/s (median) | vs no probe | rounds (k req/s) | p99 latency (median) | service CPU per request | service CPU | agent CPU | errors |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Noise (range of the ${base.length} no-probe rounds): ${(rpsNoise * 100).toFixed(1)} % of req/s, ${p99NoiseMs.toFixed(0)} ms of p99 ` +
      `(autocannon reports latency in whole milliseconds). "Service CPU per request" is the service's own CPU time (/proc) over the requests served: ` +
      `it shows the probe's cost even when the service is not saturated. The agent runs outside the service, on the other CPU; its CPU is listed apart.`,
    '',
    'Goals (≤ 1 % throughput loss, no p99 increase beyond the noise, never worse than either peer; attach ≤ 1 s):',
    '',
    ...verdicts,
  ].join('\n');
  return { name: 'nodeOverhead', title: 'Node probe overhead', markdown, numbers };
}
