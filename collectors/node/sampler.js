'use strict';
// rtprof loop sampler: event-loop delay and utilization and GC pauses of the thread that creates it.
// The Node probe uses it for the main thread (probe.js) and for each worker thread (in-worker.js),
// so both report the same definitions. Plain CommonJS, Node >= 18, no dependencies.

const MAX_GC_EVENTS = 1000;
// Loop turns timed after a reset of the delay monitor, at most (see createSampler).
const MAX_WATCHED_TURNS = 1000;
const GC_KINDS = { 1: 'minor', 2: 'major', 4: 'major', 8: 'incremental', 16: 'weakcb' };

function guard(fn) {
  return function guarded() {
    try {
      return fn.apply(this, arguments);
    } catch (e) {
      return undefined;
    }
  };
}

function gcKindName(entry) {
  // Node >= 16 puts the kind in entry.detail; older releases put it on the entry itself.
  const kind = entry.detail && entry.detail.kind !== undefined ? entry.detail.kind : entry.kind;
  return GC_KINDS[kind] || 'other';
}

function later(fn) {
  const im = setImmediate(guard(fn));
  if (im && typeof im.unref === 'function') im.unref();
}

// ---- sampling --------------------------------------------------------------------------------

/** maxGcEvents: pauses kept per interval (the rest are counted as dropped); default 1000. */
function createSampler(resolutionMs, gcOn, maxGcEvents) {
  const maxEvents = maxGcEvents > 0 ? maxGcEvents : MAX_GC_EVENTS;
  const perfHooks = require('perf_hooks');
  const v8 = require('v8');
  const performance = perfHooks.performance;
  const resolutionNs = resolutionMs * 1e6;
  // Loop delay: perf_hooks.monitorEventLoopDelay, a libuv timer every resolutionMs timed in C++.
  // A JS setInterval doing the same (the probe's earlier way) cost ~2.6 % more CPU per request on a
  // loaded hello-world; the native monitor's cost did not show against an A/A control.
  // The monitor records a delay only when its timer next fires, and its reset() forgets when it last
  // fired (the first tick after a reset records nothing), so a block just before or just after a
  // read would be lost. The probe times those loop turns itself, with unref'd immediates (one per
  // turn, so an idle turn lasts until the monitor's next timer at most): the turn that ends at the
  // read (settle), and each turn after the reset until the monitor records again (watchAfterReset).
  // Their excess over the resolution joins the next read's maximum (extraNs).
  const monitor = perfHooks.monitorEventLoopDelay({ resolution: resolutionMs });
  monitor.enable();
  let extraNs = 0;
  let chain = 0;
  function noteTurn(ms) {
    const ns = ms * 1e6 - resolutionNs;
    if (ns > extraNs) extraNs = ns;
  }
  function watchAfterReset() {
    const id = ++chain;
    let last = performance.now();
    let hops = 0;
    const step = () => {
      if (id !== chain) return;
      const now = performance.now();
      noteTurn(now - last);
      last = now;
      if (monitor.count === 0 && ++hops < MAX_WATCHED_TURNS) later(step);
    };
    later(step);
  }
  watchAfterReset();
  const eluStart = performance.eventLoopUtilization();
  let lastElu = eluStart;
  const gcTotals = { count: 0, byKind: {} };
  let gcEvents = [];
  let gcDropped = 0;

  // GC pauses: a PerformanceObserver for 'gc' (V8 GC callbacks). Seeing each pause is most of what
  // the probe costs on a loaded hello-world (docs/BENCHMARKS.md), so an agent may turn it off
  // (`--no-gc-pauses`): no observer then, and no gc/gcTotals in the snapshots.
  let observer = null;
  function watchGc(on) {
    if (on && !observer) {
      observer = new perfHooks.PerformanceObserver(
        guard((list) => {
          const entries = list.getEntries();
          for (let i = 0; i < entries.length; i++) {
            const kind = gcKindName(entries[i]);
            gcTotals.count++;
            const byKind = gcTotals.byKind[kind] || (gcTotals.byKind[kind] = { count: 0 });
            byKind.count++;
            if (gcEvents.length < maxEvents) gcEvents.push({ kind: kind, durationS: entries[i].duration / 1000 });
            else gcDropped++;
          }
        }),
      );
      observer.observe({ entryTypes: ['gc'] });
    } else if (!on && observer) {
      try {
        observer.disconnect();
      } catch (e) {}
      observer = null;
      gcEvents = [];
    }
  }
  watchGc(gcOn !== false);

  function excess(ns) {
    return ns > resolutionNs ? Math.round(ns - resolutionNs) : 0;
  }

  function delayStats() {
    // With no sample in the interval (a loop blocked throughout) min is a 2^63 sentinel: send nothing.
    const empty = monitor.count === 0 || monitor.min > 1e15;
    if (empty) return undefined;
    return {
      min: excess(monitor.min),
      mean: excess(monitor.mean),
      p50: excess(monitor.percentile(50)),
      p90: excess(monitor.percentile(90)),
      p99: excess(monitor.percentile(99)),
      max: Math.max(excess(monitor.max), Math.round(extraNs)),
    };
  }

  function heap() {
    const stats = v8.getHeapStatistics();
    const spaces = v8.getHeapSpaceStatistics().map((s) => ({
      name: s.space_name,
      sizeBytes: s.space_size,
      usedBytes: s.space_used_size,
      availableBytes: s.space_available_size,
      physicalBytes: s.physical_space_size,
    }));
    return { usedBytes: stats.used_heap_size, totalBytes: stats.total_heap_size, spaces: spaces };
  }

  // getActiveResourcesInfo lists only ref'd handles and timers, so the probe's own (unref'd)
  // socket and timers are not counted.
  function resources() {
    if (typeof process.getActiveResourcesInfo !== 'function') return undefined;
    const counts = {};
    const info = process.getActiveResourcesInfo();
    for (let i = 0; i < info.length; i++) counts[info[i]] = (counts[info[i]] || 0) + 1;
    return counts;
  }

  return {
    resolutionNs: resolutionNs,
    /** Calls fn once the loop has turned past the timers phase after now, timing that turn. */
    settle(fn) {
      later(() => {
        const t0 = performance.now();
        later(() => {
          noteTurn(performance.now() - t0);
          fn();
        });
      });
    },
    sample() {
      const now = performance.eventLoopUtilization();
      const sinceStart = performance.eventLoopUtilization(now, eluStart);
      const eventLoop = {
        utilization: performance.eventLoopUtilization(now, lastElu).utilization,
        activeS: sinceStart.active / 1000,
        idleS: sinceStart.idle / 1000,
        resolutionNs: resolutionNs,
      };
      lastElu = now;
      const delay = delayStats();
      if (delay) eventLoop.delayNs = delay;
      monitor.reset();
      extraNs = 0;
      watchAfterReset();
      const events = gcEvents;
      gcEvents = [];
      return {
        eventLoop: eventLoop,
        gc: observer ? events : undefined,
        gcTotals: observer ? { count: gcTotals.count, byKind: JSON.parse(JSON.stringify(gcTotals.byKind)) } : undefined,
        heap: heap(),
        resources: resources(),
        gcDropped: gcDropped,
      };
    },
    setGc: watchGc,
    stop() {
      watchGc(false);
      chain++;
      monitor.disable();
    },
  };
}

module.exports = { createSampler: createSampler, guard: guard, later: later };
