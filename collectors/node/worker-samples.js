'use strict';
// The rtprof worker watch's (workers.js) answers from one worker thread, folded into that worker's
// entry of the next snapshot (the snapshot's `workers` field, docs/PROTOCOL.md): several intervals
// when the main thread was slow, none when the worker was busy throughout.
//
// Compatibility floor: Node 18. Plain CommonJS, no dependencies.

const MAX_GC_EVENTS_PER_WORKER = 100;

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

// The bound is the agent's schema's (collectors/channel/messages.ts; a test checks they agree).
module.exports = { mergeSamples: mergeSamples, MAX_GC_EVENTS_PER_WORKER: MAX_GC_EVENTS_PER_WORKER };
