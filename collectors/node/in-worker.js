'use strict';
// rtprof worker-thread sampler: runs inside one worker_threads worker, put there by the main
// thread's probe (workers.js) through the inspector. It measures the worker's own loop with the
// main thread's definitions (sampler.js) and answers each of the main thread's requests, one per
// snapshot interval, with the interval just ended (a promise the inspector awaits: no port opened).
//
// A guest in the worker: its one timer (a watchdog) is unref()ed, so the worker exits when its own
// work is done; callbacks are guarded; and it stops by itself when the main thread stops asking
// (its probe stopped, or is gone), so nothing is left running in the worker.

const sampling = require('./sampler');

const KEY = Symbol.for('rtprof.worker');
// GC pauses kept per sample: a worker's pauses share the snapshot line with the main thread's and
// every other worker's, and a line has a size limit (collectors/channel/messages.ts).
const MAX_GC_EVENTS = 100;

function positive(value, fallback) {
  const n = Number(value);
  return Number.isFinite(n) && n > 0 ? n : fallback;
}

function threadFacts() {
  const wt = require('worker_threads');
  // threadName exists from Node 22 (the `name` Worker option); older releases show it only in the
  // inspector's title, which the main thread reads.
  return { threadId: wt.threadId, name: typeof wt.threadName === 'string' ? wt.threadName : undefined, tid: osThreadId() };
}

// The worker's OS thread id, so the agent can tell this thread among the process's threads (Node
// names them all "node"): /proc/thread-self links to PID/task/TID. undefined where it cannot.
function osThreadId() {
  try {
    const m = /task\/(\d+)$/.exec(require('fs').readlinkSync('/proc/thread-self'));
    return m ? Number(m[1]) : undefined;
  } catch (e) {
    return undefined;
  }
}

function stopState(s) {
  if (!s.running) return;
  s.running = false;
  if (s.watchdog) clearTimeout(s.watchdog);
  s.watchdog = null;
  try {
    s.sampler.stop();
  } catch (e) {}
  s.sampler = null;
}

function armWatchdog(s, staleMs) {
  // The main thread asks once per interval; when it has not for staleMs it is gone (or its probe
  // stopped without reaching us): stop, as the main thread's probe does without an agent.
  if (s.watchdog) clearTimeout(s.watchdog);
  s.watchdog = setTimeout(
    sampling.guard(() => stopState(s)),
    staleMs,
  );
  s.watchdog.unref();
}

/** Starts measuring this worker (or, running already, takes the new settings). Never throws. */
function start(config) {
  try {
    const c = config || {};
    const intervalMs = Math.max(positive(c.intervalMs, 1000), 50);
    let s = globalThis[KEY];
    if (!s) {
      s = { running: false };
      Object.defineProperty(globalThis, KEY, { value: s, enumerable: false, configurable: true });
    }
    s.staleMs = Math.max(intervalMs * 5, 10000);
    if (s.running) s.sampler.setGc(c.gc !== false);
    else {
      s.sampler = sampling.createSampler(Math.max(Math.round(positive(c.resolutionMs, 5)), 1), c.gc !== false, MAX_GC_EVENTS);
      s.running = true;
    }
    armWatchdog(s, s.staleMs);
    return Object.assign({ ok: true }, threadFacts());
  } catch (e) {
    return { ok: false, error: String((e && e.message) || e) };
  }
}

/**
 * The interval since the last sample, taken once the worker's loop has turned past its timers
 * phase (as the main thread's snapshots are). Resolves null when not running: the main thread
 * starts it again.
 */
function sample() {
  const s = globalThis[KEY];
  if (!s || !s.running) return Promise.resolve(null);
  armWatchdog(s, s.staleMs);
  const sampler = s.sampler;
  return new Promise((resolve) => {
    sampler.settle(() => {
      if (!s.running || s.sampler !== sampler) return resolve(null);
      const x = sampler.sample();
      resolve({ t: Date.now(), eventLoop: x.eventLoop, gc: x.gc, gcTotals: x.gcTotals, gcDropped: x.gcDropped });
    });
  });
}

function stop() {
  try {
    const s = globalThis[KEY];
    if (s) stopState(s);
  } catch (e) {}
  return true;
}

module.exports = { start: start, sample: sample, stop: stop };
