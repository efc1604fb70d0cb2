// The agent's own resource attributes, from OTEL_RESOURCE_ATTRIBUTES (OpenTelemetry's SDK
// configuration): a deployment says where the agent runs (the Kubernetes manifests fill
// k8s.node.name and the pod's identity from the downward API), and every target carries them
// beneath its own attributes, on its OTLP resource and as Prometheus labels.

export interface EnvResourceAttributes {
  attributes: Record<string, string>;
  /** why the variable was ignored, when it was */
  error?: string;
}

/**
 * Parses `key1=value1,key2=value2` (values percent-encoded, as the specification's W3C Baggage
 * format has them). On any malformed pair the whole value is discarded, as the specification asks,
 * so a half-read list never labels some series and not others.
 */
export function parseResourceAttributes(text: string | undefined): EnvResourceAttributes {
  const attributes: Record<string, string> = {};
  if (!text || !text.trim()) return { attributes };
  for (const raw of text.split(',')) {
    const pair = raw.trim();
    if (!pair) continue;
    const eq = pair.indexOf('=');
    const key = eq < 0 ? '' : pair.slice(0, eq).trim();
    if (!key) return { attributes: {}, error: `'${pair}' is not key=value` };
    try {
      attributes[key] = decodeURIComponent(pair.slice(eq + 1).trim());
    } catch {
      return { attributes: {}, error: `the value of '${key}' is not percent-encoded` };
    }
  }
  return { attributes };
}
