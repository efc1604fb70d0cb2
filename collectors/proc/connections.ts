// /proc evidence of work in flight for a server with no probe: does it hold accepted client
// connections right now? Read once per interval (the tcp tables are too large for 50 Hz).
import { socketInodes, tcpSockets, TCP_ESTABLISHED, TCP_LISTEN } from './tcp';

export interface ServerSockets {
  /** the process's own listening TCP ports */
  listeningPorts: number;
  /** established connections the process accepted on one of those ports */
  clientConnections: number;
}

export function serverSockets(pid: number): ServerSockets | undefined {
  let mine: Set<string>;
  try {
    mine = socketInodes(pid);
  } catch {
    return undefined; // no permission to read its fds, or gone
  }
  const rows = tcpSockets(pid).filter((r) => mine.has(r.inode));
  const ports = new Set(rows.filter((r) => r.state === TCP_LISTEN).map((r) => r.localPort));
  const clients = rows.filter((r) => r.state === TCP_ESTABLISHED && ports.has(r.localPort)).length;
  return { listeningPorts: ports.size, clientConnections: clients };
}
