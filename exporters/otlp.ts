// OTLP/HTTP push, one PeriodicExportingMetricReader per target (each target is its own Resource,
// so each has its own MeterProvider and its own reader). Export failures are reported through
// the agent's log, at most once a minute, and never stop collection.
import { setGlobalErrorHandler } from '@opentelemetry/core';
import { PeriodicExportingMetricReader } from '@opentelemetry/sdk-metrics';

export function otlpMetricsUrl(base: string): string {
  const trimmed = base.replace(/\/+$/, '');
  return trimmed.endsWith('/v1/metrics') ? trimmed : `${trimmed}/v1/metrics`;
}

export function createOtlpReader(baseUrl: string, intervalMs: number): PeriodicExportingMetricReader {
  // Loaded on first use: an agent without --otlp does not carry the exporter (a few MB of RSS).
  const { OTLPMetricExporter } =
    require('@opentelemetry/exporter-metrics-otlp-http') as typeof import('@opentelemetry/exporter-metrics-otlp-http');
  return new PeriodicExportingMetricReader({
    exporter: new OTLPMetricExporter({ url: otlpMetricsUrl(baseUrl) }),
    exportIntervalMillis: intervalMs,
    exportTimeoutMillis: Math.min(intervalMs, 10_000),
  });
}

let lastReportMs = 0;
/** Routes SDK export errors to one log line a minute instead of a stack per failure. */
export function reportOtlpErrorsTo(log: (line: string) => void): void {
  setGlobalErrorHandler((err) => {
    const now = Date.now();
    if (now - lastReportMs < 60_000) return;
    lastReportMs = now;
    const message = err instanceof Error ? err.message : String(err);
    log(`otlp export failed: ${message.split('\n')[0]} (retrying each interval; next report in 1 min)`);
  });
}
