// `rtprof agent`: the watcher, one MeterProvider per target, the Prometheus endpoint and OTLP.
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import type { FastifyInstance } from 'fastify';
import { createOtlpReader, reportOtlpErrorsTo } from '../exporters/otlp';
import { PrometheusRenderer, type LabelledMetrics } from '../exporters/prometheus';
import { errors } from './errors';
import { AGENT } from './metrics/instruments';
import { parseResourceAttributes } from './metrics/resourceEnv';
import { containerAttributes, PullReader, SCOPE_NAME, TargetMeters } from './metrics/targetMeters';
import { boundUrl, buildServer } from './server';
import type { Target } from './target';
import { Watcher, type WatcherOptions } from './watcher';

export interface AgentOptions extends WatcherOptions {
  pids: number[];
  host: string;
  port: number;
  otlp: string | undefined;
  withCommandLine: boolean;
  /** `--api-host`: more Host names /api/* answers to (a Kubernetes Service's DNS name) */
  apiHosts?: string[];
}

const RENDER_REUSE_MS = 1000;

export class Agent {
  readonly watcher: Watcher;
  private readonly meters = new Map<string, TargetMeters>();
  private readonly renderer: PrometheusRenderer;
  /** OTEL_RESOURCE_ATTRIBUTES: on every target, beneath the target's own attributes */
  private readonly resourceAttributes: Record<string, string>;
  private readonly agentReader = new PullReader();
  private readonly agentProvider: MeterProvider;
  private server: FastifyInstance | undefined;
  private readonly startedAt = Date.now();
  /** Bumped whenever what a scrape shows may have changed (a tick, a snapshot, a target). */
  private generation = 0;
  private rendered: { generation: number; at: number; text: Promise<string> } | undefined;

  constructor(readonly options: AgentOptions) {
    this.watcher = new Watcher(options);
    const fromEnv = parseResourceAttributes(process.env.OTEL_RESOURCE_ATTRIBUTES);
    if (fromEnv.error) options.log(`OTEL_RESOURCE_ATTRIBUTES ignored: ${fromEnv.error} (expected key1=value1,key2=value2)`);
    this.resourceAttributes = fromEnv.attributes;
    this.renderer = new PrometheusRenderer(this.resourceAttributes);
    this.watcher.on('added', (t) => this.onAdded(t));
    this.watcher.on('removed', (t) => this.onRemoved(t));
    this.watcher.on('snapshot', (t, snap) => this.meters.get(t.key)?.recordSnapshot(snap));
    for (const event of ['tick', 'snapshot', 'added', 'removed'] as const) this.watcher.on(event, () => this.generation++);
    if (options.otlp) reportOtlpErrorsTo(options.log);
    this.agentProvider = new MeterProvider({ readers: [this.agentReader] });
    const meter = this.agentProvider.getMeter(SCOPE_NAME);
    const dropped = meter.createObservableCounter(AGENT.channelDropped.name, {
      unit: AGENT.channelDropped.unit,
      description: AGENT.channelDropped.description,
    });
    const targets = meter.createObservableUpDownCounter(AGENT.targets.name, {
      unit: AGENT.targets.unit,
      description: AGENT.targets.description,
    });
    dropped.addCallback((result) => {
      for (const [reason, count] of Object.entries(this.watcher.channel.droppedCounts())) result.observe(count, { reason });
    });
    targets.addCallback((result) => result.observe(this.watcher.targets.size));
  }

  /** Starts watching, then listens. Returns the URL it serves on. */
  async start(): Promise<string> {
    await this.watcher.start();
    for (const pid of this.options.pids) {
      try {
        this.watcher.watchPid(pid, { tree: true });
      } catch (err) {
        // One bad pid is one line; the agent keeps serving the others.
        this.options.log(`error: ${(err as Error).message}`);
      }
    }
    this.server = buildServer({
      apiHosts: this.options.apiHosts,
      renderMetrics: () => this.renderShared(),
      targets: () => [...this.watcher.targets.values()].map((t) => t.toJSON()),
      health: () => ({
        targets: this.watcher.targets.size,
        uptimeS: Math.round((Date.now() - this.startedAt) / 1000),
        socket: this.watcher.channel.socketPath,
      }),
    });
    try {
      await this.server.listen({ host: this.options.host, port: this.options.port });
      return boundUrl(this.server);
    } catch (err) {
      await this.stop();
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'EADDRINUSE') throw errors.portInUse(this.options.host, String(this.options.port));
      throw errors.listenFailed(this.options.host, String(this.options.port), (err as Error).message);
    }
  }

  /**
   * A burst of scrapes (HA Prometheus pairs, many dashboards) shares one render while nothing has
   * changed: rendering collects every target, and 100 renders in a row queued scrapes for seconds.
   * At most RENDER_REUSE_MS old, as cgroup files are read at render time.
   */
  private renderShared(): Promise<string> {
    const now = Date.now();
    const last = this.rendered;
    if (last && last.generation === this.generation && now - last.at < RENDER_REUSE_MS) return last.text;
    const text = this.renderMetrics();
    const entry = { generation: this.generation, at: now, text };
    this.rendered = entry;
    text.catch(() => {
      if (this.rendered === entry) this.rendered = undefined;
    });
    return text;
  }

  async renderMetrics(): Promise<string> {
    const parts: LabelledMetrics[] = [];
    for (const target of this.watcher.targets.values()) {
      const meters = this.meters.get(target.key);
      if (!meters || !target.lastProc) continue;
      const resourceMetrics = await meters.collect();
      const id = target.identity;
      parts.push({
        resourceMetrics,
        // process.parent_pid and one service.name for a whole tree let PromQL sum a service.
        labels: {
          'process.pid': id.pid,
          'service.name': target.serviceName,
          'process.runtime.name': id.runtime,
          'process.parent_pid': id.ppid,
          ...containerAttributes(target.container.identity),
        },
      });
    }
    const { resourceMetrics } = await this.agentReader.collect();
    parts.push({ resourceMetrics, labels: {} });
    return this.renderer.render(parts);
  }

  private onAdded(target: Target): void {
    const readers = this.options.otlp ? [createOtlpReader(this.options.otlp, this.options.intervalMs)] : [];
    this.meters.set(target.key, new TargetMeters(target, readers, this.options.withCommandLine, this.resourceAttributes));
  }

  private onRemoved(target: Target): void {
    const meters = this.meters.get(target.key);
    this.meters.delete(target.key);
    // Shutting down flushes the OTLP reader once more; its failure must not reach the agent.
    meters?.shutdown().catch(() => undefined);
  }

  async stop(): Promise<void> {
    await this.server?.close().catch(() => undefined);
    await this.watcher.stop();
    await Promise.allSettled([...this.meters.values()].map((m) => m.shutdown()));
    await this.agentProvider.shutdown().catch(() => undefined);
  }
}
