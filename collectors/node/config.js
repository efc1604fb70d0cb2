'use strict';
// rtprof Node probe settings: what an attacher's config or a preloaded process's RTPROF_* env
// asks for, checked and given its defaults (probe.js starts the probe with them).
//
// Compatibility floor: Node 18. Plain CommonJS, no dependencies.

const GIVE_UP_MS = require('./link').GIVE_UP_MS;

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

function positiveNumber(value, fallback) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

/** The probe's settings from an attacher's config; throws on a config without socket or token. */
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

/** The settings each worker thread's sampler is started with. */
function workerConfig(c) {
  return { intervalMs: c.intervalMs, resolutionMs: c.resolutionMs, gc: c.gc };
}

/**
 * A preloaded probe's config from RTPROF_* (null when there is no socket or token). The variables
 * are removed, so child processes (which inherit NODE_OPTIONS and with it this --require) do not
 * reuse our token: the agent would reject them anyway.
 */
function takeEnvConfig(env) {
  if (!env.RTPROF_SOCKET || !env.RTPROF_TOKEN) return null;
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
  return config;
}

module.exports = { normalize: normalize, workerConfig: workerConfig, takeEnvConfig: takeEnvConfig };
