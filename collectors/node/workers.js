'use strict';
// rtprof worker watch: the main thread's probe finds every worker_threads worker (running at attach
// and created later) through an in-process inspector session (NodeWorker domain; no port is
// opened), runs in-worker.js in each with Runtime.evaluate, and at each snapshot asks every worker
// for its loop delay, utilization and GC pauses over the interval just ended (the snapshot's
// `workers` field, docs/PROTOCOL.md).
//
// Safety: the session's event handlers can run from an inspector interrupt in the middle of the
// app's own code, so they only record what arrived; every message to a worker is sent from the
// probe's own unref()ed timers (the snapshot tick, and pump for workers being set up). Our
// evaluations are `silent` (an app debugger pausing on exceptions is not triggered) and never run
// inside a worker's bootstrap (see worker-eval.js).

const { guard } = require('./sampler');
const workerEval = require('./worker-eval');
const titleFacts = workerEval.titleFacts;
const checkExpression = workerEval.checkExpression;
const startExpression = workerEval.startExpression;
const SAMPLE_EXPRESSION = workerEval.SAMPLE_EXPRESSION;
const STOP_EXPRESSION = workerEval.STOP_EXPRESSION;
const workerSamples = require('./worker-samples');
const mergeSamples = workerSamples.mergeSamples;
const MAX_GC_EVENTS_PER_WORKER = workerSamples.MAX_GC_EVENTS_PER_WORKER;

const MAX_WORKERS = 64;
const PUMP_MS = 100;
// Samples of one worker waiting for the next snapshot, at most (a slow main thread).
const MAX_PENDING_SAMPLES = 8;
// A worker that has not finished starting after this long is given up on (see worker-eval.js).
const GIVE_UP_STARTING_MS = 30000;

/**
 * Starts watching workers. config: { intervalMs, resolutionMs, gc }. Returns { collect, configure,
 * stop }; collect() gives { workers, unavailable } for the next snapshot. Never throws.
 */
function createWorkerWatch(config) {
  let cfg = config;
  let session = null;
  let pump = null;
  let failure = null;
  let untracked = 0;
  let nextId = 1;
  const workers = new Map(); // inspector sessionId -> worker record
  const pending = new Map(); // message id -> { w, kind }

  function send(w, kind, expression) {
    const id = nextId++;
    pending.set(id, { w: w, kind: kind });
    w.outstanding = id;
    // The check runs before the worker may be set up: plain JS, without the command-line API.
    const full = kind !== 'check';
    const params = { expression, includeCommandLineAPI: full, silent: true, returnByValue: true, awaitPromise: full };
    const message = { id: id, method: 'Runtime.evaluate', params: params };
    session.post('NodeWorker.sendMessageToWorker', { sessionId: w.sessionId, message: JSON.stringify(message) }, noopCallback);
  }

  function fail(w, why) {
    w.state = 'failed';
    w.error = `worker ${w.threadId}: ${String(why).split('\n')[0].slice(0, 160)}`;
  }

  function onAttached(msg) {
    const p = msg.params;
    if (workers.has(p.sessionId)) return;
    if (workers.size >= MAX_WORKERS) {
      untracked++;
      return;
    }
    const facts = titleFacts(p.workerInfo);
    workers.set(p.sessionId, {
      sessionId: p.sessionId,
      threadId: facts.threadId,
      name: facts.name,
      file: facts.file,
      attachedAt: Date.now(),
      state: 'starting',
      outstanding: 0,
      samples: [],
      lost: 0,
      gcTrimmed: 0,
      prevLoop: null,
      error: null,
    });
  }

  function onDetached(msg) {
    const w = workers.get(msg.params.sessionId);
    if (!w) return;
    workers.delete(msg.params.sessionId);
    if (w.outstanding) pending.delete(w.outstanding);
  }

  function onMessage(msg) {
    const reply = JSON.parse(msg.params.message);
    const sent = reply && pending.get(reply.id);
    if (!sent) return;
    pending.delete(reply.id);
    const w = sent.w;
    if (w.outstanding === reply.id) w.outstanding = 0;
    if (sent.kind === 'stop' || !workers.has(w.sessionId)) return;
    const result = reply.result;
    if (reply.error || !result || result.exceptionDetails) {
      const why = reply.error
        ? reply.error.message
        : result && result.exceptionDetails && (result.exceptionDetails.exception || {}).description;
      return fail(w, why || 'evaluation failed');
    }
    const value = result.result && result.result.value;
    if (sent.kind === 'check') {
      if (value === 'turned') w.state = 'loading';
    } else if (sent.kind === 'start') {
      if (!value || !value.ok) return fail(w, (value && value.error) || 'in-worker sampler did not start');
      w.state = 'running';
      if (value.threadId > 0) w.threadId = value.threadId;
      if (value.tid > 0) w.tid = value.tid;
      if (typeof value.name === 'string' && value.name) w.name = value.name.slice(0, 128);
    } else if (value === null) {
      // The worker's sampler stopped by itself (it was not asked for a while): start it again.
      w.state = 'loading';
    } else if (value && value.eventLoop) {
      if (w.samples.length >= MAX_PENDING_SAMPLES) {
        w.samples.shift();
        w.lost++;
      }
      w.samples.push(value);
    }
  }

  function pumpAll() {
    if (!session) return;
    const now = Date.now();
    for (const w of workers.values()) {
      if (w.outstanding) continue;
      if (w.state === 'starting') {
        if (now - w.attachedAt > GIVE_UP_STARTING_MS) fail(w, 'did not finish starting');
        else send(w, 'check', checkExpression(w));
      } else if (w.state === 'loading') {
        send(w, 'start', startExpression(cfg));
      }
    }
  }

  try {
    const inspector = require('inspector');
    session = new inspector.Session();
    session.connect();
    session.on('NodeWorker.attachedToWorker', guard(onAttached));
    session.on('NodeWorker.detachedFromWorker', guard(onDetached));
    session.on('NodeWorker.receivedMessageFromWorker', guard(onMessage));
    session.post(
      'NodeWorker.enable',
      { waitForDebuggerOnStart: false },
      guard((err) => {
        if (err) failure = `worker threads not watched: NodeWorker.enable failed: ${err.message}`;
      }),
    );
    pump = setInterval(guard(pumpAll), PUMP_MS);
    pump.unref();
  } catch (e) {
    failure = `worker threads not watched: no in-process inspector session (${String((e && e.message) || e).slice(0, 160)})`;
    if (session) {
      try {
        session.disconnect();
      } catch (e2) {}
    }
    session = null;
  }

  return {
    /** At a snapshot tick: asks each worker for its interval (one question at a time per worker). */
    request() {
      if (!session) return;
      for (const w of workers.values()) if (w.state === 'running' && !w.outstanding) send(w, 'sample', SAMPLE_EXPRESSION);
    },
    /** Workers still answering. */
    outstanding() {
      let n = 0;
      for (const w of workers.values()) if (w.state === 'running' && w.outstanding) n++;
      return n;
    },
    collect() {
      const entries = [];
      const errors = [];
      for (const w of workers.values()) {
        if (w.state === 'running') entries.push(mergeSamples(w));
        else if (w.state === 'failed' && errors.length < 4) errors.push(w.error);
      }
      if (untracked > 0) errors.push(`${untracked} workers beyond the first ${MAX_WORKERS} not watched`);
      if (failure) errors.unshift(failure);
      const out = { workers: entries };
      if (errors.length > 0) out.unavailable = errors.join('; ').slice(0, 250);
      return out;
    },
    /** New settings (a second agent): each worker's sampler is started again with them. */
    configure(next) {
      cfg = next;
      for (const w of workers.values()) if (w.state === 'running') w.state = 'loading';
    },
    stop() {
      if (pump) clearInterval(pump);
      pump = null;
      if (!session) return;
      const s = session;
      session = null;
      try {
        for (const w of workers.values()) {
          const message = {
            id: nextId++,
            method: 'Runtime.evaluate',
            params: { expression: STOP_EXPRESSION, includeCommandLineAPI: true, silent: true },
          };
          s.post('NodeWorker.sendMessageToWorker', { sessionId: w.sessionId, message: JSON.stringify(message) }, noopCallback);
        }
      } catch (e) {}
      workers.clear();
      pending.clear();
      // The stop messages are queued to each worker before its session ends, so they run first.
      try {
        s.disconnect();
      } catch (e) {}
    },
  };
}

function noopCallback() {}

// The bounds are the agent's schema's (collectors/channel/messages.ts; a test checks they agree).
module.exports = { createWorkerWatch: createWorkerWatch, MAX_WORKERS: MAX_WORKERS, MAX_GC_EVENTS_PER_WORKER: MAX_GC_EVENTS_PER_WORKER };
