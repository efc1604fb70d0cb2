'use strict';
// rtprof Node probe's entry and lifecycle: runs inside the target and pushes one snapshot per
// interval (event-loop delay and utilization, GC pauses, heap spaces, active resources, HTTP work in
// flight; the same loop and GC figures for each worker thread) to the agent's unix socket as NDJSON
// (docs/PROTOCOL.md). Here: start, switching agents, stop. The settings are config.js's, the snapshot
// snapshot.js's, the connection link.js's, the HTTP work tracker work.js's, the workers workers.js's.
// The same file is preloaded (`--require`, NODE_OPTIONS; configured by RTPROF_* env) or injected
// through the inspector (`require(this).start(config)`).
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

const sampling = require('./sampler');
const guard = sampling.guard;
const createSampler = sampling.createSampler;
const createWorkTracker = require('./work').createWorkTracker;
const createLink = require('./link').createLink;
const settings = require('./config');
const normalize = settings.normalize;
const workerConfig = settings.workerConfig;
const tick = require('./snapshot').tick;

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

function startTimer(s) {
  if (s.timer) clearInterval(s.timer);
  s.timer = setInterval(
    guard(() => tick(s)),
    s.config.intervalMs,
  );
  s.timer.unref();
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

/** Preloaded: started from RTPROF_*, which are removed from the environment (config.js). */
function startFromEnv() {
  const env = settings.takeEnvConfig(process.env);
  if (env) start(env);
}

try {
  startFromEnv();
} catch (e) {}

module.exports = { start: start, stop: stop, status: status, PROBE_VERSION: PROBE_VERSION };
