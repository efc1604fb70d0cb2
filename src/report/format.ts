// Human formatting shared by the text and HTML reports: durations, bytes, percents, counts.
// Fixed to en-US so reports read the same on every host.
import type { LoadSummary } from './model';
import { TREND_MIN_CHANGE_BYTES, TREND_MIN_WINDOW_S, type MemoryTrend } from './trend';

/** 0.00042 → "420 µs", 0.0123 → "12.3 ms", 2.5 → "2.50 s", 95 → "1m35s", 60 → "1m00s". */
export function formatSeconds(s: number): string {
  if (!Number.isFinite(s)) return '–';
  const a = Math.abs(s);
  if (a === 0) return '0 ms';
  if (a < 0.001) return `${trim((s * 1e6).toPrecision(3))} µs`;
  if (a < 1) return `${trim((s * 1000).toPrecision(3))} ms`;
  if (a < 60) return `${s.toFixed(2)} s`;
  const total = Math.round(s);
  return `${Math.floor(total / 60)}m${String(total % 60).padStart(2, '0')}s`;
}

function trim(text: string): string {
  return text.includes('.') && !text.includes('e') ? text.replace(/0+$/, '').replace(/\.$/, '') : String(Number(text));
}

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];

/** 50_331_648 → "48.0 MiB". */
export function formatBytes(bytes: number): string {
  if (!Number.isFinite(bytes)) return '–';
  let v = Math.abs(bytes);
  let unit = 0;
  while (v >= 1024 && unit < UNITS.length - 1) {
    v /= 1024;
    unit++;
  }
  const sign = bytes < 0 ? '-' : '';
  return unit === 0 ? `${sign}${v} B` : `${sign}${v.toFixed(1)} ${UNITS[unit]}`;
}

/** Several sizes in the unit of the largest, the unit written once: "49.9 · 50.0 · 50.2 MiB" style. */
export function formatBytesGroup(values: readonly number[]): { numbers: string[]; unit: string } {
  const largest = Math.max(0, ...values.filter(Number.isFinite).map(Math.abs));
  let unit = 0;
  while (largest >= 1024 ** (unit + 1) && unit < UNITS.length - 1) unit++;
  const numbers = values.map((v) => (Number.isFinite(v) ? (unit === 0 ? String(v) : (v / 1024 ** unit).toFixed(1)) : '–'));
  return { numbers, unit: UNITS[unit] ?? 'B' };
}

/** Signed, for growth rates: "+1.2 MiB", "-300 B". */
export function formatSignedBytes(bytes: number): string {
  return bytes > 0 ? `+${formatBytes(bytes)}` : formatBytes(bytes);
}

/** 0.7312 → "73.1 %"; digits 0 → "73 %". */
export function formatPercent(fraction: number, digits = 1): string {
  return Number.isFinite(fraction) ? `${(fraction * 100).toFixed(digits)} %` : '–';
}

/** 29950 → "29,950". */
export function formatCount(n: number): string {
  return Number.isFinite(n) ? Math.round(n).toLocaleString('en-US') : '–';
}

export function formatCores(cores: number): string {
  return Number.isFinite(cores) ? cores.toFixed(2) : '–';
}

/**
 * The report's one phrase for the part of the window that was not idle. With nothing in flight
 * (verdict idle) that part is the runtime's own upkeep, not work: saying "busy" beside "nothing was
 * in flight" would contradict the headline.
 */
export function busyPhrase(verdict: string, fraction: number): string {
  const share = formatPercent(fraction, 0);
  return verdict === 'idle'
    ? `no request in flight; not idle ${share} of the window (timers, GC, the probe)`
    : `busy ${share} of the window`;
}

/** The load's answers and latencies in one line: "… · p50 47.3 ms · p90 … · max … · min … · 0 errors". */
export function formatLoadDetail(load: LoadSummary): string {
  const lat = load.latencyS;
  const parts = [`p50 ${formatSeconds(lat.p50)}`];
  if (lat.p90 !== undefined) parts.push(`p90 ${formatSeconds(lat.p90)}`);
  parts.push(`p99 ${formatSeconds(lat.p99)}`, `max ${formatSeconds(lat.max)}`);
  if (lat.min !== undefined) parts.push(`min ${formatSeconds(lat.min)}`);
  parts.push(plural(load.errors, 'error'));
  if (load.unfinished) parts.push(`${formatCount(load.unfinished)} unanswered at the end`);
  if (load.mode === 'open-loop' && load.targetRps !== undefined) {
    parts.push(`open loop at ${formatCount(load.targetRps)}/s, latency from each request's due time`);
  }
  return parts.join(' · ');
}

/** "1 pause", "2 pauses", "0 pauses"; the count formatted as formatCount does. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${formatCount(n)} ${Math.round(n) === 1 ? one : many}`;
}

const signed = (text: string): string => (text.startsWith('-') || text === '0' || text === '0.0' ? text : `+${text}`);

/** A rate pair in one unit: "+598.2 ± 11.3 MiB/min"; "-1.0 to +2.3 KiB/min" when `range`. */
function rateGroup(a: number, b: number, range: boolean): string {
  const { numbers, unit } = formatBytesGroup([a, b]);
  return range ? `${signed(numbers[0]!)} to ${signed(numbers[1]!)} ${unit}/min` : `${signed(numbers[0]!)} ± ${numbers[1]} ${unit}/min`;
}

/**
 * The memory trend for a report: "+598.2 ± 11.3 MiB/min (95 %)" when there is one, else "not enough
 * time to tell" and why: short, for the text report's one line; long, the trend's own sentence.
 */
export function formatTrend(trend: MemoryTrend, detail: 'short' | 'long'): string {
  const confidence = `${Math.round(trend.confidence * 100)} %`;
  const iv = trend.intervalBytesPerMin;
  if (trend.status !== 'unknown' && iv && trend.bytesPerMin !== null) {
    return `${rateGroup(trend.bytesPerMin, (iv.high - iv.low) / 2, false)} (${confidence})`;
  }
  if (detail === 'long')
    return `not enough time to tell: ${trend.reason}${iv ? ` (${rateGroup(iv.low, iv.high, true)} at ${confidence})` : ''}`;
  // Whole seconds rounded down: an 11.6 s window reads "11 s, needs 12 s", never "12 s, needs 12 s".
  const windowS = Math.floor(trend.windowS + 1e-6);
  switch (trend.reasonCode) {
    case 'zero':
      if (iv) return `not enough time to tell (${rateGroup(iv.low, iv.high, true)} at ${confidence})`;
      break;
    case 'small': {
      const moved = Math.abs(trend.bytesPerMin ?? 0) * (trend.windowS / 60);
      const swing = trend.swingBytes ?? 0;
      return swing > TREND_MIN_CHANGE_BYTES
        ? `not enough time to tell (moved ${formatBytes(moved)}, swings ${formatBytes(swing)})`
        : `not enough time to tell (moved < 1 MiB in ${windowS} s)`;
    }
    case 'levelled':
      return 'not enough time to tell (levelled off)';
    case 'samples':
      return `not enough time to tell (${trend.samples} samples)`;
  }
  return `not enough time to tell (${windowS} s window, needs ${TREND_MIN_WINDOW_S} s)`;
}
