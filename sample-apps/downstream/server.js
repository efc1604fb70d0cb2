#!/usr/bin/env node
'use strict';
// The sample apps' downstream: a plain-Node HTTP service (no dependencies) that answers after a
// timer, so the apps' /io endpoints wait on a real socket.
//
//   GET /delay?ms=N  -> after N ms: {"delayed_ms":N}
//   GET /stats       -> {"connections":..,"open_connections":..,"requests":..}
//   GET /healthz     -> {"status":"ok","runtime":"nodejs","pid":..}
//
// PORT (default 3999; 0 picks a free port), HOST (default 127.0.0.1), or --port/--host.
// Prints one line when ready: READY pid=<pid> port=<port> runtime=nodejs. SIGTERM/SIGINT: exit 0.
const http = require('node:http');

function flag(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : undefined;
}

const PORT = Number(flag('port') ?? process.env.PORT ?? 3999);
const HOST = flag('host') ?? process.env.HOST ?? '127.0.0.1';
const MAX_MS = 60000;

let connections = 0;
let open = 0;
let requests = 0;

function send(res, status, obj) {
  const body = JSON.stringify(obj);
  res.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

const server = http.createServer((req, res) => {
  requests++;
  const url = new URL(req.url ?? '/', 'http://x');
  if (req.method !== 'GET') return send(res, 404, { error: 'not found' });
  if (url.pathname === '/delay') {
    const raw = url.searchParams.get('ms') ?? '0';
    const ms = /^\d+$/.test(raw) ? Number(raw) : NaN;
    if (!(ms >= 0 && ms <= MAX_MS)) return send(res, 400, { error: `ms must be an integer between 0 and ${MAX_MS}` });
    const timer = setTimeout(() => send(res, 200, { delayed_ms: ms }), ms);
    res.on('close', () => clearTimeout(timer));
    return undefined;
  }
  if (url.pathname === '/stats') return send(res, 200, { connections, open_connections: open, requests });
  if (url.pathname === '/healthz') return send(res, 200, { status: 'ok', runtime: 'nodejs', pid: process.pid });
  return send(res, 404, { error: 'not found' });
});
// Callers pool keep-alive connections: keep idle ones open longer than any caller does.
server.keepAliveTimeout = 65_000;
server.headersTimeout = 66_000;
server.on('connection', (socket) => {
  connections++;
  open++;
  socket.on('close', () => open--);
});

server.listen(PORT, HOST, () => {
  process.stdout.write(`READY pid=${process.pid} port=${server.address().port} runtime=nodejs\n`);
});

function stop() {
  server.close(() => process.exit(0));
  server.closeIdleConnections();
  setTimeout(() => {
    server.closeAllConnections();
    process.exit(0);
  }, 2000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
