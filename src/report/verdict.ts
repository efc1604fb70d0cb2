// The verdict over the busy part of a window (docs/ARCHITECTURE.md): io ≥ 60 % of busy wall time → io-bound,
// cpu ≥ 40 % → cpu-bound, else mixed; idle when nothing (or next to nothing) was in flight; a CPU
// limit that throttled much of the busy time makes a non-io verdict cpu-bound. Decided here only.
// Pure, and explained in one sentence that says what will and will not help.
import { formatLimitCores } from './container';
import { formatPercent } from './format';
import type { Breakdown, EvidenceSource, Runtime, Verdict } from './model';

export const IO_BOUND_SHARE = 0.6;
export const CPU_BOUND_SHARE = 0.4;
/** Below 1 % of the window busy, any share is a share of noise (timers, the sampler itself). */
export const NEGLIGIBLE_BUSY_FRACTION = 0.01;
/** Waiting for a CPU this large is worth a word: the host, not the code, is short of cores. */
const RUNQUEUE_NOTE_SHARE = 0.1;
/** Throttled for this share of busy time or more, the CPU limit is the story, whatever else the split says. */
export const THROTTLED_VERDICT_SHARE = 0.2;

export type BusyShares = Omit<Breakdown, 'idle'>;

export interface VerdictInput {
  /** Window shares of wall time (sum to 1). */
  shares: Breakdown;
  /** From a probe: fraction of the window with ≥ 1 request in flight; null without a probe. */
  inFlightFraction: number | null;
  /** The shares describe a main thread that only handed work to other threads: the process's CPU
   * seconds and the window's wall seconds, to judge CPU over the busy time instead. */
  offMain?: { cpuS: number; wallS: number };
  /** The target's cgroup CPU limit in cores; null or absent: none. */
  cpuLimitCores?: number | null;
}

export interface VerdictResult {
  verdict: Verdict;
  /** Fraction of wall time that was not idle. */
  busyFraction: number;
  /** Shares of busy wall time; zeros when nothing was busy. */
  busyShares: BusyShares;
  /** With offMain: process CPU seconds ÷ busy wall seconds (can exceed 1); else null. */
  processCpuShareOfBusy: number | null;
  /** With offMain, when the process's CPU overruled it: what the main thread alone said. */
  mainThreadVerdict?: Verdict;
  /** Set when throttling by this CPU limit (cores) made the verdict cpu-bound. */
  throttledLimitCores?: number;
}

export function busySharesOf(shares: Breakdown): { busyFraction: number; busyShares: BusyShares } {
  const total = shares.cpu + shares.runqueue + shares.throttled + shares.io + shares.lock + shares.sleep + shares.other + shares.idle;
  const busyFraction = total > 0 ? Math.max(0, 1 - shares.idle / total) : 0;
  const scale = busyFraction > 0 ? 1 / (busyFraction * total) : 0;
  return {
    busyFraction,
    busyShares: {
      cpu: shares.cpu * scale,
      runqueue: shares.runqueue * scale,
      throttled: shares.throttled * scale,
      io: shares.io * scale,
      lock: shares.lock * scale,
      sleep: shares.sleep * scale,
      other: shares.other * scale,
    },
  };
}

export function decideVerdict(input: VerdictInput): VerdictResult {
  const result = decideBusyVerdict(input);
  // Waiting on the quota is wanting CPU: the fix is CPU (or cheaper code), not faster downstreams.
  // An io-bound verdict stands: its waiting was not on the limit.
  const limit = input.cpuLimitCores ?? null;
  if (limit === null || result.verdict === 'idle' || result.verdict === 'io-bound') return result;
  if (result.busyShares.throttled < THROTTLED_VERDICT_SHARE) return result;
  return { ...result, verdict: 'cpu-bound', throttledLimitCores: limit };
}

/** The verdict from the shares (and the process's CPU when the work was off the main thread). */
function decideBusyVerdict(input: VerdictInput): VerdictResult {
  const { busyFraction, busyShares } = busySharesOf(input.shares);
  // A probe's in-flight time is the direct answer to "was there work?"; without it, busy wall time is.
  const workFraction = input.inFlightFraction ?? busyFraction;
  let verdict: Verdict;
  if (busyFraction <= 0 || workFraction < NEGLIGIBLE_BUSY_FRACTION) verdict = 'idle';
  else if (busyShares.io >= IO_BOUND_SHARE) verdict = 'io-bound';
  else if (busyShares.cpu >= CPU_BOUND_SHARE) verdict = 'cpu-bound';
  else verdict = 'mixed';
  if (!input.offMain) return { verdict, busyFraction, busyShares, processCpuShareOfBusy: null };
  const busyWallS = input.offMain.wallS * workFraction;
  const processCpuShareOfBusy = busyWallS > 0 ? input.offMain.cpuS / busyWallS : null;
  // The main thread only hands work out (an accept loop): the process's CPU over the busy time
  // is the better measure of whether the work is CPU.
  if (verdict !== 'idle' && (processCpuShareOfBusy ?? 0) >= CPU_BOUND_SHARE) {
    return { verdict: 'cpu-bound', busyFraction, busyShares, processCpuShareOfBusy, mainThreadVerdict: verdict };
  }
  return { verdict, busyFraction, busyShares, processCpuShareOfBusy };
}

function explainThrottled(limitCores: number, s: BusyShares): string {
  return (
    `Throttled by its ${formatLimitCores(limitCores)}-core CPU limit for ${formatPercent(s.throttled, 0)} of busy time ` +
    `(${formatPercent(s.cpu, 0)} on CPU): raise the limit or make the hot code cheaper; more replicas also spread the load.`
  );
}

function explainOffMain(share: number, runtime: Runtime | undefined): string {
  return (
    (share >= 0.95
      ? `Worker threads kept ${share.toFixed(1)} cores busy for as long as requests were in flight `
      : `Worker threads were on CPU for ${Math.round(share * 100)} % of the time requests were in flight `) +
    `while the main thread mostly waited; make the hot code cheaper or add processes${runtime === 'cpython' ? ' (CPython threads share one GIL, so more threads will not help)' : ''}.`
  );
}

const pct = (x: number): string => `${Math.round(x * 100)} %`;

function explainMixed(s: BusyShares, runtime: Runtime | undefined): string {
  const others: Array<[string, number]> = [
    ['waiting for a CPU', s.runqueue],
    ['throttled by a CPU limit', s.throttled],
    [runtime === 'cpython' ? 'waiting on locks (often the GIL)' : 'waiting on locks', s.lock],
    ['sleeping in timers', s.sleep],
    ['in other waits', s.other],
  ];
  others.sort((a, b) => b[1] - a[1]);
  const [name, share] = others[0] ?? ['other', 0];
  return (
    `Busy time is split — ${pct(s.cpu)} on CPU, ${pct(s.io)} waiting on I/O, ${pct(share)} ${name}; ` +
    `no single fix dominates, so look at the slowest requests for both hot code and slow downstreams.`
  );
}

/** One sentence a backend engineer can act on. */
/** `service`: the breakdown covers a service's work threads rather than one main thread. */
export function explainVerdict(result: VerdictResult, evidence: EvidenceSource, runtime?: Runtime, service = false): string {
  const s = result.busyShares;
  if (result.throttledLimitCores !== undefined) return explainThrottled(result.throttledLimitCores, s);
  if (result.mainThreadVerdict !== undefined && result.processCpuShareOfBusy !== null)
    return explainOffMain(result.processCpuShareOfBusy, runtime);
  switch (result.verdict) {
    case 'idle':
      return evidence === 'probe'
        ? 'Nothing was in flight during the window, so there is no work to attribute; profile it under traffic, for example with --load URL.'
        : 'The main thread waited with no work in flight for the whole window; profile it under traffic, for example with --load URL.';
    case 'io-bound': {
      const caveat = evidence === 'none' ? ' (no probe or socket evidence here, so some of that waiting may be idle)' : '';
      return `${pct(s.io)} of busy time is spent waiting on I/O${caveat}; more concurrency or faster downstreams help, more CPU will not.`;
    }
    case 'cpu-bound':
      if (s.runqueue >= RUNQUEUE_NOTE_SHARE) {
        return `${pct(s.cpu)} of busy time is on CPU and ${pct(s.runqueue)} waiting for a CPU; the host is short of cores, so give it more CPU or make the hot code cheaper.`;
      }
      return `${pct(s.cpu)} of busy time is on CPU${service ? '' : ' in the main thread'}; make the hot code cheaper or spread load over more processes, faster downstreams will not help.`;
    case 'mixed':
      return explainMixed(s, runtime);
  }
}
