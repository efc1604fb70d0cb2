'use strict';
// rtprof Node probe: runs inside the target and pushes one snapshot per interval (event-loop delay
// and utilization, GC pauses, heap spaces, active resources, HTTP work in flight; the same loop and
// GC figures for each worker thread, workers.js) to the agent's
// unix socket as NDJSON (docs/PROTOCOL.md; the connection is link.js's, the HTTP work tracker work.js's). The same file is preloaded (`--require`, NODE_OPTIONS;
// configured by RTPROF_* env) or injected through the inspector (`require(this).start(config)`).
//
// Compatibility floor: Node 18. Plain CommonJS, no dependencies.
// It is a guest in someone else's process: every timer and socket is unref()ed, every callback is
// guarded, nothing is thrown into the host, and everything stops on `bye` or after 10 minutes
// without an agent.

const PROBE_VERSION = '0.1.0';
const STATE_KEY = Symbol.for('rtprof.probe');
const FIRST_SNAPSHOT_MS = 200;
// Agents a probe remembers to go back to when the one that took it over leaves.
const MAX_EARLIER_AGENTS = 4;
// Delay sampling resolution. Measured (idle process, Node 20, native monitor): 10 ms costs ~3.5 ms
// CPU/s and reads a 100 ms block as 90..100 ms (the block can start up to one resolution after the
// last tick); 5 ms costs ~6 ms CPU/s and reads 95..100 ms; 1 ms costs ~22 ms CPU/s.
const DEFAULT_RESOLUTION_MS = 5;
const ENV_KEYS = [
  'RTPROF_SOCKET',
  'RTPROF_TOKEN',
  'RTPROF_INTERVAL_MS',
  'RTPROF_ATTACH',
  'RTPROF_RESOLUTION_MS',
  'RTPROF_HTTP',
  'RTPROF_GC',
  'RTPROF_WORKERS',
];
// A snapshot line stays under the agent's limit (MAX_LINE_BYTES, 64 KiB) with room to spare: worker
// entries are trimmed to fit (see fitLine).
const MAX_LINE_CHARS = 60 * 1024;
// How long a snapshot waits for the worker threads' answers, at most.
const WORKER_WAIT_MS = 100;

const sampling = require('./sampler');
const guard = sampling.guard;
const later = sampling.later;
const createSampler = sampling.createSampler;
const createWorkerWatch = require('./workers').createWorkerWatch;
const createWorkTracker = require('./work').createWorkTracker;
const link = require('./link');
const createLink = link.createLink;
const GIVE_UP_MS = link.GIVE_UP_MS;

function positiveNumber(value, fallback) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** One probe per process, whatever copy of this file loaded first (Symbol.for is process-wide). */
function state() {
  let s = globalThis[STATE_KEY];
  if (!s) {
    s = { running: false, config: null, version: PROBE_VERSION };
    Object.defineProperty(globalThis, STATE_KEY, { value: s, enumerable: false, configurable: true });
  }
  return s;
}

// ---- lifecycle -----------------------------------------------------------------------------------

// delay monitor records a block that ended just before (see createSampler).
function tick(s) {
  // Worker threads are watched from the first tick, not from start(): start() can run inside the
  // attacher's inspector evaluation, where opening another session would nest inspector dispatch.
  if (s.config.workers !== false && !s.workers) s.workers = createWorkerWatch(workerConfig(s.config));
  const sampler = s.sampler;
  const workers = s.workers;
  if (workers) workers.request();
  sampler.settle(() => {
    if (!s.running || s.sampler !== sampler) return;
    // The main thread's figures are taken now; the snapshot waits a little for the workers' answers
    // (a worker busy past that answers into the next snapshot).
    const main = sampler.sample();
    const began = Date.now();
    const send = () => {
      if (!s.running || s.sampler !== sampler) return;
      if (workers && s.workers === workers && workers.outstanding() > 0 && Date.now() - began < WORKER_WAIT_MS) {
        const t = setTimeout(guard(send), 10);
        t.unref();
        return;
      }
      emit(s, main);
    };
    send();
  });
}

function emit(s, sample) {
  const snapshot = {
    v: 1,
    type: 'snapshot',
    pid: process.pid,
    seq: ++s.seq,
    t: Date.now(),
    intervalMs: s.config.intervalMs,
    eventLoop: sample.eventLoop,
    gc: sample.gc,
    gcTotals: sample.gcTotals,
    heap: sample.heap,
  };
  if (sample.resources) snapshot.resources = sample.resources;
  if (s.work) {
    const work = s.work.sample();
    // The loop's idle time while work was in flight goes with the loop's other idle/active times.
    if (work.idleBusyMs !== undefined && snapshot.eventLoop) snapshot.eventLoop.idleBusyS = work.idleBusyMs / 1000;
    if (work.idleRequestMs !== undefined && snapshot.eventLoop) snapshot.eventLoop.idleRequestS = work.idleRequestMs / 1000;
    delete work.idleBusyMs;
    delete work.idleRequestMs;
    snapshot.work = work;
  }
  snapshot.dropped = s.dropped + sample.gcDropped;
  if (s.workers) {
    const w = s.workers.collect();
    if (w.workers.length > 0) snapshot.workers = w.workers;
    if (w.unavailable) snapshot.workersUnavailable = w.unavailable;
  }
  s.link.send(fitLine(snapshot));
}

function workerConfig(c) {
  return { intervalMs: c.intervalMs, resolutionMs: c.resolutionMs, gc: c.gc };
}

/** The snapshot as one line under MAX_LINE_CHARS: workers' GC pauses go first, then whole workers. */
function fitLine(snapshot) {
  let line = JSON.stringify(snapshot);
  const workers = snapshot.workers;
  if (line.length <= MAX_LINE_CHARS || !workers) return line;
  for (let i = 0; i < workers.length; i++) {
    const w = workers[i];
    if (w.gc && w.gc.length > 0) {
      w.dropped = (w.dropped || 0) + w.gc.length;
      w.gc = [];
    }
  }
  line = JSON.stringify(snapshot);
  while (line.length > MAX_LINE_CHARS && workers.length > 0) {
    workers.length = Math.floor(workers.length / 2);
    line = JSON.stringify(snapshot);
  }
  return line;
}

function startTimer(s) {
  if (s.timer) clearInterval(s.timer);
  s.timer = setInterval(
    guard(() => tick(s)),
    s.config.intervalMs,
  );
  s.timer.unref();
}

function normalize(config) {
  const c = config || {};
  if (typeof c.socket !== 'string' || c.socket === '') throw new Error('rtprof probe: config.socket is required');
  if (typeof c.token !== 'string' || c.token === '') throw new Error('rtprof probe: config.token is required');
  return {
    socket: c.socket,
    token: c.token,
    intervalMs: Math.max(positiveNumber(c.intervalMs, 1000), 50),
    attach: typeof c.attach === 'string' ? c.attach : 'preload',
    resolutionMs: Math.max(Math.round(positiveNumber(c.resolutionMs, DEFAULT_RESOLUTION_MS)), 1),
    // How long this agent may be unreachable before the probe leaves it (back to an earlier agent,
    // or stops): 10 minutes unless the attacher says otherwise (tests do, to see it happen).
    giveUpMs: Math.max(positiveNumber(c.giveUpMs, GIVE_UP_MS), 1000),
    // false, 0 or '0': no HTTP hooks (the agent's default unless `--http`): no request counts or busy time.
    http: !(c.http === false || c.http === 0 || c.http === '0'),
    // false, 0 or '0': no GC pause watching (`--no-gc-pauses`): no GC callback in this process.
    gc: !(c.gc === false || c.gc === 0 || c.gc === '0'),
    // false, 0 or '0': worker threads are not watched (no in-process inspector session).
    workers: !(c.workers === false || c.workers === 0 || c.workers === '0'),
  };
}

/**
 * The current agent said bye, or has been gone for its giveUpMs (10 min): go back to the agent this one took
 * over from (a `rtprof profile` run on a process a sidecar agent watches), else stop for good.
 */
function leaveAgent(s) {
  const back = s.earlier && s.earlier.pop();
  if (back && s.apply) s.apply(back);
  else stopProbe();
}

function stopProbe() {
  const s = state();
  if (!s.running) return;
  s.running = false;
  if (s.timer) clearInterval(s.timer);
  s.timer = null;
  if (s.link) s.link.stop();
  if (s.sampler) s.sampler.stop();
  if (s.work) s.work.stop();
  if (s.workers) s.workers.stop();
  s.link = s.sampler = s.work = s.workers = null;
  s.config = null;
  s.earlier = [];
}

/**
 * Starts the probe, or, if one already runs in this process, points it at the new socket/token.
 * config: { socket, token, intervalMs?, attach?, resolutionMs?, http?, gc?, workers?, giveUpMs? }.
 * Returns { ok: true, state: 'started' | 'switched', pid, probeVersion } or { ok: false, error }.
 */
function start(config) {
  try {
    const cfg = normalize(config);
    const s = state();
    if (s.running && s.switchTo) return s.switchTo(cfg);
    if (!require('worker_threads').isMainThread) return { ok: false, error: 'not the main thread' };
    s.config = cfg;
    s.seq = 0;
    s.dropped = 0;
    s.startedAt = Date.now();
    s.sampler = createSampler(cfg.resolutionMs, cfg.gc);
    s.work = cfg.http ? createWorkTracker() : null;
    s.workers = null;
    s.link = createLink(s, PROBE_VERSION, () => leaveAgent(s));
    s.running = true;
    // The agents this probe was taken over from (newest last, one per socket): a bye from the
    // current one returns the probe to the one before (see leaveAgent).
    s.earlier = [];
    s.apply = (next) => {
      const intervalChanged = next.intervalMs !== s.config.intervalMs;
      // The HTTP hooks follow the current agent (a profile needs them where a sidecar agent did not
      // ask for them); the delay resolution stays as the first start set it.
      if (next.http && !s.work) s.work = createWorkTracker();
      else if (!next.http && s.work) {
        s.work.stop();
        s.work = null;
      }
      // GC pause watching follows the current agent too (a config from an older copy has no gc: on).
      if (s.sampler && s.sampler.setGc) s.sampler.setGc(next.gc !== false);
      s.config = Object.assign({}, next, { resolutionMs: s.config.resolutionMs });
      // Worker watching follows the current agent too (a config from an older copy has none: on).
      if (next.workers === false && s.workers) {
        s.workers.stop();
        s.workers = null;
      } else if (s.workers) s.workers.configure(workerConfig(s.config));
      s.link.restart();
      if (intervalChanged) startTimer(s);
    };
    // A later copy of this file (another install path) reaches this one's closures through the state.
    s.switchTo = (next) => {
      const current = s.config;
      // An agent restarted at the same socket supersedes its earlier self (its old token is dead).
      s.earlier = s.earlier.filter((c) => c.socket !== next.socket && c.socket !== current.socket);
      if (current.socket !== next.socket) s.earlier.push(current);
      if (s.earlier.length > MAX_EARLIER_AGENTS) s.earlier.shift();
      s.apply(next);
      return { ok: true, state: 'switched', pid: process.pid, probeVersion: s.version };
    };
    s.stop = stopProbe;
    startTimer(s);
    // A first snapshot soon after start, so an attach shows data in well under one interval.
    const first = setTimeout(
      guard(() => s.running && s.config === cfg && tick(s)),
      Math.min(FIRST_SNAPSHOT_MS, cfg.intervalMs),
    );
    first.unref();
    s.link.start();
    return { ok: true, state: 'started', pid: process.pid, probeVersion: PROBE_VERSION };
  } catch (e) {
    try {
      stopProbe();
    } catch (e2) {}
    return { ok: false, error: String((e && e.message) || e) };
  }
}

function stop() {
  try {
    const s = state();
    if (s.stop) s.stop();
  } catch (e) {}
}

function status() {
  const s = state();
  return { running: s.running, pid: process.pid, probeVersion: s.version, seq: s.seq || 0 };
}

/** Preloaded: read RTPROF_* and remove them, so child processes (which inherit NODE_OPTIONS and
 * with it this --require) do not reuse our token: the agent would reject them anyway. */
function startFromEnv() {
  const env = process.env;
  if (!env.RTPROF_SOCKET || !env.RTPROF_TOKEN) return;
  const config = {
    socket: env.RTPROF_SOCKET,
    token: env.RTPROF_TOKEN,
    intervalMs: env.RTPROF_INTERVAL_MS,
    attach: env.RTPROF_ATTACH || 'preload',
    resolutionMs: env.RTPROF_RESOLUTION_MS,
    http: env.RTPROF_HTTP,
    gc: env.RTPROF_GC,
    workers: env.RTPROF_WORKERS,
  };
  for (let i = 0; i < ENV_KEYS.length; i++) delete env[ENV_KEYS[i]];
  start(config);
}

try {
  startFromEnv();
} catch (e) {}

module.exports = { start: start, stop: stop, status: status, PROBE_VERSION: PROBE_VERSION };
