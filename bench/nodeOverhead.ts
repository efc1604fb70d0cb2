// Node probe overhead: the Fastify app of bench/fixtures/fastify-hello.js (a hello-world, and a
// route with some work in it) under autocannon, measured in pairs: each variant runs beside a fresh
// no-probe copy of the same service, both on CPU 0 and both loaded at the same time, so whatever
// else the machine does in that slice hits the two alike; each variant is then the ratio to its
// own pair. Variants: the rtprof agent without a probe (`--no-attach`: its /proc sampling alone),
// rtprof attached (`rtprof agent --pid`), rtprof preloaded (`rtprof run`), attached with `--http`,
// prom-client collectDefaultMetrics, OpenTelemetry instrumentation-runtime-node, and an A/A control
// (no probe against no probe: the noise). Every pair is two fresh processes, so a process's own
// luck (JIT, heap layout) is noise that averages out over rounds, not a bias. Service CPU per
// request comes from /proc/PID/task/*/schedstat (nanoseconds; /proc/PID/stat's 10 ms ticks alone
// are ~1 % of a 2 s slice). Metrics are scraped once a second during the load, as Prometheus would.
// autocannon, the agents and the scraper run on CPU 1. Also the attach time.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
import { join } from 'node:path';
import { autogroupOff, autogroupRestore, cpuNs, drain, median, quantile, waitFor } from './pairs';
import type { BenchResult } from './types';

const ROOT = join(__dirname, '..', '..');
const FIXTURE = join(ROOT, 'bench', 'fixtures', 'fastify-hello.js');
const GC_OBSERVER = join(ROOT, 'bench', 'fixtures', 'gc-observer.js');
const RTPROF = join(ROOT, 'bin', 'rtprof.js');
const APP_CPU = '0';
const LOAD_CPU = '1';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const START_TIMEOUT_MS = 15_000;

const VARIANTS = [
  'control',
  'rtprof-proc',
  'rtprof-attached',
  'rtprof-preloaded',
  'rtprof-http',
  'rtprof-nogc',
  'gc-observer',
  'rtprof-attached-fixed',
  'prom-client',
  'otel-runtime-node',
] as const;
type Variant = (typeof VARIANTS)[number];
const LABEL: Record<Variant, string> = {
  control: 'no probe (A/A control)',
  'rtprof-proc': 'rtprof agent, no probe (`--no-attach`: /proc only)',
  'rtprof-attached': 'rtprof, attached (`agent --pid`)',
  'rtprof-preloaded': 'rtprof, preloaded (`rtprof run`)',
  'rtprof-http': 'rtprof, attached, `--http` (HTTP hooks on)',
  'rtprof-nogc': 'rtprof, attached, `--no-gc-pauses` (no GC observer)',
  'gc-observer': 'no rtprof: a bare `PerformanceObserver` for `gc` (what seeing every GC pause costs)',
  'rtprof-attached-fixed': "rtprof, attached, both services with the young generation fixed at 16 MB (the probe's own work)",
  'prom-client': 'prom-client `collectDefaultMetrics`',
  'otel-runtime-node': 'OTel `instrumentation-runtime-node`',
};
const ROUTES = [
  { path: '/', label: 'hello-world (`GET /`)' },
  { path: '/orders', label: 'a route with work (`GET /orders`: 60 orders built, filtered, sorted, serialized)' },
] as const;

export interface NodeOverheadOptions {
  rounds: number;
  warmupS: number;
  durationS: number;
  /** per service: the two services of a pair are loaded at once */
  connections: number;
  attaches: number;
  /**
   * Young-generation semi-space size (MB) given to every service of the bench, the no-probe twins
   * as well; undefined (the default) leaves V8 to size it, as in a user's process. With V8's
   * sizing, a process with a GC callback (any GC observer: rtprof's, prom-client's, OTel's, or
   * v8.GCProfiler) grows its young generation sooner and costs more CPU per request on this
   * hello-world; with the size fixed in both, the same observer is within the noise. The
   * 'rtprof-attached-fixed' variant always fixes it, to show the probe's own work.
   */
  youngGenMb: number | undefined;
}

/** The young-generation size of the 'rtprof-attached-fixed' pairs: V8's maximum for this heap. */
const FIXED_YOUNG_GEN_MB = 16;

function youngGenFromEnv(): number | undefined {
  const v = process.env.BENCH_YOUNG_GEN_MB;
  return v && v !== 'default' ? Number(v) : undefined;
}

const DEFAULTS: NodeOverheadOptions = {
  rounds: 10,
  warmupS: 1.5,
  durationS: 3,
  connections: 25,
  attaches: 5,
  youngGenMb: youngGenFromEnv(),
};

/** The node flags every service of the bench gets (twins and variants alike). */
function nodeFlags(variant: Variant, opts: NodeOverheadOptions): string[] {
  const mb = variant === 'rtprof-attached-fixed' ? FIXED_YOUNG_GEN_MB : opts.youngGenMb;
  return mb === undefined ? [] : [`--min-semi-space-size=${mb}`, `--max-semi-space-size=${mb}`];
}

interface Running {
  /** the service's pid */
  pid: number;
  /** http://127.0.0.1:PORT, no trailing slash */
  origin: string;
  /** what is scraped every second during the load, if anything */
  metricsUrl: string | undefined;
  /** the agent's pid, for the rtprof variants */
  agentPid: number | undefined;
  /** every process group we started */
  groups: ChildProcess[];
}

interface Side {
  rps: number;
  p99Ms: number;
  /** the service's CPU time per request, µs */
  cpuUsPerReq: number;
  /** the service's CPU, fraction of one core */
  appCpu: number;
  errors: number;
}

/** One route of one pair: the variant's service and its no-probe twin, measured over the same seconds. */
interface Slice {
  probe: Side;
  base: Side;
  /** the agent's CPU, fraction of one core */
  agentCpu: number | undefined;
  scrapes: number;
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

function startFixture(variant: string, flags: string[], nodeOptions = ''): ChildProcess {
  return spawn('taskset', ['-c', APP_CPU, process.execPath, ...flags, FIXTURE], {
    env: { ...process.env, BENCH_VARIANT: variant, NODE_OPTIONS: nodeOptions },
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

/** `rtprof agent --pid` on LOAD_CPU; its process group joins `groups` at once, so a failed start is cleaned up too. */
async function startAgent(pid: number, groups: ChildProcess[], flags: string[] = []): Promise<{ child: ChildProcess; url: string }> {
  // Through the shebang, as users run it (it carries the agent's V8 flags).
  const child = spawn('taskset', ['-c', LOAD_CPU, RTPROF, 'agent', '--pid', String(pid), '--port', '0', ...flags], {
    stdio: ['ignore', 'ignore', 'pipe'],
    detached: true,
  });
  groups.push(child);
  const m = await waitFor(child, 'stderr', /serving (http:\/\/\S+)\/metrics/, 'rtprof agent', START_TIMEOUT_MS);
  drain(child);
  return { child, url: m[1]! };
}

async function start(variant: Variant | 'none', flags: string[]): Promise<Running> {
  const groups: ChildProcess[] = [];
  try {
    if (variant === 'rtprof-preloaded') {
      const child = spawn(
        'taskset',
        // Not `-- taskset … node`: the agent may read the child's identity before taskset execs node
        // and then refuse the probe's hello; pair() moves the service to its CPU once it is up.
        ['-c', LOAD_CPU, RTPROF, 'run', '--port', '0', '--', process.execPath, ...flags, FIXTURE],
        { env: { ...process.env, BENCH_VARIANT: 'none' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
      );
      groups.push(child);
      const [port, agent] = await Promise.all([
        waitFor(child, 'stdout', /"port":(\d+)/, 'rtprof run', START_TIMEOUT_MS),
        waitFor(child, 'stderr', /(http:\/\/127\.0\.0\.1:\d+)\/metrics/, 'rtprof run', START_TIMEOUT_MS),
      ]);
      drain(child);
      const agentUrl = agent[1]!;
      const pid = await waitForSnapshot(agentUrl, undefined, 50);
      return { pid, origin: `http://127.0.0.1:${port[1]}`, metricsUrl: `${agentUrl}/metrics`, agentPid: child.pid!, groups };
    }
    const fixture = startFixture(
      variant === 'prom-client' ? 'prom' : variant === 'otel-runtime-node' ? 'otel' : 'none',
      flags,
      variant === 'gc-observer' ? `--require ${GC_OBSERVER}` : '',
    );
    groups.push(fixture);
    const port = (await waitFor(fixture, 'stdout', /"port":(\d+)/, 'fixture', START_TIMEOUT_MS))[1]!;
    drain(fixture);
    const origin = `http://127.0.0.1:${port}`;
    if (variant === 'rtprof-proc') {
      const agent = await startAgent(fixture.pid!, groups, ['--no-attach']);
      return { pid: fixture.pid!, origin, metricsUrl: `${agent.url}/metrics`, agentPid: agent.child.pid!, groups };
    }
    if (variant === 'rtprof-attached' || variant === 'rtprof-http' || variant === 'rtprof-nogc' || variant === 'rtprof-attached-fixed') {
      const agent = await startAgent(
        fixture.pid!,
        groups,
        variant === 'rtprof-http' ? ['--http'] : variant === 'rtprof-nogc' ? ['--no-gc-pauses'] : [],
      );
      await waitForSnapshot(agent.url, fixture.pid!, 50);
      return { pid: fixture.pid!, origin, metricsUrl: `${agent.url}/metrics`, agentPid: agent.child.pid!, groups };
    }
    return {
      pid: fixture.pid!,
      origin,
      metricsUrl: variant === 'prom-client' || variant === 'otel-runtime-node' ? `${origin}/metrics` : undefined,
      agentPid: undefined,
      groups,
    };
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

/** autocannon as a library, in this process (pinned to the load CPU). */
async function load(url: string, durationS: number, connections: number): Promise<LoadResult> {
  const r = await autocannon({ url, connections, duration: durationS });
  return {
    rps: r.requests.total / r.duration,
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    total: r.requests.total,
    errors: r.errors + r.non2xx,
  };
}

/** GET metricsUrl every second, as Prometheus would; resolves the number of good scrapes on stop. */
function scraper(metricsUrl: string | undefined): () => Promise<number> {
  if (!metricsUrl) return () => Promise.resolve(0);
  let ok = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const scrape = async (): Promise<void> => {
    try {
      const res = await fetch(metricsUrl);
      const text = await res.text();
      if (res.ok && text.length > 0) ok++;
    } catch {
      // counted as missing
    }
  };
  const timer = setInterval(() => (inFlight = scrape()), 1000);
  return async () => {
    clearInterval(timer);
    await inFlight;
    return ok;
  };
}

function side(res: LoadResult, ns: number, wallS: number): Side {
  return {
    rps: res.rps,
    p99Ms: res.p99Ms,
    cpuUsPerReq: ns / 1e3 / Math.max(res.total, 1),
    appCpu: ns / 1e9 / wallS,
    errors: res.errors,
  };
}

/** A fresh pair, the variant's service and a no-probe twin, both on APP_CPU; every route measured with both loaded at once. */
async function pair(variant: Variant, opts: NodeOverheadOptions): Promise<Slice[]> {
  const started: Running[] = [];
  try {
    const base = await start('none', nodeFlags(variant, opts));
    started.push(base);
    const probe = await start(variant, nodeFlags(variant, opts));
    started.push(probe);
    for (const r of started) execFileSync('taskset', ['-a', '-pc', APP_CPU, String(r.pid)], { stdio: 'ignore' });
    const slices: Slice[] = [];
    for (const route of ROUTES) {
      const stop = scraper(probe.metricsUrl);
      await Promise.all([
        load(base.origin + route.path, opts.warmupS, opts.connections),
        load(probe.origin + route.path, opts.warmupS, opts.connections),
      ]);
      const b0 = cpuNs(base.pid);
      const p0 = cpuNs(probe.pid);
      const a0 = probe.agentPid !== undefined ? cpuNs(probe.agentPid) : 0;
      const w0 = performance.now();
      const [rb, rp] = await Promise.all([
        load(base.origin + route.path, opts.durationS, opts.connections),
        load(probe.origin + route.path, opts.durationS, opts.connections),
      ]);
      const wallS = (performance.now() - w0) / 1000;
      const b1 = cpuNs(base.pid);
      const p1 = cpuNs(probe.pid);
      const agentCpu = probe.agentPid !== undefined ? (cpuNs(probe.agentPid) - a0) / 1e9 / wallS : undefined;
      const scrapes = await stop();
      if (probe.metricsUrl && scrapes < opts.warmupS + opts.durationS - 2)
        throw new Error(`${variant}: only ${scrapes} good scrapes of ${probe.metricsUrl}`);
      slices.push({ probe: side(rp, p1 - p0, wallS), base: side(rb, b1 - b0, wallS), agentCpu, scrapes });
    }
    return slices;
  } finally {
    for (const r of started) killGroups(r.groups);
    await sleep(100);
  }
}

/** `rtprof agent --pid` started → first snapshot of that pid in /api/targets (polled every 10 ms). */
async function attachTime(): Promise<number> {
  const fixture = startFixture('none', []);
  const groups = [fixture];
  try {
    await waitFor(fixture, 'stdout', /"port":(\d+)/, 'fixture', START_TIMEOUT_MS);
    drain(fixture);
    await sleep(500);
    const t0 = performance.now();
    const { url } = await startAgent(fixture.pid!, groups);
    await waitForSnapshot(url, fixture.pid!, 10);
    return (performance.now() - t0) / 1000;
  } finally {
    killGroups(groups);
    await sleep(200);
  }
}

/** A higher priority (nice −10, as root; inherited by everything started here) keeps other work on the machine from taking the service's CPU. */
function raisePriority(): boolean {
  try {
    execFileSync('renice', ['-n', '-10', '-p', String(process.pid)], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
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
  const niced = raisePriority();
  const autogroup = autogroupOff();
  // slices[route][variant]: one per round
  const slices: Slice[][][] = ROUTES.map(() => VARIANTS.map(() => []));
  // BENCH_VARIANTS=a,b runs only those (a quick look; the report then lacks the others).
  const only = process.env.BENCH_VARIANTS?.split(',');
  const attaches: number[] = [];
  try {
    for (let round = 0; round < opts.rounds; round++) {
      const order = VARIANTS.map((_, i) => (i + round) % VARIANTS.length);
      for (const vi of order) {
        const v = VARIANTS[vi]!;
        if (only && !only.includes(v)) continue;
        const got = await pair(v, opts);
        got.forEach((slice, ri) => {
          slices[ri]![vi]!.push(slice);
          process.stderr.write(
            `  round ${round} ${v} ${ROUTES[ri]!.path}: ${slice.probe.rps.toFixed(0)} vs ${slice.base.rps.toFixed(0)} req/s, ` +
              `${slice.probe.cpuUsPerReq.toFixed(1)} vs ${slice.base.cpuUsPerReq.toFixed(1)} µs CPU/req, p99 ${slice.probe.p99Ms} vs ${slice.base.p99Ms} ms\n`,
          );
        });
      }
    }
    for (let i = 0; i < opts.attaches; i++) {
      attaches.push(await attachTime());
      process.stderr.write(`  attach ${i + 1}: ${attaches[i]!.toFixed(3)} s\n`);
    }
  } finally {
    if (restore) pinSelf(restore);
    if (niced) execFileSync('renice', ['-n', '0', '-p', String(process.pid)], { stdio: 'ignore' });
    autogroupRestore(autogroup);
  }
  if (autogroup === 'on')
    process.stderr.write('  warning: could not turn the kernel autogroup off (not root?): the pairs with `rtprof run` are skewed\n');
  return report(slices, attaches, opts, niced, autogroup !== 'on');
}

const PROBES = ['rtprof-attached', 'rtprof-preloaded', 'rtprof-http', 'rtprof-nogc', 'rtprof-attached-fixed'] as const;
const PEERS = ['prom-client', 'otel-runtime-node'] as const;

const signed = (x: number, digits = 1, unit = ''): string => `${x >= 0 ? '+' : '−'}${Math.abs(x).toFixed(digits)}${unit}`;

function report(slices: Slice[][][], attaches: number[], opts: NodeOverheadOptions, niced: boolean, fairShare: boolean): BenchResult {
  const numbers: Record<string, number> = {};
  const sections: string[] = [];
  const verdicts: string[] = [];
  ROUTES.forEach((route, ri) => {
    const key = ri === 0 ? '' : `${route.path.replace(/\W/g, '')}_`;
    const of = (v: Variant): Slice[] => slices[ri]![VARIANTS.indexOf(v)]!;
    // Each slice against its own no-probe twin, measured over the same seconds.
    const rpsRatio = (v: Variant): number[] => of(v).map((s) => s.probe.rps / s.base.rps);
    const cpuRatio = (v: Variant): number[] => of(v).map((s) => s.probe.cpuUsPerReq / s.base.cpuUsPerReq);
    const p99Diff = (v: Variant): number[] => of(v).map((s) => s.probe.p99Ms - s.base.p99Ms);
    const spread = (xs: number[], center: number): number =>
      Math.max(Math.abs(quantile(xs, 0.25) - center), Math.abs(quantile(xs, 0.75) - center));
    const rpsNoise = spread(rpsRatio('control'), 1);
    const cpuNoise = spread(cpuRatio('control'), 1);
    const p99Noise = Math.max(spread(p99Diff('control'), 0), 1);
    numbers[`${key}noise_rps`] = rpsNoise;
    numbers[`${key}noise_cpu`] = cpuNoise;
    numbers[`${key}noise_p99_ms`] = p99Noise;
    const iqr = (xs: number[]): string => `${signed((quantile(xs, 0.25) - 1) * 100)} … ${signed((quantile(xs, 0.75) - 1) * 100)} %`;
    const rows: string[] = [];
    for (const v of VARIANTS) {
      const r = rpsRatio(v);
      const c = cpuRatio(v);
      const agent = of(v).every((s) => s.agentCpu !== undefined) ? median(of(v).map((s) => s.agentCpu!)) : undefined;
      numbers[`${key}rps_${v}`] = median(of(v).map((s) => s.probe.rps));
      numbers[`${key}ratio_${v}`] = median(r);
      numbers[`${key}cpu_us_per_req_${v}`] = median(of(v).map((s) => s.probe.cpuUsPerReq));
      numbers[`${key}cpu_ratio_${v}`] = median(c);
      numbers[`${key}p99_ms_${v}`] = median(of(v).map((s) => s.probe.p99Ms));
      numbers[`${key}p99_increase_ms_${v}`] = median(p99Diff(v));
      const errors = of(v).reduce((a, s) => a + s.probe.errors + s.base.errors, 0);
      rows.push(
        `| ${LABEL[v]} | ${numbers[`${key}rps_${v}`]!.toFixed(0)} | ${signed((median(r) - 1) * 100)} % (${iqr(r)}) | ` +
          `${numbers[`${key}cpu_us_per_req_${v}`]!.toFixed(1)} µs | ${signed((median(c) - 1) * 100)} % (${iqr(c)}) | ` +
          `${numbers[`${key}p99_ms_${v}`]!.toFixed(0)} ms | ${signed(median(p99Diff(v)), 1, ' ms')} | ` +
          `${agent !== undefined ? `${(agent * 100).toFixed(1)} %` : '—'} | ${errors} |`,
      );
    }
    const baseCpu = median(of('control').map((s) => s.base.appCpu + s.probe.appCpu));
    sections.push(
      `### ${route.label}`,
      '',
      '| variant | req/s (median) | req/s vs its no-probe twin: median (IQR) | service CPU per request | vs twin: median (IQR) | p99 (median) | p99 vs twin (median) | agent CPU | errors |',
      '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
      ...rows,
      '',
      `Noise (the A/A control, the larger distance of its quartiles from equality): ±${(rpsNoise * 100).toFixed(1)} % of req/s, ` +
        `±${(cpuNoise * 100).toFixed(1)} % of CPU per request, ±${p99Noise.toFixed(1)} ms of p99 (autocannon reports whole milliseconds; at least 1 ms). ` +
        `The two services of a control pair used ${(baseCpu * 100).toFixed(0)} % of CPU ${APP_CPU} together (saturated: 100 %).`,
      '',
    );
    for (const v of PROBES) {
      const loss = 1 - numbers[`${key}ratio_${v}`]!;
      const cpuUp = numbers[`${key}cpu_ratio_${v}`]! - 1;
      const p99Up = numbers[`${key}p99_increase_ms_${v}`]!;
      // Worse than a peer: its median ratio lower by more than the noise, or its p99 increase higher by more than the noise.
      const worseThan = PEERS.filter(
        (peer) =>
          numbers[`${key}ratio_${v}`]! < numbers[`${key}ratio_${peer}`]! - rpsNoise ||
          p99Up > numbers[`${key}p99_increase_ms_${peer}`]! + p99Noise,
      );
      const betterThan = PEERS.filter((peer) => numbers[`${key}ratio_${v}`]! > numbers[`${key}ratio_${peer}`]! + rpsNoise);
      verdicts.push(
        `- ${route.path}, ${LABEL[v]}: throughput ${signed(-loss * 100)} % (CPU per request ${signed(cpuUp * 100)} %) vs no probe → ≤ 1 % loss **${loss <= 0.01 ? 'met' : 'NOT met'}**` +
          `${loss > 0.01 && loss <= rpsNoise ? ' (within the noise)' : ''}; ` +
          `p99 ${signed(p99Up, 1, ' ms')} (noise ±${p99Noise.toFixed(1)} ms) → no increase beyond noise **${p99Up <= p99Noise ? 'met' : 'NOT met'}**; ` +
          `never worse than a peer → **${worseThan.length === 0 ? 'met' : `NOT met (worse than ${worseThan.map((p) => LABEL[p]).join(', ')})`}**` +
          `${betterThan.length > 0 ? `; better than ${betterThan.map((p) => LABEL[p]).join(', ')} beyond the noise` : ''}.`,
      );
    }
  });
  const attachMedian = median(attaches);
  numbers.attach_s_median = attachMedian;
  numbers.attach_s_max = Math.max(...attaches);
  verdicts.push(
    `- Attach time (\`rtprof agent --pid\` started → first snapshot of that pid in /api/targets, polled every 10 ms; ${attaches.length} fresh idle services): ` +
      `median ${attachMedian.toFixed(2)} s, max ${Math.max(...attaches).toFixed(2)} s (${attaches.map((a) => a.toFixed(2)).join(', ')}) → ≤ 1 s **${attachMedian <= 1 ? 'met' : 'NOT met'}**` +
      `${attachMedian <= 1 && Math.max(...attaches) > 1 ? ' at the median (not every attach)' : ''}.`,
  );

  const markdown = [
    `Fastify 5 (\`bench/fixtures/fastify-hello.js\`) under autocannon, measured in pairs: every variant runs beside a fresh no-probe twin of the same service, ` +
      `both pinned to CPU ${APP_CPU} and loaded at the same time (${opts.connections} connections each, as fast as they go), so the two share that CPU and ` +
      `whatever else the machine does in those seconds; each variant is reported as its ratio to its twin. Two fresh processes per pair and per round ` +
      `(${opts.rounds} rounds, variant order rotated): a process's own luck (JIT, heap layout) is noise, not bias. Per route, ${opts.warmupS} s of load discarded, then ${opts.durationS} s measured. ` +
      (opts.youngGenMb === undefined
        ? `V8 sizes each service's young generation itself, as in a user's process: it doubles it as bytes survive scavenges, up to 16 MB per semi-space here, ` +
          `and shrinks it again later. A process with a GC callback (every way to see each GC pause uses one: a \`PerformanceObserver\` for \`gc\`, \`v8.GCProfiler\`; ` +
          `rtprof, prom-client and OTel all register the observer) grows it sooner (side by side under this load, a bare observer's service reached 16 MB ~40 s before its twin) ` +
          `and costs more CPU per request: the bare-observer row. The row "young generation fixed" fixes it at ${FIXED_YOUNG_GEN_MB} MB in both services of the pair ` +
          `(\`--min-semi-space-size\`/\`--max-semi-space-size\`), which takes V8's sizing out and leaves the probe's own work. `
        : `**Every service, twins included, runs with its young generation fixed at ${opts.youngGenMb} MB per semi-space** (\`BENCH_YOUNG_GEN_MB\`), not V8's own sizing. `) +
      `Service CPU per request from /proc/PID/task/*/schedstat (ns). autocannon (in the bench process), the rtprof agent and the scraper run on CPU ${LOAD_CPU}` +
      `${niced ? ', all at nice −10 so other work on the machine yields to them' : ''}. ` +
      `${fairShare ? "The kernel autogroup is off during the run (restored after), so CPU is shared between processes, not sessions: `rtprof run`'s service shares a session with its agent, and with autogroup on it took ~75 % of the CPU from its twin. " : '**The kernel autogroup could not be turned off (not root): pairs whose services sit in different sessions are not weighed alike.** '}` +
      `The variant's metrics are scraped once a second during the load, as Prometheus would: the agent's /metrics for rtprof, the service's /metrics for ` +
      `prom-client and OTel (its \`PrometheusExporter\` as the MeterProvider's reader, served by the app), so collection is paid for. ` +
      `rtprof at its defaults (1 s interval, 5 ms loop-delay resolution, no HTTP hooks, GC pauses watched), with \`--http\` (the HTTP diagnostics_channel hooks) and with \`--no-gc-pauses\` (no GC observer, no GC series); prom-client and OTel at theirs (10 ms loop-delay resolution). ` +
      `With the two services of a pair sharing one saturated CPU, req/s follows CPU per request: a probe that costs x % more CPU per request serves ≈ x % fewer requests.`,
    '',
    ...sections,
    'Goals (≤ 1 % throughput loss, no p99 increase beyond the noise, never worse than either peer; attach ≤ 1 s). The issue sets them on the hello-world; the route with work is shown beside it:',
    '',
    ...verdicts,
  ].join('\n');
  return { name: 'nodeOverhead', title: 'Node probe overhead', markdown, numbers };
}
