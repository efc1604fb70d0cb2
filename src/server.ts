// The agent's HTTP surface: /metrics (Prometheus text), /healthz, /api/targets. Built apart from
// listen() so tests can inject requests.
import Fastify, { type FastifyInstance } from 'fastify';
import { PROMETHEUS_CONTENT_TYPE } from '../exporters/prometheus';

export interface ServerDeps {
  renderMetrics: () => Promise<string>;
  targets: () => unknown[];
  health: () => Record<string, unknown>;
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  app.get('/metrics', async (_req, reply) => {
    const text = await deps.renderMetrics();
    return reply.type(PROMETHEUS_CONTENT_TYPE).send(text);
  });
  app.get('/healthz', async () => ({ status: 'ok', ...deps.health() }));
  app.get('/api/targets', async () => deps.targets());
  app.get('/', async (_req, reply) =>
    reply
      .type('text/plain')
      .send('rtprof agent\n  /metrics      Prometheus text format\n  /healthz      health\n  /api/targets  watched targets (JSON)\n'),
  );
  return app;
}
