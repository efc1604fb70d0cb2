// Small numeric helpers for the report: percentiles, weighted means, least-squares slope.

/** Linear-interpolated percentile (q in [0, 1]) of unsorted values; 0 for an empty list. */
export function percentile(values: readonly number[], q: number): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(1, Math.max(0, q)) * (sorted.length - 1);
  const lo = Math.floor(rank);
  const hi = Math.ceil(rank);
  const low = sorted[lo] ?? 0;
  const high = sorted[hi] ?? low;
  return low + (high - low) * (rank - lo);
}

/** Σ wᵢxᵢ / Σ wᵢ; falls back to the plain mean when the weights sum to 0, and 0 for no values. */
export function weightedMean(values: readonly number[], weights: readonly number[]): number {
  let sum = 0;
  let weight = 0;
  values.forEach((x, i) => {
    const w = weights[i] ?? 0;
    sum += x * w;
    weight += w;
  });
  if (weight > 0) return sum / weight;
  return values.length ? values.reduce((a, b) => a + b, 0) / values.length : 0;
}

export function maxOf(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => (b > a ? b : a), -Infinity) : 0;
}

export function minOf(values: readonly number[]): number {
  return values.length ? values.reduce((a, b) => (b < a ? b : a), Infinity) : 0;
}

/** Slope of the least-squares line through (x, y); 0 with fewer than two distinct x. */
export function leastSquaresSlope(xs: readonly number[], ys: readonly number[]): number {
  const n = Math.min(xs.length, ys.length);
  if (n < 2) return 0;
  let mx = 0;
  let my = 0;
  for (let i = 0; i < n; i++) {
    mx += xs[i] ?? 0;
    my += ys[i] ?? 0;
  }
  mx /= n;
  my /= n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] ?? 0) - mx;
    sxy += dx * ((ys[i] ?? 0) - my);
    sxx += dx * dx;
  }
  return sxx > 0 ? sxy / sxx : 0;
}
