#!/usr/bin/env node
'use strict';
// The Node sample service behind node:cluster: a primary that forks WORKERS copies of server.js
// (default 2) sharing one listening port. The primary only distributes connections (Node's
// default round-robin scheduling on Linux) and serves nothing itself.
//
// Same config as server.js (PORT, HOST, DOWNSTREAM_URL or the flags, which the workers inherit),
// plus WORKERS or --workers N. Prints one line once every worker listens:
// READY pid=<primary pid> port=<port> runtime=nodejs. SIGTERM/SIGINT: each worker closes as
// server.js does (in-flight requests get up to 3 s), then the primary exits 0. A worker that dies
// is not replaced: this is a benchmark target, not a supervisor.
const cluster = require('node:cluster');
const { join } = require('node:path');

function flag(name) {
  const i = process.argv.indexOf(`--${name}`);
  if (i !== -1 && i + 1 < process.argv.length) return process.argv[i + 1];
  const eq = process.argv.find((a) => a.startsWith(`--${name}=`));
  return eq ? eq.slice(name.length + 3) : undefined;
}

const WORKERS = Number(flag('workers') ?? process.env.WORKERS ?? 2);
if (!Number.isInteger(WORKERS) || WORKERS < 1 || WORKERS > 64) {
  process.stderr.write(`sample-apps/node/cluster.js: WORKERS must be an integer in 1-64, got ${flag('workers') ?? process.env.WORKERS}\n`);
  process.exit(2);
}

// silent: the workers' stdout comes here, so their own READY lines are read, not printed (the
// contract is one READY line, the primary's); their stderr is passed through.
cluster.setupPrimary({ exec: join(__dirname, 'server.js'), args: process.argv.slice(2), silent: true });

const ports = new Map();
let stopping = false;
let ready = false;

for (let i = 0; i < WORKERS; i++) {
  const worker = cluster.fork();
  let out = '';
  worker.process.stderr.pipe(process.stderr);
  worker.process.stdout.on('data', (d) => {
    out += d.toString();
    const m = /READY pid=(\d+) port=(\d+)/.exec(out);
    if (!m || ports.has(worker.id)) return;
    ports.set(worker.id, Number(m[2]));
    if (ports.size === WORKERS && !ready) {
      ready = true;
      // In a cluster every worker's listen(0) gets the same port, chosen by the primary.
      process.stdout.write(`READY pid=${process.pid} port=${ports.values().next().value} runtime=nodejs\n`);
    }
  });
}

cluster.on('exit', (worker, code, signal) => {
  if (!stopping)
    process.stderr.write(`sample-apps/node/cluster.js: worker ${worker.process.pid} exited (${signal ?? code}); not replaced\n`);
  if (Object.keys(cluster.workers).length === 0) process.exit(stopping ? 0 : 1);
});

function stop() {
  if (stopping) return;
  stopping = true;
  for (const worker of Object.values(cluster.workers)) worker.process.kill('SIGTERM');
  // server.js gives in-flight requests 3 s; past that, do not wait for a stuck worker.
  setTimeout(() => process.exit(0), 4000).unref();
}
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
