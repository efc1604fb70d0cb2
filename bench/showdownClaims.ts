// The seed articles' Node-vs-Python claims, each tied to the showdown number that tests it, and the
// one rule that judges them. Pure: tested on given numbers.
import type { RuntimeResult } from './showdownTypes';

/** A difference smaller than this factor is not a clear difference on a shared 2-core box. */
export const MARGIN = 1.15;

/** The seed articles, cited by title and author as they give them: short for tables, full once. */
export const SOURCES = {
  techbench: {
    short: 'Node.js vs Python for Backend 2026',
    cite: '"Node.js vs Python for Backend 2026: Which Scales Better?" (no author named; its figures are credited to "2025 TechBench" testing)',
  },
  jinkteam: { short: 'JinkTeam', cite: 'JinkTeam, "Node.js vs Python Scalability: Choosing the Right Backend Tech" (September 2025)' },
  pubgenius: { short: 'pubGENIUS blog', cite: 'the pubGENIUS blog, on Node.js vs Go vs Python at scale (no title given)' },
  rizawan: {
    short: 'Ahmed Rizawan',
    cite: 'Ahmed Rizawan, "Python vs Node.js Microservices Showdown: Which Runtime Performs Better in 2024?"',
  },
} as const;

/**
 * What a claim says about the Node advantage factor f — how many times better Node is (fewer MB,
 * fewer ms, more req/s): f > 1 favours Node, f < 1 favours Python.
 */
export type ClaimForm =
  | { kind: 'ratio'; lo: number; hi: number }
  | { kind: 'direction'; better: 'node' | 'python' }
  | { kind: 'parity' }
  /** not a Node-vs-Python factor: the measured value must reach `value` */
  | { kind: 'at-least'; value: number; unit: string }
  | { kind: 'not-comparable'; why: string };

export type ClaimVerdict = 'holds' | 'direction only' | 'does not hold' | 'not comparable';

export interface Claim {
  claim: string;
  source: keyof typeof SOURCES;
  form: ClaimForm;
  /** the showdown number that tests it (unused for not-comparable claims) */
  factor: (node: RuntimeResult, python: RuntimeResult) => number;
  /** the raw numbers behind the factor, for the table */
  measured: (node: RuntimeResult, python: RuntimeResult) => string;
}

const x = (f: number): string => `${f >= 10 ? f.toFixed(0) : f.toFixed(2)}×`;
const ms = (v: number): string => `${v < 10 ? v.toFixed(2) : v.toFixed(0)} ms`;
const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
const rps = (v: number): string => `${v.toFixed(0)} req/s`;

export function median(values: readonly number[]): number {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export function judge(form: ClaimForm, f: number): { verdict: ClaimVerdict; why: string } {
  if (form.kind === 'not-comparable') return { verdict: 'not comparable', why: form.why };
  if (!Number.isFinite(f) || f <= 0) return { verdict: 'not comparable', why: 'no usable measurement in this run' };
  const clearlyNode = f >= MARGIN;
  const clearlyPython = f <= 1 / MARGIN;
  const side = clearlyNode ? 'Node ahead' : clearlyPython ? 'Python ahead' : `within ±${Math.round((MARGIN - 1) * 100)} %: no clear winner`;
  switch (form.kind) {
    case 'at-least':
      return f >= form.value
        ? { verdict: 'holds', why: `${f.toFixed(1)} ${form.unit} ≥ ${form.value} ${form.unit}` }
        : { verdict: 'does not hold', why: `${f.toFixed(1)} ${form.unit} < ${form.value} ${form.unit}` };
    case 'parity':
      return clearlyNode || clearlyPython
        ? { verdict: 'does not hold', why: `${x(f)}: ${side}, not similar` }
        : { verdict: 'holds', why: `${x(f)}: ${side}` };
    case 'direction': {
      const asClaimed = form.better === 'node' ? clearlyNode : clearlyPython;
      if (asClaimed) return { verdict: 'holds', why: `${x(f)}: ${side}` };
      return { verdict: 'does not hold', why: `${x(f)}: ${side}${clearlyNode || clearlyPython ? ', the reverse of the claim' : ''}` };
    }
    case 'ratio': {
      const claimed = form.lo === form.hi ? x(form.lo) : `${form.lo.toFixed(2)}–${x(form.hi)}`;
      if (f >= form.lo / MARGIN && f <= form.hi * MARGIN) return { verdict: 'holds', why: `${x(f)} vs claimed ${claimed}` };
      const claimedNode = form.lo >= 1;
      if ((claimedNode && clearlyNode) || (!claimedNode && clearlyPython)) {
        const more = Math.abs(Math.log(f)) > Math.max(Math.abs(Math.log(form.lo)), Math.abs(Math.log(form.hi)));
        return {
          verdict: 'direction only',
          why: `${x(f)} vs claimed ${claimed}: ${side} as claimed, by ${more ? 'more' : 'less'} than claimed`,
        };
      }
      return { verdict: 'does not hold', why: `${x(f)} vs claimed ${claimed}: ${side}` };
    }
  }
}

const sat = (r: RuntimeResult) => r.scenarios['json-sat'];
const peakUnderLoad = (r: RuntimeResult): number =>
  Math.max(r.scenarios['json-sat'].rssPeakBytes, r.scenarios['io-sat'].rssPeakBytes, r.scenarios['cpu-sat'].rssPeakBytes);
const cold = (r: RuntimeResult): number => median(r.coldStartMs);
const NONE = (): number => NaN;
const NOTHING = (): string => '—';

export const CLAIMS: Claim[] = [
  {
    claim: 'Node.js 5.1× the throughput (94,200 vs 18,500 req/s)',
    source: 'techbench',
    form: { kind: 'ratio', lo: 5.1, hi: 5.1 },
    factor: (n, p) => sat(n).rps / sat(p).rps,
    measured: (n, p) => `/json saturated: ${rps(sat(n).rps)} vs ${rps(sat(p).rps)}`,
  },
  {
    claim: 'Baseline memory: Node.js 52 MB vs Python 127 MB (58 % lower)',
    source: 'techbench',
    form: { kind: 'ratio', lo: 127 / 52, hi: 127 / 52 },
    factor: (n, p) => p.baselineRssBytes / n.baselineRssBytes,
    measured: (n, p) => `idle RSS: ${mb(n.baselineRssBytes)} vs ${mb(p.baselineRssBytes)}`,
  },
  {
    claim: 'Cold start 120 ms vs 340 ms (Lambda)',
    source: 'techbench',
    form: { kind: 'ratio', lo: 340 / 120, hi: 340 / 120 },
    factor: (n, p) => cold(p) / cold(n),
    measured: (n, p) => `spawn → first /json: ${ms(cold(n))} vs ${ms(cold(p))}`,
  },
  {
    claim: 'Startup (container) 280 ms vs 1,200 ms',
    source: 'techbench',
    form: { kind: 'ratio', lo: 1200 / 280, hi: 1200 / 280 },
    factor: (n, p) => cold(p) / cold(n),
    measured: (n, p) => `spawn → first /json: ${ms(cold(n))} vs ${ms(cold(p))}`,
  },
  {
    claim: 'P99 2–3× lower at identical request rates',
    source: 'techbench',
    form: { kind: 'ratio', lo: 2, hi: 3 },
    factor: (n, p) => p.scenarios['json-rate'].latencyMs.p99 / n.scenarios['json-rate'].latencyMs.p99,
    measured: (n, p) =>
      `/json at a fixed rate, p99: ${ms(n.scenarios['json-rate'].latencyMs.p99)} vs ${ms(p.scenarios['json-rate'].latencyMs.p99)}`,
  },
  {
    claim: 'P99 under load 240 ms vs 680 ms (65 % lower)',
    source: 'techbench',
    form: { kind: 'ratio', lo: 680 / 240, hi: 680 / 240 },
    factor: (n, p) => sat(p).latencyMs.p99 / sat(n).latencyMs.p99,
    measured: (n, p) => `/json saturated, p99: ${ms(sat(n).latencyMs.p99)} vs ${ms(sat(p).latencyMs.p99)}`,
  },
  {
    claim: "Python's asyncio trails Node.js by 25–40 % (I/O-bound)",
    source: 'techbench',
    form: { kind: 'ratio', lo: 1 / 0.75, hi: 1 / 0.6 },
    factor: (n, p) => n.scenarios['io-sat'].rps / p.scenarios['io-sat'].rps,
    measured: (n, p) => `/io?ms=20 saturated: ${rps(n.scenarios['io-sat'].rps)} vs ${rps(p.scenarios['io-sat'].rps)}`,
  },
  {
    claim: 'CPU-bound work: both perform similarly',
    source: 'techbench',
    form: { kind: 'parity' },
    factor: (n, p) => n.iterationsPerMs / p.iterationsPerMs,
    measured: (n, p) => `/cpu compute speed: ${n.iterationsPerMs.toFixed(0)} vs ${p.iterationsPerMs.toFixed(0)} LCG steps/ms`,
  },
  {
    claim: 'GC pause impact: minor in V8, significant in CPython',
    source: 'techbench',
    form: { kind: 'direction', better: 'node' },
    factor: (n, p) => (sat(p).gcShare ?? NaN) / (sat(n).gcShare ?? NaN),
    measured: (n, p) => `/json saturated, GC pause share: ${pctOf(sat(n).gcShare)} vs ${pctOf(sat(p).gcShare)}`,
  },
  {
    claim: 'Winner for raw performance: Node.js',
    source: 'jinkteam',
    form: { kind: 'direction', better: 'node' },
    factor: (n, p) => sat(n).rps / sat(p).rps,
    measured: (n, p) => `/json saturated: ${rps(sat(n).rps)} vs ${rps(sat(p).rps)}`,
  },
  {
    claim: 'Python not as optimized for real-time I/O',
    source: 'jinkteam',
    form: { kind: 'direction', better: 'node' },
    factor: (n, p) => n.scenarios['io-sat'].rps / p.scenarios['io-sat'].rps,
    measured: (n, p) => `/io?ms=20 saturated: ${rps(n.scenarios['io-sat'].rps)} vs ${rps(p.scenarios['io-sat'].rps)}`,
  },
  {
    claim: 'Memory efficiency: Node.js moderate, Python poor–moderate',
    source: 'pubgenius',
    form: { kind: 'direction', better: 'node' },
    factor: (n, p) => p.baselineRssBytes / n.baselineRssBytes,
    measured: (n, p) => `idle RSS: ${mb(n.baselineRssBytes)} vs ${mb(p.baselineRssBytes)}`,
  },
  {
    claim: 'Cold start: Node.js fast, Python slow',
    source: 'pubgenius',
    form: { kind: 'direction', better: 'node' },
    factor: (n, p) => cold(p) / cold(n),
    measured: (n, p) => `spawn → first /json: ${ms(cold(n))} vs ${ms(cold(p))}`,
  },
  {
    claim: 'Async Python 8K–12K req/s on lightweight endpoints, still behind Node',
    source: 'pubgenius',
    form: { kind: 'direction', better: 'node' },
    factor: (n, p) => sat(n).rps / sat(p).rps,
    measured: (n, p) => `/json saturated: ${rps(sat(n).rps)} vs ${rps(sat(p).rps)} (one core; FastAPI there, stdlib here)`,
  },
  {
    claim: 'Node stumbles on CPU-bound work: a computation blocks the thread',
    source: 'pubgenius',
    form: { kind: 'at-least', value: 5, unit: 'ms' },
    factor: (n) => n.scenarios['cpu-sat'].loopDelayP99Ms ?? NaN,
    measured: (n, p) =>
      `/cpu?ms=5 saturated, loop delay p99: Node ${ms(n.scenarios['cpu-sat'].loopDelayP99Ms ?? NaN)}; Python ${p.scenarios['cpu-sat'].loopDelayP99Ms !== null ? `loop ${ms(p.scenarios['cpu-sat'].loopDelayP99Ms)}` : `interpreter ${ms(p.scenarios['cpu-sat'].interpreterDelayP99Ms ?? NaN)}`}`,
  },
  {
    claim: 'Node.js 15 % faster response times for JSON processing',
    source: 'rizawan',
    form: { kind: 'ratio', lo: 1.15, hi: 1.15 },
    factor: (n, p) => p.scenarios['json-rate'].latencyMs.p50 / n.scenarios['json-rate'].latencyMs.p50,
    measured: (n, p) =>
      `/json at a fixed rate, p50: ${ms(n.scenarios['json-rate'].latencyMs.p50)} vs ${ms(p.scenarios['json-rate'].latencyMs.p50)}`,
  },
  {
    claim: 'Python uses ~20 % less memory under heavy load',
    source: 'rizawan',
    form: { kind: 'ratio', lo: 0.8, hi: 0.8 },
    factor: (n, p) => peakUnderLoad(p) / peakUnderLoad(n),
    measured: (n, p) => `peak RSS over the saturated runs: ${mb(peakUnderLoad(n))} vs ${mb(peakUnderLoad(p))}`,
  },
  {
    claim: 'CPU utilization: both performed similarly',
    source: 'rizawan',
    form: { kind: 'parity' },
    factor: (n, p) => p.scenarios['json-rate'].cpuPerRequestMs / n.scenarios['json-rate'].cpuPerRequestMs,
    measured: (n, p) =>
      `/json CPU per request at a fixed rate: ${ms(n.scenarios['json-rate'].cpuPerRequestMs)} vs ${ms(p.scenarios['json-rate'].cpuPerRequestMs)} (saturated: ${ms(n.scenarios['json-sat'].cpuPerRequestMs)} vs ${ms(p.scenarios['json-sat'].cpuPerRequestMs)})`,
  },
  {
    claim: 'Node.js handled 30 % more simultaneous connections',
    source: 'rizawan',
    form: {
      kind: 'not-comparable',
      why: 'no connection limit was probed; both served 200 concurrent /io connections (errors: see the caveats)',
    },
    factor: NONE,
    measured: NOTHING,
  },
  {
    claim: 'Beyond 15,000 concurrent connections Python drops requests',
    source: 'techbench',
    form: { kind: 'not-comparable', why: 'at most 200 connections here' },
    factor: NONE,
    measured: NOTHING,
  },
];

function pctOf(share: number | null): string {
  return share === null ? '—' : `${(share * 100).toFixed(2)} %`;
}
