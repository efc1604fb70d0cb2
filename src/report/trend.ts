// The memory trend of a window: the least-squares slope of RSS over time with its standard error,
// and whether the window can tell it from zero. A slope is only a trend when the window is long
// enough, its confidence interval excludes zero, it moves RSS by more than allocation granularity
// and the window's later half does not contradict it; otherwise the report says it cannot tell.

/** Two-sided confidence of the stated interval. */
export const TREND_CONFIDENCE = 0.95;
/** Shorter windows see a few GC cycles at most, and a heap still sizing itself to its load (after
 * start or a change of traffic) reads as growth however good the fit is. */
export const TREND_MIN_WINDOW_S = 12;
export const TREND_MIN_SAMPLES = 10;
/** RSS moves in whole pages and allocators take memory in chunks: a fitted change over the window
 * smaller than this is within that granularity, however steady, and is not called a trend. */
export const TREND_MIN_CHANGE_BYTES = 1024 * 1024;

export interface MemoryTrend {
  /** growing / shrinking: a trend (see the module's opening); unknown: not enough time to tell. */
  status: 'growing' | 'shrinking' | 'unknown';
  /** Least-squares slope of RSS, bytes per minute (null with fewer than 3 samples; so are the next two). */
  bytesPerMin: number | null;
  /** Its standard error, widened for residuals that follow each other (a GC sawtooth, steps). */
  stdErrBytesPerMin: number | null;
  /** The interval at `confidence`: slope ± t × standard error. */
  intervalBytesPerMin: { low: number; high: number } | null;
  confidence: number;
  /** Seconds of samples the fit covers. */
  windowS: number;
  samples: number;
  /** Samples after the lag-1 autocorrelation of the residuals is accounted for (≤ samples). */
  effectiveSamples: number;
  /** How far RSS swings around the line: highest minus lowest residual, bytes (null without a line). */
  swingBytes: number | null;
  /** Why status is unknown, as a sentence; empty otherwise. */
  reason: string;
  /** The same as a code: short window, few samples, interval includes zero, change under 1 MiB or
   * under RSS's swing around the line, levelled off. */
  reasonCode: 'window' | 'samples' | 'zero' | 'small' | 'levelled' | null;
}

type Unknown = { code: NonNullable<MemoryTrend['reasonCode']>; text: string };

/** Two-sided 95 % critical values of Student's t for 1..30 degrees of freedom. */
const T975 = [
  12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.16, 2.145, 2.131, 2.12, 2.11, 2.101, 2.093, 2.086,
  2.08, 2.074, 2.069, 2.064, 2.06, 2.056, 2.052, 2.048, 2.045, 2.042,
];
const Z975 = 1.959964;

/** t(0.975, df), the multiplier of a 95 % interval; fractional df round down (the wider interval). */
export function tCritical95(df: number): number {
  if (!(df >= 1)) return Infinity;
  const d = Math.floor(df);
  if (d <= T975.length) return T975[d - 1]!;
  // Cornish-Fisher expansion: within 0.001 of the exact value beyond 30 degrees of freedom.
  const z = Z975;
  return z + (z ** 3 + z) / (4 * d) + (5 * z ** 5 + 16 * z ** 3 + 3 * z) / (96 * d * d);
}

export interface Fit {
  slope: number;
  intercept: number;
  stdErr: number;
  n: number;
  effectiveN: number;
  /** lag-1 autocorrelation of the residuals, clamped to [0, 1) */
  rho: number;
  /** highest minus lowest residual: how far y swings around the line */
  swing: number;
}

/** Fewer effective samples than this would leave no degrees of freedom: the error is then taken
 * with one degree of freedom (t = 12.7), which still lets a line far steeper than its residuals
 * through (allocation paced by a clock leaves small residuals that follow each other). */
const MIN_EFFECTIVE_N = 3;

/**
 * Ordinary least squares of y on x. The standard error uses the effective sample size
 * n (1 − ρ) / (1 + ρ) for the residuals' lag-1 autocorrelation ρ (Santer et al. 2000), ρ taken a
 * little above its estimate because short series underestimate it: RSS between collections
 * climbs and drops in runs, and treating those samples as independent makes the interval far too
 * narrow. null with fewer than 3 points or no spread in x.
 */
export function fitLine(xs: readonly number[], ys: readonly number[]): Fit | null {
  const n = Math.min(xs.length, ys.length);
  if (n < 3) return null;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i]!;
    my += ys[i]!;
  }
  mx /= n;
  my /= n;
  let sxx = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = xs[i]! - mx;
    sxx += dx * dx;
    sxy += dx * (ys[i]! - my);
  }
  if (!(sxx > 0)) return null;
  const slope = sxy / sxx;
  const intercept = my - slope * mx;
  let ss = 0;
  let lag = 0;
  let previous = 0;
  let lowest = Infinity;
  let highest = -Infinity;
  for (let i = 0; i < n; i++) {
    const r = ys[i]! - (intercept + slope * xs[i]!);
    lowest = Math.min(lowest, r);
    highest = Math.max(highest, r);
    ss += r * r;
    if (i > 0) lag += r * previous;
    previous = r;
  }
  // A negative ρ would shrink the interval below the independent case: never claim that.
  const raw = ss > 0 ? Math.max(0, lag / ss) : 0;
  const rho = ss > 0 ? Math.min(0.999, raw + (1 + 3 * raw) / n) : 0;
  const effectiveN = Math.max(MIN_EFFECTIVE_N, (n * (1 - rho)) / (1 + rho));
  const stdErr = Math.sqrt(ss / (effectiveN - 2) / sxx);
  return { slope, intercept, stdErr, n, effectiveN, rho, swing: highest - lowest };
}

/** The fit's interval at 95 %: slope ± t × standard error. */
function intervalOf(fit: Fit): { low: number; high: number } {
  const half = tCritical95(fit.effectiveN - 2) * fit.stdErr;
  return { low: fit.slope - half, high: fit.slope + half };
}

const MS_PER_MIN = 60_000;
const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

interface Point {
  t: number;
  durationS: number;
  rssBytes: number;
}

const fitPoints = (points: readonly Point[]): Fit | null =>
  fitLine(
    points.map((p) => p.t / MS_PER_MIN),
    points.map((p) => p.rssBytes),
  );

/** RSS samples at their times (ms), each covering durationS seconds, to a trend. */
export function memoryTrend(points: readonly Point[]): MemoryTrend {
  const usable = points.filter((p) => Number.isFinite(p.t) && Number.isFinite(p.rssBytes) && p.rssBytes > 0);
  const windowS = usable.reduce((sum, p) => sum + (Number.isFinite(p.durationS) ? p.durationS : 0), 0);
  const fit = fitPoints(usable);
  const base = { confidence: TREND_CONFIDENCE, windowS, samples: usable.length };
  if (!fit) {
    return {
      ...base,
      status: 'unknown',
      bytesPerMin: null,
      stdErrBytesPerMin: null,
      intervalBytesPerMin: null,
      effectiveSamples: usable.length,
      swingBytes: null,
      reason: `too few samples to fit a line (${usable.length})`,
      reasonCode: 'samples',
    };
  }
  const interval = intervalOf(fit);
  const result = {
    ...base,
    bytesPerMin: fit.slope,
    stdErrBytesPerMin: fit.stdErr,
    intervalBytesPerMin: interval,
    effectiveSamples: fit.effectiveN,
    swingBytes: fit.swing,
  };
  const unknown = whyUnknown(usable, fit, interval, windowS);
  if (unknown) return { ...result, status: 'unknown', reason: unknown.text, reasonCode: unknown.code };
  return { ...result, status: fit.slope > 0 ? 'growing' : 'shrinking', reason: '', reasonCode: null };
}

function whyUnknown(points: readonly Point[], fit: Fit, interval: { low: number; high: number }, windowS: number): Unknown | null {
  if (windowS < TREND_MIN_WINDOW_S)
    return {
      code: 'window',
      text: `a ${(Math.floor(windowS * 10 + 1e-6) / 10).toFixed(1)} s window is shorter than the ${TREND_MIN_WINDOW_S} s a trend needs`,
    };
  if (points.length < TREND_MIN_SAMPLES)
    return { code: 'samples', text: `${points.length} samples, fewer than the ${TREND_MIN_SAMPLES} a trend needs` };
  if (interval.low <= 0 && interval.high >= 0) return { code: 'zero', text: `the ${TREND_CONFIDENCE * 100} % interval includes zero` };
  // A GC sawtooth of a few samples' period is not the noise the interval models: a line fits
  // wherever in the cycle the window started and ended. Until the line has moved RSS further than
  // RSS swings around it, the window cannot tell a trend from that phase.
  const change = Math.abs(fit.slope) * (windowS / 60);
  if (change < Math.max(TREND_MIN_CHANGE_BYTES, fit.swing))
    return {
      code: 'small',
      text: `RSS moved ${mib(change)} along the line, less than ${fit.swing > TREND_MIN_CHANGE_BYTES ? `the ${mib(fit.swing)} it swings around it` : '1 MiB'}`,
    };
  // A heap sizing itself up after start or a change of load climbs, then levels off: the later
  // half's interval then lies wholly on the near side of the whole window's.
  const later = fitPoints(points.slice(Math.floor(points.length / 2)));
  if (later) {
    const { low, high } = intervalOf(later);
    if (fit.slope > 0 ? high < interval.low : low > interval.high)
      return { code: 'levelled', text: 'RSS changed early in the window and levelled off in its second half' };
  }
  return null;
}
