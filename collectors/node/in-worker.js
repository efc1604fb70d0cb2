'use strict';
// rtprof worker-thread sampler: runs inside one worker_threads worker, put there by the main
// thread's probe (workers.js) through the inspector. It samples the worker's own loop on the
// worker's own timer (sampler.js, the main thread's definitions) and hands the samples over when
// the main thread asks (next(): a promise the inspector awaits, so no port or handle is opened).
//
// A guest in the worker: its one timer is unref()ed (the worker exits when its own work is done),
// callbacks are guarded, and it stops by itself when the main thread stops asking (probe stopped,
// or gone) so nothing is left running in the worker.

const sampling = require('./sampler');

const KEY = Symbol.for('rtprof.worker');
// Samples kept for the main thread when it is slow to ask (a blocked main thread); oldest dropped.
const MAX_READY = 8;
// GC pauses kept per sample: a worker's pauses share the snapshot line with the main thread's and
// every other worker's, and a line has a size limit (collectors/channel/messages.ts).
const MAX_GC_EVENTS = 100;
const FIRST_SAMPLE_MS = 200;

function positive(value, fallback) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function threadFacts() {
  const wt = require('worker_threads');
  // threadName exists from Node 22 (the `name` Worker option); older releases show it only in the
  // inspector's title, which the main thread reads.
  return { threadId: wt.threadId, name: typeof wt.threadName === 'string' ? wt.threadName : undefined };
}

function stopState(s) {
  if (!s.running) return;
  s.running = false;
  if (s.timer) clearInterval(s.timer);
  if (s.first) clearTimeout(s.first);
  s.timer = s.first = null;
  try {
    s.sampler.stop();
  } catch (e) {}
  s.sampler = null;
  s.ready = [];
  const waiter = s.waiter;
  s.waiter = null;
  if (waiter) waiter(null);
}

function push(s, sample) {
  if (s.ready.length >= MAX_READY) {
    s.ready.shift();
    s.lost++;
  }
  s.ready.push(sample);
  const waiter = s.waiter;
  s.waiter = null;
  if (waiter) waiter(drain(s));
}

function drain(s) {
  const out = { samples: s.ready, lost: s.lost };
  s.ready = [];
  return out;
}

function tick(s) {
  // The main thread asks at least once per interval; when it has not for staleMs it is gone (or
  // its probe stopped without reaching us): stop, as the main thread's probe does without an agent.
  if (Date.now() - s.lastAskedAt > s.staleMs) return stopState(s);
  const sampler = s.sampler;
  sampler.settle(() => {
    if (!s.running || s.sampler !== sampler) return;
    const sample = sampler.sample();
    push(s, { t: Date.now(), eventLoop: sample.eventLoop, gc: sample.gc, gcTotals: sample.gcTotals, gcDropped: sample.gcDropped });
  });
}

/** Starts sampling this worker (or, running already, takes the new settings). Never throws. */
function start(config) {
  try {
    const c = config || {};
    const intervalMs = Math.max(positive(c.intervalMs, 1000), 50);
    let s = globalThis[KEY];
    if (!s) {
      s = { running: false, ready: [], lost: 0, waiter: null };
      Object.defineProperty(globalThis, KEY, { value: s, enumerable: false, configurable: true });
    }
    s.lastAskedAt = Date.now();
    s.staleMs = Math.max(positive(c.staleMs, 0), intervalMs * 5, 10000);
    if (s.running && s.intervalMs === intervalMs) {
      s.sampler.setGc(c.gc !== false);
      return Object.assign({ ok: true, state: 'running' }, threadFacts());
    }
    stopState(s);
    s.intervalMs = intervalMs;
    s.sampler = sampling.createSampler(Math.max(Math.round(positive(c.resolutionMs, 5)), 1), c.gc !== false, MAX_GC_EVENTS);
    s.running = true;
    s.timer = setInterval(
      sampling.guard(() => tick(s)),
      intervalMs,
    );
    s.timer.unref();
    s.first = setTimeout(
      sampling.guard(() => s.running && tick(s)),
      Math.min(FIRST_SAMPLE_MS, intervalMs),
    );
    s.first.unref();
    return Object.assign({ ok: true, state: 'started' }, threadFacts());
  } catch (e) {
    return { ok: false, error: String((e && e.message) || e) };
  }
}

/**
 * The samples taken since the last call: now if there are any, else when the next one is taken.
 * Resolves null when sampling is not running (stopped, or never started): the main thread starts it.
 */
function next() {
  const s = globalThis[KEY];
  if (!s || !s.running) return Promise.resolve(null);
  s.lastAskedAt = Date.now();
  if (s.ready.length > 0) return Promise.resolve(drain(s));
  // One question at a time: an earlier one still waiting is answered empty.
  if (s.waiter) s.waiter({ samples: [], lost: s.lost });
  return new Promise((resolve) => {
    s.waiter = resolve;
  });
}

function stop() {
  try {
    const s = globalThis[KEY];
    if (s) stopState(s);
  } catch (e) {}
  return true;
}

module.exports = { start: start, next: next, stop: stop };
