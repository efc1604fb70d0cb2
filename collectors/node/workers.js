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
// inside a worker's bootstrap (see checkExpression).

const { guard } = require('./sampler');

const MAX_WORKERS = 64;
const PUMP_MS = 100;
// Samples of one worker waiting for the next snapshot, at most (a slow main thread).
const MAX_PENDING_SAMPLES = 8;
const MAX_GC_EVENTS_PER_WORKER = 100;
// A new worker is attached before Node has set it up, and an evaluation runs in it as an interrupt,
// wherever it is; inside its bootstrap even the inspector's command-line API (its `require`) loads
// internals too early and can break the worker. So a worker is first checked with plain JS only:
// Node sets process.argv[1] to the script (or '[worker eval]') right before running the worker's
// own code (a worker whose argv its code changed is taken as started after ASSUME_STARTED_MS);
// then an immediate marks that its loop has turned (Node 18 finishes bootstrapping only after the
// worker's first synchronous run); only then is in-worker.js loaded, itself from an immediate, so
// never inside the worker's own module loading.
const ASSUME_STARTED_MS = 3000;
const TURNED_KEY = 'rtprof.worker.turned';
const GIVE_UP_STARTING_MS = 30000;
const IN_WORKER_PATH = require('path').join(__dirname, 'in-worker.js');

function titleFacts(info) {
  // Node titles workers "[worker <threadId>] <name>" (name: the Worker's `name` option).
  const m = /^\[worker (\d+)\](?: (.*))?$/.exec(String((info && info.title) || ''));
  let file = '';
  try {
    if (info && typeof info.url === 'string' && info.url.startsWith('file:')) file = require('url').fileURLToPath(info.url);
  } catch (e) {}
  const base = file ? require('path').basename(file) : '[worker eval]';
  return { threadId: m ? Number(m[1]) : 0, name: m && m[2] ? m[2].slice(0, 128) : base, file: file };
}

function checkExpression(w) {
  const assumed = Date.now() - w.attachedAt > ASSUME_STARTED_MS;
  return `(function () {
    var key = Symbol.for(${JSON.stringify(TURNED_KEY)});
    if (globalThis[key] === true) return 'turned';
    var started = typeof process === 'object' && process !== null && Array.isArray(process.argv) &&
      process.argv.length >= 2 && typeof setImmediate === 'function' &&
      (${assumed} || process.argv[1] === ${JSON.stringify(w.file)} || process.argv[1] === '[worker eval]');
    if (!started || globalThis[key] === false) return 'starting';
    Object.defineProperty(globalThis, key, { value: false, configurable: true, writable: true });
    var im = setImmediate(function () { globalThis[key] = true; });
    if (im && typeof im.unref === 'function') im.unref();
    return 'starting';
  })()`;
}

function startExpression(config) {
  const cfg = { intervalMs: config.intervalMs, resolutionMs: config.resolutionMs, gc: config.gc };
  return `(function () {
    var req = require;
    return new Promise(function (resolve) {
      var im = setImmediate(function () {
        try {
          resolve(req(${JSON.stringify(IN_WORKER_PATH)}).start(${JSON.stringify(cfg)}));
        } catch (e) {
          resolve({ ok: false, error: String((e && e.message) || e) });
        }
      });
      if (im && typeof im.unref === 'function') im.unref();
    });
  })()`;
}

const SAMPLE_EXPRESSION = `require(${JSON.stringify(IN_WORKER_PATH)}).sample()`;
const STOP_EXPRESSION = `require(${JSON.stringify(IN_WORKER_PATH)}).stop()`;

/** Merges the samples a worker produced since the last snapshot into one entry. */
function mergeSamples(w) {
  const entry = { threadId: w.threadId, name: w.name };
  if (w.tid) entry.tid = w.tid;
  const samples = w.samples;
  w.samples = [];
  let dropped = w.lost;
  if (samples.length === 0) {
    // No answer this interval (a loop busy throughout): the cumulative times still hold, so those
    // counters go on; the interval's delay and utilization are left out, as the main thread's are.
    if (w.prevLoop) entry.eventLoop = { activeS: w.prevLoop.activeS, idleS: w.prevLoop.idleS };
    if (dropped) entry.dropped = dropped;
    return entry;
  }
  const last = samples[samples.length - 1];
  const eventLoop = Object.assign({}, last.eventLoop);
  if (samples.length > 1) {
    // Several intervals in one snapshot: the worst delay of any, utilization over all of them.
    let max = 0;
    for (const s of samples) if (s.eventLoop.delayNs && s.eventLoop.delayNs.max > max) max = s.eventLoop.delayNs.max;
    if (eventLoop.delayNs) eventLoop.delayNs = Object.assign({}, eventLoop.delayNs, { max: max });
    if (w.prevLoop) {
      const active = last.eventLoop.activeS - w.prevLoop.activeS;
      const idle = last.eventLoop.idleS - w.prevLoop.idleS;
      if (active >= 0 && idle >= 0 && active + idle > 0) eventLoop.utilization = active / (active + idle);
    }
  }
  w.prevLoop = last.eventLoop;
  entry.eventLoop = eventLoop;
  if (last.gcTotals) {
    let gc = [];
    for (const s of samples) if (s.gc) gc = gc.concat(s.gc);
    if (gc.length > MAX_GC_EVENTS_PER_WORKER) {
      w.gcTrimmed += gc.length - MAX_GC_EVENTS_PER_WORKER;
      gc = gc.slice(gc.length - MAX_GC_EVENTS_PER_WORKER);
    }
    entry.gc = gc;
    entry.gcTotals = last.gcTotals;
  }
  dropped += (last.gcDropped || 0) + w.gcTrimmed;
  if (dropped) entry.dropped = dropped;
  return entry;
}

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
