'use strict';
// rtprof Node probe snapshots: at each tick, the main thread's figures (sampler.js), the HTTP work
// in flight (work.js) and the worker threads' answers (workers.js) made into one NDJSON line under
// the agent's size limit and handed to the link (docs/PROTOCOL.md, `snapshot`).
//
// Compatibility floor: Node 18. Plain CommonJS, no dependencies.

const guard = require('./sampler').guard;
const createWorkerWatch = require('./workers').createWorkerWatch;
const workerConfig = require('./config').workerConfig;

// A snapshot line stays under the agent's limit (MAX_LINE_BYTES, 64 KiB) with room to spare: worker
// entries are trimmed to fit (see fitLine).
const MAX_LINE_CHARS = 60 * 1024;
// How long a snapshot waits for the worker threads' answers, at most.
const WORKER_WAIT_MS = 100;

/** One snapshot of the running probe `s` (probe.js's state): taken once the loop has settled, sent when the workers answered. */
function tick(s) {
  // Worker threads are watched from the first tick, not from start(): start() can run inside the
  // attacher's inspector evaluation, where opening another session would nest inspector dispatch.
  if (s.config.workers !== false && !s.workers) s.workers = createWorkerWatch(workerConfig(s.config));
  const sampler = s.sampler;
  const workers = s.workers;
  if (workers) workers.request();
  // The delay monitor records a block that ended just before (see createSampler).
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

module.exports = { tick: tick };
