#!/usr/bin/env node
'use strict';
// The Node sample service (Fastify). Same endpoints and response shapes as python/asyncio_app.py
// and python/threaded_app.py:
//
//   GET /json                     parse + aggregate + re-serialize a ~10 KB order document
//   GET /io?ms=N                  wait N ms on the downstream (GET DOWNSTREAM_URL/delay?ms=N)
//   GET /cpu?ms=N                 compute on the event loop for N ms (wall clock)
//   GET /mixed?cpu_ms=C&io_ms=I   compute C ms, then wait I ms on the downstream
//   GET /healthz                  {"status":"ok","runtime":"nodejs","pid":..}
//   GET /offload?ms=N             Node only: /cpu's compute for N ms in a worker_threads pool
//                                 (POOL_SIZE workers, default 2, started on the first call)
//
// /io, /cpu, /mixed and /offload answer {"endpoint","cpu_ms","io_ms","iterations","elapsed_ms"}.
// PORT (default 3000; 0 = free port), HOST (default 127.0.0.1), DOWNSTREAM_URL (default
// http://127.0.0.1:3999), or --port/--host/--downstream. Prints one line when ready:
// READY pid=<pid> port=<port> runtime=nodejs. SIGTERM/SIGINT: close and exit 0.
const http = require('node:http');
const { performance } = require('node:perf_hooks');
const Fastify = require('fastify');
const { jsonRoundTrip } = require('./payload.js');
const { burn, createPool } = require('./cpu-pool.js');

function flag(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : undefined;
}

const PORT = Number(flag('port') ?? process.env.PORT ?? 3000);
const HOST = flag('host') ?? process.env.HOST ?? '127.0.0.1';
const DOWNSTREAM = new URL(flag('downstream') ?? process.env.DOWNSTREAM_URL ?? 'http://127.0.0.1:3999');
const MAX_MS = 60000;

// One pooled keep-alive agent for every downstream call.
const agent = new http.Agent({ keepAlive: true, maxSockets: Infinity, maxFreeSockets: 256 });

class BadRequest extends Error {}
class DownstreamError extends Error {}

function msParam(query, name, dflt) {
  const raw = query[name];
  if (raw === undefined || raw === '') return dflt;
  if (typeof raw !== 'string' || !/^\d+$/.test(raw) || Number(raw) > MAX_MS) {
    throw new BadRequest(`${name} must be an integer between 0 and ${MAX_MS}`);
  }
  return Number(raw);
}

function downstreamOnce(ms) {
  return new Promise((resolve, reject) => {
    const req = http.get({ agent, hostname: DOWNSTREAM.hostname, port: DOWNSTREAM.port || 80, path: `/delay?ms=${ms}` }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (body += d));
      res.on('end', () => (res.statusCode === 200 ? resolve(body) : reject(new DownstreamError(`downstream answered ${res.statusCode}`))));
      res.on('error', reject);
    });
    req.on('error', (err) => {
      err.reusedSocket = req.reusedSocket;
      reject(err);
    });
  });
}

/** GET /delay?ms=N on the downstream; one retry when a pooled connection turned out closed. */
async function downstream(ms) {
  try {
    return await downstreamOnce(ms);
  } catch (err) {
    if (err.reusedSocket && (err.code === 'ECONNRESET' || err.code === 'EPIPE')) return downstreamOnce(ms);
    throw err;
  }
}

const round3 = (x) => Math.round(x * 1000) / 1000;

const app = Fastify({ logger: false, exposeHeadRoutes: false });

app.setNotFoundHandler((request, reply) => {
  reply.code(404).send({ error: 'not found' });
});
app.setErrorHandler((err, request, reply) => {
  if (err instanceof BadRequest) return reply.code(400).send({ error: err.message });
  if (err instanceof DownstreamError || err.code) return reply.code(502).send({ error: `downstream: ${err.message}` });
  return reply.code(500).send({ error: String(err.message ?? err) });
});

app.get('/healthz', async () => ({ status: 'ok', runtime: 'nodejs', pid: process.pid }));

app.get('/json', async (request, reply) => {
  reply.header('content-type', 'application/json; charset=utf-8');
  return jsonRoundTrip();
});

app.get('/io', async (request) => {
  const ms = msParam(request.query, 'ms', 50);
  const t0 = performance.now();
  await downstream(ms);
  return { endpoint: 'io', cpu_ms: 0, io_ms: ms, iterations: 0, elapsed_ms: round3(performance.now() - t0) };
});

app.get('/cpu', async (request) => {
  const ms = msParam(request.query, 'ms', 10);
  const t0 = performance.now();
  const iterations = burn(ms);
  return { endpoint: 'cpu', cpu_ms: ms, io_ms: 0, iterations, elapsed_ms: round3(performance.now() - t0) };
});

app.get('/mixed', async (request) => {
  const cpuMs = msParam(request.query, 'cpu_ms', 10);
  const ioMs = msParam(request.query, 'io_ms', 50);
  const t0 = performance.now();
  const iterations = burn(cpuMs);
  await downstream(ioMs);
  return { endpoint: 'mixed', cpu_ms: cpuMs, io_ms: ioMs, iterations, elapsed_ms: round3(performance.now() - t0) };
});

// The pool starts on the first /offload, so the service has no extra threads unless it is used.
let pool = null;
const POOL_SIZE = Math.max(1, Math.min(Number(process.env.POOL_SIZE) || 2, 64));

app.get('/offload', async (request) => {
  const ms = msParam(request.query, 'ms', 10);
  const t0 = performance.now();
  if (!pool) pool = createPool(POOL_SIZE);
  const iterations = await pool.run(ms);
  return { endpoint: 'offload', cpu_ms: ms, io_ms: 0, iterations, elapsed_ms: round3(performance.now() - t0) };
});

let stopping = false;
function stop() {
  if (stopping) return;
  stopping = true;
  setTimeout(() => process.exit(0), 3000).unref();
  app.close().then(
    () => {
      agent.destroy();
      process.exit(0);
    },
    () => process.exit(0),
  );
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);

app.listen({ port: PORT, host: HOST }).then(
  () => {
    process.stdout.write(`READY pid=${process.pid} port=${app.server.address().port} runtime=nodejs\n`);
  },
  (err) => {
    process.stderr.write(`sample-apps/node: cannot listen on ${HOST}:${PORT}: ${err.message}\n`);
    process.exit(1);
  },
);
