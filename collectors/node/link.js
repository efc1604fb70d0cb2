'use strict';
// The Node probe's connection to the agent (probe.js): the hello, NDJSON lines queued while the
// socket is away, reconnects with backoff, and leaving an agent that said bye or stayed away too
// long. A guest in the host: the socket and timers are unref()ed, every callback guarded.

const guard = require('./sampler').guard;

const MAX_QUEUE = 64;
// After a reconnect only the newest lines are sent, so the backlog stays under the agent's rate limit.
const MAX_FLUSH_AFTER_RECONNECT = 16;
const MAX_INBOUND_BYTES = 64 * 1024;
const BACKOFF_FIRST_MS = 500;
const BACKOFF_MAX_MS = 30000;
const GIVE_UP_MS = 10 * 60 * 1000;
// A connection the agent closes right after our hello (wrong token) is not "having the agent".
const CONNECTION_COUNTS_AFTER_MS = 5000;

function noop() {}

/**
 * s: the probe's state (config, running, dropped, startedAt); version: the probe's, for the hello;
 * leave(): called on the agent's bye, or when the agent has been unreachable for the config's giveUpMs.
 */
function createLink(s, version, leave) {
  const net = require('net');
  let socket = null;
  let connectedAt = 0;
  let writable = false;
  let backoffMs = BACKOFF_FIRST_MS;
  let reconnectTimer = null;
  let lastGoodAt = Date.now();
  let inbound = '';
  const queue = [];

  function helloLine() {
    return JSON.stringify({
      v: 1,
      type: 'hello',
      pid: process.pid,
      token: s.config.token,
      runtime: 'nodejs',
      runtimeVersion: process.versions.node,
      probeVersion: version,
      attach: s.config.attach,
      intervalMs: s.config.intervalMs,
      startedAt: s.startedAt,
    });
  }

  function flush() {
    while (writable && socket && queue.length > 0) {
      const line = queue.shift();
      // write() returning false means the agent is slow: wait for 'drain', keep the rest queued.
      if (!socket.write(line + '\n')) writable = false;
    }
  }

  function onAgentLine(line) {
    let msg;
    try {
      msg = JSON.parse(line);
    } catch (e) {
      return;
    }
    if (msg && msg.v === 1 && msg.type === 'bye') leave();
  }

  function scheduleReconnect() {
    if (!s.running || reconnectTimer) return;
    // An older copy of this file (another install path) may have normalized this config: no giveUpMs.
    if (Date.now() - lastGoodAt > (s.config.giveUpMs || GIVE_UP_MS)) {
      leave();
      return;
    }
    const delay = backoffMs;
    backoffMs = Math.min(backoffMs * 2, BACKOFF_MAX_MS);
    reconnectTimer = setTimeout(
      guard(() => {
        reconnectTimer = null;
        connect();
      }),
      delay,
    );
    reconnectTimer.unref();
  }

  function onClosed(sock) {
    if (sock !== socket) return;
    if (connectedAt && Date.now() - connectedAt >= CONNECTION_COUNTS_AFTER_MS) lastGoodAt = Date.now();
    socket = null;
    writable = false;
    connectedAt = 0;
    scheduleReconnect();
  }

  function connect() {
    if (!s.running) return;
    const sock = net.createConnection(s.config.socket);
    socket = sock;
    sock.unref();
    sock.setEncoding('utf8');
    sock.on(
      'connect',
      guard(() => {
        if (sock !== socket) return;
        connectedAt = Date.now();
        backoffMs = BACKOFF_FIRST_MS;
        writable = true;
        if (queue.length > MAX_FLUSH_AFTER_RECONNECT) s.dropped += queue.splice(0, queue.length - MAX_FLUSH_AFTER_RECONNECT).length;
        queue.unshift(helloLine());
        flush();
      }),
    );
    sock.on(
      'drain',
      guard(() => {
        if (sock !== socket) return;
        writable = true;
        flush();
      }),
    );
    sock.on(
      'data',
      guard((chunk) => {
        inbound += chunk;
        let nl;
        while ((nl = inbound.indexOf('\n')) !== -1) {
          const line = inbound.slice(0, nl);
          inbound = inbound.slice(nl + 1);
          onAgentLine(line);
          if (sock !== socket) return;
        }
        if (inbound.length > MAX_INBOUND_BYTES) inbound = '';
      }),
    );
    sock.on('error', noop);
    sock.on(
      'close',
      guard(() => onClosed(sock)),
    );
  }

  return {
    start() {
      lastGoodAt = Date.now();
      connect();
    },
    /** New socket/token (second attach): drop the old connection and greet the new agent. */
    restart() {
      this.stop();
      backoffMs = BACKOFF_FIRST_MS;
      this.start();
    },
    send(line) {
      if (queue.length >= MAX_QUEUE) {
        queue.shift();
        s.dropped++;
      }
      queue.push(line);
      flush();
    },
    stop() {
      if (reconnectTimer) clearTimeout(reconnectTimer);
      reconnectTimer = null;
      const sock = socket;
      socket = null;
      writable = false;
      inbound = '';
      queue.length = 0;
      if (sock) sock.destroy();
    },
  };
}

module.exports = { createLink: createLink, GIVE_UP_MS: GIVE_UP_MS };
