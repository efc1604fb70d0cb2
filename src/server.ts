// The agent's HTTP surface: /metrics (Prometheus text), /healthz, /api/targets. Built apart from
// listen() so tests can inject requests.
import * as net from 'node:net';
import * as os from 'node:os';
import Fastify, { type FastifyInstance } from 'fastify';
import { PROMETHEUS_CONTENT_TYPE } from '../exporters/prometheus';

export interface ServerDeps {
  renderMetrics: () => Promise<string>;
  targets: () => unknown[];
  health: () => Record<string, unknown>;
  /** `--api-host`: more names /api/* answers to (exact, or `*.suffix`), lower case */
  apiHosts?: readonly string[];
}

function matchesApiHost(name: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => (p.startsWith('*.') ? name.endsWith(p.slice(1)) && name.length > p.length - 1 : name === p));
}

/**
 * Whether a Host header names this machine: an IP literal, localhost, or its hostname. A web page
 * on another name that rebinds its DNS to 127.0.0.1 sends its own name, and is refused /api/*
 * (which tells pids, users and command lines).
 */
export function isLocalHostHeader(header: string | undefined, apiHosts: readonly string[] = []): boolean {
  if (!header) return true; // HTTP/1.0 clients and curl --header 'Host:' send none; a browser always does
  const host = header.startsWith('[') ? header.slice(1, header.indexOf(']')) : header.replace(/:\d*$/, '');
  const name = host.toLowerCase().replace(/\.$/, '');
  if (net.isIP(name) !== 0) return true;
  if (name === 'localhost' || name.endsWith('.localhost')) return true;
  if (matchesApiHost(name, apiHosts)) return true;
  const own = os.hostname().toLowerCase();
  return name === own || name === own.split('.')[0];
}

export function buildServer(deps: ServerDeps): FastifyInstance {
  const app = Fastify({ logger: false });
  const apiHosts = (deps.apiHosts ?? []).map((h) => h.toLowerCase().replace(/\.$/, ''));
  app.addHook('onRequest', async (req, reply) => {
    if (req.url.startsWith('/api/') && !isLocalHostHeader(req.headers.host, apiHosts)) {
      return reply
        .code(403)
        .type('text/plain')
        .send(
          `rtprof: /api/* answers only to an IP address, localhost, this host's name or an --api-host name; add --api-host <name> to allow one\n`,
        );
    }
    return undefined;
  });
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

/** The URL the server really listens on (Fastify names 127.0.0.1 for a 0.0.0.0 bind). */
export function boundUrl(app: FastifyInstance): string {
  const addr = app.server.address();
  if (!addr || typeof addr === 'string') return String(addr);
  const host = addr.address.includes(':') ? `[${addr.address}]` : addr.address;
  return `http://${host}:${addr.port}`;
}
