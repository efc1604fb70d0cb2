// Per-concern summaries of a window's samples: CPU, memory, event loop, GC. Pure functions, one
// per section of the profile document.
import type { ProfileDocument, ProfileSample } from './model';
import { leastSquaresSlope, maxOf, minOf, percentile, weightedMean } from './stats';
import { memoryTrend } from './trend';

export function summarizeCpu(samples: readonly ProfileSample[]): ProfileDocument['cpu'] {
  let userS = 0;
  let systemS = 0;
  let wallS = 0;
  const perInterval: number[] = [];
  for (const s of samples) {
    userS += s.cpu.userS;
    systemS += s.cpu.systemS;
    wallS += s.durationS;
    perInterval.push(cpuCoresOf(s));
  }
  return { avgCores: wallS > 0 ? (userS + systemS) / wallS : 0, maxCores: maxOf(perInterval), userS, systemS };
}

export function cpuCoresOf(s: ProfileSample): number {
  return s.durationS > 0 ? (s.cpu.userS + s.cpu.systemS) / s.durationS : 0;
}

const MS_PER_MIN = 60_000;

function minAvgMaxLast(values: number[], weights: number[]): { min: number; avg: number; max: number; last: number } {
  return { min: minOf(values), avg: weightedMean(values, weights), max: maxOf(values), last: values[values.length - 1] ?? 0 };
}

export function summarizeMemory(samples: readonly ProfileSample[]): ProfileDocument['memory'] {
  const rss = samples.map((s) => s.rssBytes);
  const withPss = samples.filter((s) => s.pssBytes !== undefined);
  const pss =
    withPss.length > 0
      ? minAvgMaxLast(
          withPss.map((s) => s.pssBytes ?? 0),
          withPss.map((s) => s.durationS),
        )
      : undefined;
  return {
    ...(pss ? { pssBytes: pss } : {}),
    rssBytes: {
      min: minOf(rss),
      avg: weightedMean(
        rss,
        samples.map((s) => s.durationS),
      ),
      max: maxOf(rss),
      last: rss[rss.length - 1] ?? 0,
    },
    // Least squares rather than last − first: one GC right at either end would swing the latter.
    growthBytesPerMin: leastSquaresSlope(
      samples.map((s) => s.t / MS_PER_MIN),
      rss,
    ),
    trend: memoryTrend(samples),
  };
}

export const LOOP_AGGREGATION =
  'p50/p90/p99: duration-weighted mean of the per-interval percentiles; max: max of the per-interval maxes; worstIntervalP99S: max of the per-interval p99s';

export function summarizeEventLoop(samples: readonly ProfileSample[]): ProfileDocument['eventLoop'] {
  const withLoop = samples.filter((s) => s.eventLoop !== undefined);
  if (withLoop.length === 0) return null;
  const weights = withLoop.map((s) => s.durationS);
  // Per-interval histograms cannot be merged back into exact window percentiles; a weighted mean
  // of them is the typical interval, and the worst interval's p99 is kept beside it.
  const mean = (pick: (s: ProfileSample) => number): number => weightedMean(withLoop.map(pick), weights) / 1e9;
  const delay = (s: ProfileSample) => s.eventLoop?.delayNs ?? { p50: 0, p90: 0, p99: 0, max: 0 };
  return {
    delayS: {
      p50: mean((s) => delay(s).p50),
      p90: mean((s) => delay(s).p90),
      p99: mean((s) => delay(s).p99),
      max: maxOf(withLoop.map((s) => delay(s).max)) / 1e9,
    },
    worstIntervalP99S: maxOf(withLoop.map((s) => delay(s).p99)) / 1e9,
    utilization: weightedMean(
      withLoop.map((s) => s.eventLoop?.utilization ?? 0),
      weights,
    ),
    aggregation: LOOP_AGGREGATION,
  };
}

export function summarizeGc(samples: readonly ProfileSample[]): ProfileDocument['gc'] {
  const watched = samples.filter((s) => s.gc !== undefined);
  if (watched.length === 0) return null;
  const pauses = watched.flatMap((s) => s.gc ?? []);
  // A null prototype: kinds come from the probe, and one named "__proto__" must stay a plain key.
  const byKind = Object.create(null) as NonNullable<ProfileDocument['gc']>['byKind'];
  let totalS = 0;
  for (const p of pauses) {
    totalS += p.durationS;
    const kind = (byKind[p.kind] ??= { count: 0, totalS: 0, maxS: 0 });
    kind.count++;
    kind.totalS += p.durationS;
    kind.maxS = Math.max(kind.maxS, p.durationS);
  }
  const durations = pauses.map((p) => p.durationS);
  return { count: pauses.length, totalS, maxS: maxOf(durations), p99S: percentile(durations, 0.99), byKind };
}
