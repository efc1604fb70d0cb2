// Prometheus text for every target at once: one family per metric (one HELP/TYPE) with each
// series labelled by its target. The SDK's PrometheusSerializer writes the text; this adapter only
// merges the targets' ResourceMetrics and applies the OTel→Prometheus unit suffixes that the JS
// serializer does not add (opentelemetry-js #3466).
import type { Attributes } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { emptyResource } from '@opentelemetry/resources';
import { DataPointType, type MetricData, type ResourceMetrics } from '@opentelemetry/sdk-metrics';

/** OTel unit → Prometheus suffix (compatibility spec); annotations in braces have none. */
const UNIT_SUFFIX: Record<string, string> = {
  s: 'seconds',
  ms: 'milliseconds',
  us: 'microseconds',
  ns: 'nanoseconds',
  By: 'bytes',
  KiBy: 'kibibytes',
  MiBy: 'mebibytes',
  '%': 'percent',
};

export function prometheusName(name: string, unit: string, dataPointType: DataPointType): string {
  let base = name.replace(/[^a-zA-Z0-9_:]/g, '_').replace(/_+/g, '_');
  // Prometheus reserves _count for histograms and summaries (promtool rejects a gauge named
  // process_thread_count): such semconv gauges are exposed by their plural instead.
  if (base.endsWith('_count') && dataPointType !== DataPointType.HISTOGRAM) base = `${base.slice(0, -'_count'.length)}s`;
  let suffix = UNIT_SUFFIX[unit];
  if (unit === '1' && dataPointType === DataPointType.GAUGE) suffix = 'ratio';
  if (!suffix || base.endsWith(`_${suffix}`)) return base;
  return `${base}_${suffix}`;
}

export interface LabelledMetrics {
  resourceMetrics: ResourceMetrics;
  /** labels that identify the target on every series */
  labels: Attributes;
}

/** Folds several targets' metrics into one ResourceMetrics with one MetricData per name; `common`
 * labels every series, beneath the part's own labels and the point's attributes. */
export function mergeTargets(parts: LabelledMetrics[], common: Attributes = {}): ResourceMetrics {
  const byName = new Map<string, MetricData>();
  for (const { resourceMetrics, labels } of parts) {
    for (const scope of resourceMetrics.scopeMetrics) {
      for (const metric of scope.metrics) {
        const name = prometheusName(metric.descriptor.name, metric.descriptor.unit, metric.dataPointType);
        const points = metric.dataPoints.map((p) => ({ ...p, attributes: { ...common, ...p.attributes, ...labels } }));
        const existing = byName.get(name);
        if (existing) {
          (existing.dataPoints as unknown[]).push(...points);
        } else {
          // The unit now lives in the name; an empty unit keeps the serializer from writing a
          // '# UNIT' comment, which is OpenMetrics and not part of the 0.0.4 text format.
          byName.set(name, { ...metric, descriptor: { ...metric.descriptor, name, unit: '' }, dataPoints: points } as MetricData);
        }
      }
    }
  }
  const metrics = [...byName.values()].filter((m) => m.dataPoints.length > 0);
  return { resource: emptyResource(), scopeMetrics: [{ scope: { name: 'rtprof' }, metrics }] };
}

export class PrometheusRenderer {
  // No scope labels and no target_info: targets are told apart by their own labels, and
  // rtprof_target_info carries their identity.
  private readonly serializer = new PrometheusSerializer('', false, undefined, true, true);

  /** @param common labels on every series (the agent's OTEL_RESOURCE_ATTRIBUTES) */
  constructor(private readonly common: Attributes = {}) {}

  render(parts: LabelledMetrics[]): string {
    return this.serializer.serialize(mergeTargets(parts, this.common));
  }
}

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';
