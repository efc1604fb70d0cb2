// Durations on the command line: 500ms, 10s, 2m, 1h (a bare number is seconds).
export const DURATION_FORMS = '500ms, 10s, 2m, 1h';

export function parseDurationMs(text: string): number | undefined {
  const match = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!match) return undefined;
  const value = Number(match[1]);
  const unit = match[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  const ms = value * factor;
  return ms > 0 && Number.isFinite(ms) ? ms : undefined;
}
