// Inline SVG charts for the HTML report, generated here so the page needs no script library and
// no network. Each chart is one <svg class="chart" data-chart="…"> with a <path class="series">
// per series; interval-based values (GC pauses, the breakdown) are drawn as bars spanning their
// interval, point values (CPU, RSS, loop delay) as lines through interval ends.
import { escapeHtml } from './escape';

export interface ChartSeries {
  name: string;
  color: string;
  /** One value per interval; null breaks a line / leaves a bar out. */
  values: ReadonlyArray<number | null>;
}

export interface ChartSpec {
  id: string;
  title: string;
  /** Interval ends, seconds since the window start. */
  xs: readonly number[];
  /** Interval lengths in seconds (for bars). */
  widths: readonly number[];
  series: readonly ChartSeries[];
  kind: 'line' | 'bars' | 'stacked';
  formatY: (value: number) => string;
  /** Fixed top of the y axis (1 for shares); otherwise from the data. */
  yMax?: number;
  /** Bytes get 1-2-5 × 1024ⁿ steps, so ticks read 16 MiB, not 16.8 MB. */
  yUnit?: 'bytes';
  /** Start the y axis near the data's minimum instead of 0 (memory growth is invisible from 0). */
  fitMin?: boolean;
}

const W = 800;
const H = 190;
const M = { left: 64, right: 12, top: 12, bottom: 26 };
const PLOT_W = W - M.left - M.right;
const PLOT_H = H - M.top - M.bottom;

/** A 1-2-5 step giving about `count` ticks over [0, max]. */
export function niceStep(max: number, count = 4): number {
  if (!(max > 0)) return 1;
  const raw = max / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const n = raw / magnitude;
  return (n <= 1 ? 1 : n <= 2 ? 2 : n <= 5 ? 5 : 10) * magnitude;
}

const BYTE_UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
const byteUnitOf = (magnitude: number): number =>
  Math.min(BYTE_UNITS.length - 1, Math.max(0, Math.floor(Math.log(Math.max(1, magnitude)) / Math.log(1024))));

/** A 1-2-5 step in the unit the largest value is shown in, so ticks read 49.5 MiB, not 49.8 MiB. */
export function niceBytesStep(span: number, magnitude: number): number {
  const unit = 1024 ** byteUnitOf(magnitude);
  return Math.max(1, niceStep(span / unit) * unit);
}

/** Tick label with as many decimals as the step needs, in the unit of the axis top. */
export function formatBytesTick(value: number, step: number, top: number): string {
  const u = byteUnitOf(top);
  const decimals = Math.min(3, Math.max(0, Math.ceil(-Math.log10(step / 1024 ** u) - 1e-9)));
  return `${(value / 1024 ** u).toFixed(decimals)} ${BYTE_UNITS[u]}`;
}

const r = (v: number): string => (Math.round(v * 10) / 10).toString();

interface Scales {
  x: (s: number) => number;
  y: (v: number) => number;
  yBottom: number;
  yTop: number;
  yStep: number;
  xEnd: number;
}

function scales(spec: ChartSpec): Scales {
  const xStart = Math.min(0, ...spec.xs.map((x, i) => x - (spec.widths[i] ?? 0)));
  const xEnd = Math.max(1e-9, ...spec.xs);
  let dataMax = 0;
  let dataMin = Infinity;
  spec.xs.forEach((_x, i) => {
    const values = spec.series.map((s) => s.values[i]).filter((v): v is number => v !== null && v !== undefined && Number.isFinite(v));
    const top = spec.kind === 'stacked' ? values.reduce((a, b) => a + b, 0) : Math.max(0, ...values);
    dataMax = Math.max(dataMax, top);
    dataMin = Math.min(dataMin, ...values);
  });
  const fitted = spec.fitMin && Number.isFinite(dataMin) && dataMax > dataMin;
  const span = spec.yMax ?? (fitted ? dataMax - dataMin : dataMax);
  const yStep = spec.yUnit === 'bytes' ? niceBytesStep(span, dataMax) : niceStep(span);
  const yBottom = fitted ? Math.floor(dataMin / yStep) * yStep : 0;
  const yTop = spec.yMax ?? Math.max(yBottom + yStep, Math.ceil(dataMax / yStep) * yStep);
  const clampY = (v: number): number => Math.min(Math.max(v, yBottom), yTop);
  return {
    x: (s) => M.left + ((s - xStart) / (xEnd - xStart)) * PLOT_W,
    y: (v) => M.top + PLOT_H - ((clampY(v) - yBottom) / (yTop - yBottom)) * PLOT_H,
    yBottom,
    yTop,
    yStep,
    xEnd,
  };
}

function axes(spec: ChartSpec, sc: Scales): string {
  const parts: string[] = [];
  const yStep = sc.yStep;
  for (let v = sc.yBottom; v <= sc.yTop + yStep * 1e-6; v += yStep) {
    const y = r(sc.y(v));
    parts.push(`<line class="grid" x1="${M.left}" x2="${W - M.right}" y1="${y}" y2="${y}"/>`);
    parts.push(
      `<text class="tick" x="${M.left - 6}" y="${y}" dy="0.32em" text-anchor="end">${escapeHtml(spec.yUnit === 'bytes' ? formatBytesTick(v, yStep, sc.yTop) : spec.formatY(v))}</text>`,
    );
  }
  const xStep = niceStep(sc.xEnd, 8);
  for (let s = 0; s <= sc.xEnd + xStep * 1e-6; s += xStep) {
    parts.push(`<text class="tick" x="${r(sc.x(s))}" y="${H - 8}" text-anchor="middle">${escapeHtml(formatAxisSeconds(s))}</text>`);
  }
  parts.push(`<line class="axis" x1="${M.left}" x2="${W - M.right}" y1="${r(sc.y(sc.yBottom))}" y2="${r(sc.y(sc.yBottom))}"/>`);
  return parts.join('');
}

function formatAxisSeconds(s: number): string {
  return s >= 120 ? `${Math.round(s / 60)}m` : `${Math.round(s * 10) / 10}s`;
}

function linePath(spec: ChartSpec, series: ChartSeries, sc: Scales): string {
  let d = '';
  let pen = false;
  spec.xs.forEach((x, i) => {
    const v = series.values[i];
    if (v === null || v === undefined || !Number.isFinite(v)) {
      pen = false;
      return;
    }
    d += `${pen ? 'L' : 'M'}${r(sc.x(x))},${r(sc.y(v))}`;
    pen = true;
  });
  // A single point would draw nothing: give it a short tick so it is visible.
  if (d && !d.includes('L')) d += 'h2';
  return d;
}

/** Bars spanning each interval, stacked on `base` (updated in place for the next layer). */
function barPath(spec: ChartSpec, series: ChartSeries, sc: Scales, base: number[]): string {
  let d = '';
  spec.xs.forEach((x, i) => {
    const v = series.values[i];
    if (v === null || v === undefined || !Number.isFinite(v) || v <= 0) return;
    const bottom = base[i] ?? 0;
    const x0 = sc.x(x - (spec.widths[i] ?? 0));
    const x1 = sc.x(x);
    const y0 = sc.y(bottom);
    const y1 = sc.y(bottom + v);
    // Bars keep at least 1px so a short GC pause is still seen.
    d += `M${r(x0)},${r(y0)}H${r(Math.max(x1, x0 + 1))}V${r(Math.min(y1, y0 - 1))}H${r(x0)}Z`;
    base[i] = bottom + v;
  });
  return d;
}

export function renderChart(spec: ChartSpec): string {
  const sc = scales(spec);
  const base = spec.xs.map(() => 0);
  const paths = spec.series
    .map((series) => {
      const d = spec.kind === 'line' ? linePath(spec, series, sc) : barPath(spec, series, sc, base);
      const style = spec.kind === 'line' ? `fill="none" stroke="${series.color}" stroke-width="1.6"` : `fill="${series.color}"`;
      return `<path class="series" data-series="${escapeHtml(series.name)}" d="${d}" ${style}><title>${escapeHtml(series.name)}</title></path>`;
    })
    .join('');
  const label = escapeHtml(spec.title);
  return (
    `<svg class="chart" data-chart="${escapeHtml(spec.id)}" viewBox="0 0 ${W} ${H}" role="img" aria-label="${label}">` +
    `${axes(spec, sc)}${paths}</svg>`
  );
}
