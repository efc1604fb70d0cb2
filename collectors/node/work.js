'use strict';
// The Node probe's HTTP work tracker (probe.js): requests in flight and completed, and the time with
// at least one in flight, from the http.server.* diagnostics channels. Plain CommonJS, Node 18.

const guard = require('./sampler').guard;

const MAX_SOCKETS = 100000;

// HTTP work in flight, from diagnostics_channel (http.server.* channels: Node >= 18.? / 16.18).
// Per request only a counter moves and two Set lookups of the connection's socket are made: the
// probe keeps no per-request object. Measured on a loaded hello-world (two services sharing one
// CPU, one with the hooks; CPU per request against the other): subscribing to the two channels with
// no-op handlers +1.8 %, this counter design +3.4 %, a Set of in-flight responses (the earlier
// design) +4.9 %.
function createWorkTracker() {
  let dc;
  try {
    dc = require('diagnostics_channel');
  } catch (e) {
    return null;
  }
  const perf = require('perf_hooks').performance;
  // Connections that have carried a request seen by the probe: a response finishing on any other
  // (a request already in flight when the probe arrived) is not ours to count.
  const sockets = new Set();
  let inFlight = 0;
  let completed = 0;
  let busyMs = 0;
  let busySince = 0;
  // The loop's idle time (in its poll, waiting for I/O) while work was in flight: read from the
  // loop's own idle clock at the edges of each busy period, so it is the overlap itself, not a
  // busy fraction times an idle fraction. In a callback the idle clock is current: it stops when the
  // poll returns, before any callback runs. Read twice per busy period, never per request.
  const elu = typeof perf.eventLoopUtilization === 'function' ? () => perf.eventLoopUtilization().idle : null;
  let idleBusyMs = 0;
  let idleAtBusyStart = 0;
  // The same idle time weighted by the requests in flight (two requests waiting through 10 ms of
  // idle loop are 20 ms of request waiting): a loop that hands its requests' CPU to worker threads
  // waits for several of them at once, and their summed CPU is set against this, not the wall.
  // The idle clock is read again only where the count changes between two non-zero values.
  let idleRequestMs = 0;
  let idleAtChange = 0;

  function end() {
    inFlight--;
    completed++;
    if (inFlight === 0) {
      busyMs += perf.now() - busySince;
      if (elu) {
        const idle = elu();
        idleBusyMs += Math.max(0, idle - idleAtBusyStart);
        idleRequestMs += Math.max(0, idle - idleAtChange);
      }
    } else if (elu) {
      const idle = elu();
      idleRequestMs += (inFlight + 1) * Math.max(0, idle - idleAtChange);
      idleAtChange = idle;
    }
  }
  // An aborted request (its connection closed) never reaches response.finish. Each sample counts the
  // responses really in flight on the tracked connections (Node attaches the response being written
  // to its socket as _httpMessage and detaches it when it finishes) and drops closed connections;
  // the counter is lowered to that when it is above it. An aborted request thus counts as in flight
  // until the next sample at most. (Pipelined requests waiting behind another on one connection are
  // not attached yet, so the count can also be lowered by those: rare, and corrected by their finish.)
  function reconcile() {
    let live = 0;
    for (const socket of sockets) {
      if (socket.destroyed) {
        sockets.delete(socket);
        continue;
      }
      const response = socket._httpMessage;
      if (response && !response.writableFinished) live++;
    }
    while (inFlight > live) end();
  }
  const onStart = guard((message) => {
    const socket = message && message.socket;
    if (!socket) return;
    if (!sockets.has(socket)) {
      // Bounded: closed connections are dropped first; past the bound new connections go untracked.
      if (sockets.size >= MAX_SOCKETS) reconcile();
      if (sockets.size >= MAX_SOCKETS) return;
      sockets.add(socket);
    }
    if (inFlight === 0) {
      busySince = perf.now();
      if (elu) idleAtChange = idleAtBusyStart = elu();
    } else if (elu) {
      const idle = elu();
      idleRequestMs += inFlight * Math.max(0, idle - idleAtChange);
      idleAtChange = idle;
    }
    inFlight++;
  });
  const onFinish = guard((message) => {
    if (inFlight > 0 && message && sockets.has(message.socket)) end();
  });
  // Keep the channel objects referenced: older releases hold channels weakly and drop subscribers.
  const startChannel = dc.channel('http.server.request.start');
  const finishChannel = dc.channel('http.server.response.finish');
  startChannel.subscribe(onStart);
  finishChannel.subscribe(onFinish);
  return {
    sample() {
      try {
        reconcile();
      } catch (e) {}
      const busyNow = inFlight > 0 ? perf.now() - busySince : 0;
      const out = { inFlight: inFlight, completed: completed, busyS: (busyMs + busyNow) / 1000 };
      if (elu) {
        const idle = inFlight > 0 ? elu() : 0;
        out.idleBusyMs = idleBusyMs + (inFlight > 0 ? Math.max(0, idle - idleAtBusyStart) : 0);
        out.idleRequestMs = idleRequestMs + (inFlight > 0 ? inFlight * Math.max(0, idle - idleAtChange) : 0);
      }
      return out;
    },
    stop() {
      try {
        startChannel.unsubscribe(onStart);
        finishChannel.unsubscribe(onFinish);
      } catch (e) {}
      sockets.clear();
    },
  };
}

module.exports = { createWorkTracker: createWorkTracker };
