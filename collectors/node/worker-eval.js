'use strict';
// What the rtprof worker watch (workers.js) evaluates inside a worker thread, and what it reads from
// the inspector's description of one: the check that a new worker has finished starting, loading
// and stopping in-worker.js there, and asking it for its interval.
//
// Compatibility floor: Node 18. Plain CommonJS, no dependencies.

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
const IN_WORKER_PATH = require('path').join(__dirname, 'in-worker.js');

/** The worker's thread id, name and script file from the inspector's workerInfo. */
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

module.exports = {
  titleFacts: titleFacts,
  checkExpression: checkExpression,
  startExpression: startExpression,
  SAMPLE_EXPRESSION: SAMPLE_EXPRESSION,
  STOP_EXPRESSION: STOP_EXPRESSION,
};
