// Node probe overhead: a Fastify hello-world (bench/fixtures/fastify-hello.js) under autocannon,
// side by side in one run — no probe, a second no-probe service as an A/A control (the noise),
// rtprof attached (`rtprof agent --pid`), rtprof preloaded (`rtprof run`), prom-client
// collectDefaultMetrics and OpenTelemetry instrumentation-runtime-node. All services are up at once
// but only the one under load runs (the rest are SIGSTOPped); rounds alternate the variants in
// short slices so drift in the machine hits them alike, and each is compared with no probe in the
// same round. Metrics are scraped once a second during the load, as Prometheus would. The service
// is pinned to CPU 0; autocannon, the agent and the scraper to CPU 1. Also the attach time.
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import autocannon from 'autocannon';
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

const VARIANTS = ['none', 'control', 'rtprof-attached', 'rtprof-preloaded', 'prom-client', 'otel-runtime-node'] as const;
type Variant = (typeof VARIANTS)[number];
const LABEL: Record<Variant, string> = {
  none: 'no probe',
  control: 'no probe (A/A control)',
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

const DEFAULTS: NodeOverheadOptions = { rounds: 10, warmupS: 1, durationS: 3, connections: 50, attaches: 5 };

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
        // Not `-- taskset … node`: the agent may read the child's identity before taskset execs node
        // and then refuse the probe's hello; the service is moved to its CPU once it is up instead.
        ['-c', LOAD_CPU, RTPROF, 'run', '--port', '0', '--', process.execPath, FIXTURE],
        { env: { ...process.env, BENCH_VARIANT: 'none' }, stdio: ['ignore', 'pipe', 'pipe'], detached: true },
      );
      groups.push(child);
      const [port, agent] = await Promise.all([
        waitFor(child, 'stdout', /"port":(\d+)/),
        waitFor(child, 'stderr', /(http:\/\/127\.0\.0\.1:\d+)\/metrics/),
      ]);
      drain(child);
      const agentUrl = agent[1]!;
      const pid = await waitForSnapshot(agentUrl, undefined, 50);
      execFileSync('taskset', ['-a', '-pc', APP_CPU, String(pid)], { stdio: 'ignore' });
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
    return {
      pid: fixture.pid!,
      url,
      metricsUrl: variant === 'none' || variant === 'control' ? undefined : `${url}metrics`,
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

/** Freezes (SIGSTOP) or thaws (SIGCONT) every process of a variant: only the one under load runs. */
function signalAll(r: Running, signal: 'SIGSTOP' | 'SIGCONT'): void {
  for (const c of r.groups) process.kill(-c.pid!, signal);
}

async function visit(variant: Variant, r: Running, opts: NodeOverheadOptions): Promise<Round> {
  signalAll(r, 'SIGCONT');
  try {
    const stop = scraper(r.metricsUrl);
    await load(r.url, opts.warmupS, opts.connections);
    const app0 = cpuTicks(r.pid);
    const agent0 = r.agentPid !== undefined ? cpuTicks(r.agentPid) : 0;
    const w0 = performance.now();
    const res = await load(r.url, opts.durationS, opts.connections);
    const wallS = (performance.now() - w0) / 1000;
    const appS = (cpuTicks(r.pid) - app0) / CLK_TCK;
    const agentS = r.agentPid !== undefined ? (cpuTicks(r.agentPid) - agent0) / CLK_TCK : undefined;
    const scrapes = await stop();
    if (r.metricsUrl && scrapes < opts.warmupS + opts.durationS - 2)
      throw new Error(`${variant}: only ${scrapes} good scrapes of ${r.metricsUrl}`);
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
    signalAll(r, 'SIGSTOP');
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

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (i - lo);
}

export async function nodeOverhead(options: Partial<NodeOverheadOptions> = {}): Promise<BenchResult> {
  const opts = { ...DEFAULTS, ...options };
  const restore = pinSelf(LOAD_CPU);
  const niced = raisePriority();
  const running = new Map<Variant, Running>();
  const rounds = new Map<Variant, Round[]>(VARIANTS.map((v) => [v, []]));
  const attaches: number[] = [];
  try {
    for (const v of VARIANTS) {
      const r = await start(v);
      running.set(v, r);
      signalAll(r, 'SIGSTOP');
    }
    // Round 0 warms every service up (JIT, connections, first scrapes) and is discarded.
    for (let round = 0; round <= opts.rounds; round++) {
      const order = VARIANTS.map((_, i) => VARIANTS[(i + round) % VARIANTS.length]!);
      for (const v of order) {
        const m = await visit(v, running.get(v)!, opts);
        if (round > 0) rounds.get(v)!.push(m);
        process.stderr.write(
          `  round ${round} ${v}: ${m.rps.toFixed(0)} req/s, p99 ${m.p99Ms} ms, ${m.cpuUsPerReq.toFixed(1)} µs CPU/req, service CPU ${(m.appCpu * 100).toFixed(0)} %\n`,
        );
      }
    }
  } finally {
    for (const r of running.values()) killGroups(r.groups);
  }
  try {
    for (let i = 0; i < opts.attaches; i++) {
      attaches.push(await attachTime());
      process.stderr.write(`  attach ${i + 1}: ${attaches[i]!.toFixed(3)} s\n`);
    }
  } finally {
    if (restore) pinSelf(restore);
    if (niced) execFileSync('renice', ['-n', '0', '-p', String(process.pid)], { stdio: 'ignore' });
  }
  return report(rounds, attaches, opts, niced);
}

const PROBES = ['rtprof-attached', 'rtprof-preloaded'] as const;
const PEERS = ['prom-client', 'otel-runtime-node'] as const;

function report(rounds: Map<Variant, Round[]>, attaches: number[], opts: NodeOverheadOptions, niced: boolean): BenchResult {
  const numbers: Record<string, number> = {};
  const of = (v: Variant): Round[] => rounds.get(v)!;
  // Paired, round by round: each variant against the service measured in the same round.
  const ratios = (v: Variant, w: Variant, f: (r: Round) => number): number[] => of(v).map((r, i) => f(r) / f(of(w)[i]!));
  const diffs = (v: Variant, w: Variant, f: (r: Round) => number): number[] => of(v).map((r, i) => f(r) - f(of(w)[i]!));
  const rps = (r: Round): number => r.rps;
  const p99 = (r: Round): number => r.p99Ms;
  const cpu = (r: Round): number => r.cpuUsPerReq;
  // Noise: the A/A control, a second identical no-probe service, against the first.
  const control = ratios('control', 'none', rps);
  const rpsNoise = Math.max(Math.abs(quantile(control, 0.25) - 1), Math.abs(quantile(control, 0.75) - 1));
  const controlP99 = diffs('control', 'none', p99);
  const p99Noise = Math.max(Math.abs(quantile(controlP99, 0.25)), Math.abs(quantile(controlP99, 0.75)));
  const controlCpu = ratios('control', 'none', cpu);
  const cpuNoise = Math.max(Math.abs(quantile(controlCpu, 0.25) - 1), Math.abs(quantile(controlCpu, 0.75) - 1));
  numbers.noise_rps = rpsNoise;
  numbers.noise_p99_ms = p99Noise;
  numbers.noise_cpu = cpuNoise;
  const rows: string[] = [];
  for (const v of VARIANTS) {
    const ratio = ratios(v, 'none', rps);
    const cpuRatio = ratios(v, 'none', cpu);
    const agent = of(v).every((r) => r.agentCpu !== undefined) ? median(of(v).map((r) => r.agentCpu!)) : undefined;
    numbers[`rps_${v}`] = median(of(v).map(rps));
    numbers[`ratio_${v}`] = median(ratio);
    numbers[`p99_ms_${v}`] = median(of(v).map(p99));
    numbers[`p99_increase_ms_${v}`] = median(diffs(v, 'none', p99));
    numbers[`cpu_us_per_req_${v}`] = median(of(v).map(cpu));
    numbers[`cpu_ratio_${v}`] = median(cpuRatio);
    const errors = of(v).reduce((a, r) => a + r.errors, 0);
    const iqr = (xs: number[]): string => `${pct(quantile(xs, 0.25) - 1)} … ${pct(quantile(xs, 0.75) - 1)}`;
    rows.push(
      `| ${LABEL[v]} | ${numbers[`rps_${v}`]!.toFixed(0)} | ${v === 'none' ? '—' : `${pct(median(ratio) - 1)} (${iqr(ratio)})`} | ` +
        `${numbers[`p99_ms_${v}`]!.toFixed(0)} ms | ${v === 'none' ? '—' : `${numbers[`p99_increase_ms_${v}`]! >= 0 ? '+' : '−'}${Math.abs(numbers[`p99_increase_ms_${v}`]!).toFixed(1)} ms`} | ` +
        `${numbers[`cpu_us_per_req_${v}`]!.toFixed(1)} µs | ${v === 'none' ? '—' : `${pct(median(cpuRatio) - 1)} (${iqr(cpuRatio)})`} | ` +
        `${(median(of(v).map((r) => r.appCpu)) * 100).toFixed(0)} % | ${agent !== undefined ? `${(agent * 100).toFixed(1)} %` : '—'} | ${errors} |`,
    );
  }
  const attachMedian = median(attaches);
  numbers.attach_s_median = attachMedian;
  numbers.attach_s_max = Math.max(...attaches);

  const verdicts: string[] = [];
  for (const v of PROBES) {
    const loss = 1 - numbers[`ratio_${v}`]!;
    const throughputOk = loss <= 0.01;
    const p99Up = numbers[`p99_increase_ms_${v}`]!;
    const p99Ok = p99Up <= p99Noise;
    // Worse than a peer, paired round by round: lower req/s by more than the noise, or a p99 higher by more than the noise.
    const worseThan = PEERS.filter((peer) => median(ratios(v, peer, rps)) < 1 - rpsNoise || median(diffs(v, peer, p99)) > p99Noise);
    verdicts.push(
      `- ${LABEL[v]}: throughput ${pct(-loss)} vs no probe → ≤ 1 % loss **${throughputOk ? 'met' : 'NOT met'}**` +
        `${!throughputOk && loss <= rpsNoise ? ' (the loss is within the noise)' : ''}${throughputOk && rpsNoise > 0.01 ? ' (at a resolution of the noise, which is above 1 %)' : ''}; ` +
        `p99 ${p99Up >= 0 ? '+' : '−'}${Math.abs(p99Up).toFixed(1)} ms vs no probe (noise ±${p99Noise.toFixed(1)} ms) → no increase beyond noise **${p99Ok ? 'met' : 'NOT met'}**; ` +
        `never worse than a peer → **${worseThan.length === 0 ? 'met' : `NOT met (worse than ${worseThan.map((p) => LABEL[p]).join(', ')})`}**.`,
    );
  }
  verdicts.push(
    `- Attach time (\`rtprof agent --pid\` started → first snapshot of that pid in /api/targets, polled every 10 ms; ${attaches.length} fresh idle services): ` +
      `median ${attachMedian.toFixed(2)} s, max ${Math.max(...attaches).toFixed(2)} s (${attaches.map((a) => a.toFixed(2)).join(', ')}) → ≤ 1 s **${attachMedian <= 1 ? 'met' : 'NOT met'}**` +
      `${attachMedian <= 1 && Math.max(...attaches) > 1 ? ' at the median (not every attach)' : ''}.`,
  );

  const markdown = [
    `Fastify 5 hello-world (\`bench/fixtures/fastify-hello.js\`) under autocannon, ${opts.connections} connections, as fast as it goes. ` +
      `All ${VARIANTS.length} services run at once but only the one under load runs: the others (and their agents) are frozen with SIGSTOP, so nothing idles in the background. ` +
      `${opts.rounds} rounds; in each, every variant gets ${opts.warmupS} s of load (discarded) and ${opts.durationS} s measured, the order rotated each round; a whole warm-up round before is discarded. ` +
      `The service is pinned to CPU ${APP_CPU} alone (\`taskset\`); autocannon (in the bench process), the rtprof agent and the scraper to CPU ${LOAD_CPU}${niced ? ', all at nice −10 so other work on the machine yields to them' : ''}. ` +
      `Every variant's metrics are scraped once a second during the load, as Prometheus would: the agent's /metrics for rtprof, the service's /metrics for ` +
      `prom-client and for OTel (its \`PrometheusExporter\` as the MeterProvider's reader, served by the app), so collection is paid for. ` +
      `rtprof at its defaults (1 s interval, 5 ms loop-delay resolution, HTTP diagnostics_channel hooks); prom-client and OTel at theirs (10 ms loop-delay resolution). ` +
      `"No probe (A/A control)" is a second, identical no-probe service: how far it reads from the first is the noise.`,
    '',
    '| variant | req/s (median) | vs no probe, paired by round: median (IQR) | p99 latency (median) | p99 vs no probe (paired median) | service CPU per request | vs no probe (IQR) | service CPU | agent CPU | errors |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Noise (the A/A control against no probe, the larger distance of its quartiles from equality): ±${(rpsNoise * 100).toFixed(1)} % of req/s, ` +
      `±${p99Noise.toFixed(1)} ms of p99 (autocannon reports latency in whole milliseconds), ±${(cpuNoise * 100).toFixed(1)} % of CPU per request. ` +
      `"Service CPU per request" is the service's own CPU time (/proc) over the requests it served: the probe's cost even where the load generator, not the service, sets the pace. ` +
      `The agent runs outside the service, on the other CPU; its CPU is listed apart.`,
    '',
    'Goals (≤ 1 % throughput loss, no p99 increase beyond the noise, never worse than either peer; attach ≤ 1 s):',
    '',
    ...verdicts,
  ].join('\n');
  return { name: 'nodeOverhead', title: 'Node probe overhead', markdown, numbers };
}
