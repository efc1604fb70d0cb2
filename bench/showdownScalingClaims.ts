// Horizontal scaling from the multi-worker rows: the efficiency of going from 1 to 2 workers, and
// the seed claims about scaling, judged by the same rule as the single-process claims. Pure.
import { judge, type ClaimForm, type ClaimVerdict, type SOURCES } from './showdownClaims';
import type { StackResult, WorkerWindow } from './showdownTypes';

type Throughput = Pick<WorkerWindow, 'workers' | 'rps' | 'serviceCores'>;

const usable = (v: number): boolean => Number.isFinite(v) && v > 0;

/**
 * Throughput with n workers ÷ (n × throughput with 1 worker): 1 is linear scaling. NaN unless the
 * first window has 1 worker, the second more, and both served something.
 */
export function scalingEfficiency(one: Throughput | undefined, many: Throughput | undefined): number {
  if (!one || !many || one.workers !== 1 || many.workers <= 1 || !usable(one.rps) || !usable(many.rps)) return NaN;
  return many.rps / (many.workers * one.rps);
}

/**
 * The same on throughput per core of service CPU: whether each core the workers got did as much
 * work as the single worker's, apart from how many cores the machine had left to give them.
 */
export function perCoreEfficiency(one: Throughput | undefined, many: Throughput | undefined): number {
  if (!one || !many || one.workers !== 1 || many.workers <= 1) return NaN;
  if (![one.rps, many.rps, one.serviceCores, many.serviceCores].every(usable)) return NaN;
  return many.rps / many.serviceCores / (one.rps / one.serviceCores);
}

export const windowOf = (s: StackResult, workers: number): WorkerWindow | undefined => s.windows.find((w) => w.workers === workers);
export const efficiencyOf = (s: StackResult): number => scalingEfficiency(windowOf(s, 1), windowOf(s, 2));
export const perCoreEfficiencyOf = (s: StackResult): number => perCoreEfficiency(windowOf(s, 1), windowOf(s, 2));

/**
 * Little's law: with `connections` always busy, the mean latency is connections ÷ throughput. A
 * median far above that (3×) means the load generator's timing is wrong, not the service slow.
 */
export function latencyConsistent(p50Ms: number, connections: number, rps: number): boolean {
  return Number.isFinite(p50Ms) && rps > 0 && p50Ms <= (3 * 1000 * connections) / rps;
}

/** Share of the workers' CPU that the busiest one did (1/n when the master spread the load evenly). */
export function busiestWorkerShare(workerCores: readonly number[]): number {
  const total = workerCores.reduce((a, b) => a + b, 0);
  return total > 0 ? Math.max(...workerCores) / total : NaN;
}

/** Mean PSS of the worker processes with 2 workers (NaN when none was read). */
export function pssPerWorker(s: StackResult): number {
  const pss = windowOf(s, 2)?.workerPssBytes ?? [];
  return pss.length > 0 ? pss.reduce((a, b) => a + b, 0) / pss.length : NaN;
}

export interface ScalingClaim {
  claim: string;
  source: keyof typeof SOURCES;
  form: ClaimForm;
  /** the Node advantage factor, as in bench/showdownClaims.ts: f > 1 favours Node */
  factor: (node: StackResult, python: StackResult) => number;
  measured: (node: StackResult, python: StackResult) => string;
}

const pct = (v: number): string => (Number.isFinite(v) ? `${(v * 100).toFixed(0)} %` : '—');
const mb = (b: number): string => (Number.isFinite(b) ? `${(b / 1048576).toFixed(1)} MB` : '—');
const efficiencies = (n: StackResult, p: StackResult): string => `1 → 2 workers: ${pct(efficiencyOf(n))} vs ${pct(efficiencyOf(p))}`;

export const SCALING_CLAIMS: ScalingClaim[] = [
  {
    claim: 'Horizontal scaling efficiency 91 % vs 76 %',
    source: 'techbench',
    form: { kind: 'ratio', lo: 91 / 76, hi: 91 / 76 },
    factor: (n, p) => efficiencyOf(n) / efficiencyOf(p),
    measured: efficiencies,
  },
  {
    claim: 'CPU core utilization: cluster module vs multiple processes, similar final efficiency (88–91 %)',
    source: 'techbench',
    form: { kind: 'parity' },
    factor: (n, p) => efficiencyOf(n) / efficiencyOf(p),
    measured: efficiencies,
  },
  {
    claim: 'Memory per worker process 52–80 MB vs 120–180 MB',
    source: 'techbench',
    form: { kind: 'ratio', lo: 120 / 80, hi: 180 / 52 },
    factor: (n, p) => pssPerWorker(p) / pssPerWorker(n),
    measured: (n, p) => `PSS per worker (2 workers, saturated): ${mb(pssPerWorker(n))} vs ${mb(pssPerWorker(p))}`,
  },
];

export function judgeScaling(c: ScalingClaim, node: StackResult, python: StackResult): { verdict: ClaimVerdict; why: string } {
  return judge(c.form, c.factor(node, python));
}
