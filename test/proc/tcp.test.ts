// The one TCP-table parser against a real server: its listeners on 127.0.0.1 and ::1 with their
// ports, an accepted client connection counted, and a socket of another process left out.
import assert from 'node:assert/strict';
import * as net from 'node:net';
import { test } from 'node:test';
import { listeningSockets, targetListeners } from '../../collectors/node/target-facts';
import { serverSockets } from '../../collectors/proc/connections';
import { socketInodes, tcpSockets, TCP_ESTABLISHED } from '../../collectors/proc/tcp';
import { start, until } from '../helpers/processes';

const SERVER = `
const net = require('node:net');
const ports = [];
const listen = (host) => new Promise((resolve, reject) => {
  const s = net.createServer((c) => c.on('error', () => {})).listen(0, host, () => resolve(s.address().port)).on('error', reject);
});
(async () => {
  ports.push(await listen('127.0.0.1'));
  ports.push(await listen('::1').catch(() => 0));
  console.log('PORTS ' + ports.join(' '));
})();
`;

test('listeners, their hosts and ports, and accepted connections from the tcp tables', async () => {
  const server = start(process.execPath, ['-e', SERVER]);
  const [, v4, v6] = (await server.waitFor(/PORTS (\d+) (\d+)/)).map(Number);
  const client = net.connect(v4!, '127.0.0.1');
  await new Promise((resolve) => client.once('connect', resolve));
  try {
    const mine = targetListeners(server.pid).map((l) => `${l.host} ${l.port}`);
    const expected = v6 ? [`127.0.0.1 ${v4}`, `::1 ${v6}`] : [`127.0.0.1 ${v4}`];
    assert.deepEqual(mine.sort(), expected.sort());
    // The namespace's table also lists what other processes listen on; the server's own are a subset.
    assert.ok(listeningSockets(server.pid).length >= mine.length);
    const sockets = await until('the accepted connection in the table', () =>
      Promise.resolve(serverSockets(server.pid)?.clientConnections === 1 ? serverSockets(server.pid) : undefined),
    );
    assert.deepEqual(sockets, { listeningPorts: v6 ? 2 : 1, clientConnections: 1 });
    // Our client end is established too, but it is this test's socket, not the server's.
    const ours = socketInodes(process.pid);
    const clientRow = tcpSockets(process.pid, TCP_ESTABLISHED).find((s) => ours.has(s.inode) && s.localPort === client.localPort);
    assert.ok(clientRow, 'the client end is in the table under this process');
    assert.ok(!socketInodes(server.pid).has(clientRow.inode));
  } finally {
    client.destroy();
    server.kill();
    await server.exited;
  }
});
