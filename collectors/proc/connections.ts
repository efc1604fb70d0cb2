// /proc evidence of work in flight for a server with no probe: does it hold accepted client
// connections right now? Read once per interval (the tcp tables are too large for 50 Hz).
import { readFileSync } from 'node:fs';
import { socketInodes } from '../node/target-facts';

export interface ServerSockets {
  /** the process's own listening TCP ports */
  listeningPorts: number;
  /** established connections the process accepted on one of those ports */
  clientConnections: number;
}

const LISTEN = '0A';
const ESTABLISHED = '01';

export function serverSockets(pid: number): ServerSockets | undefined {
  let mine: Set<string>;
  try {
    mine = socketInodes(pid);
  } catch {
    return undefined; // no permission to read its fds, or gone
  }
  const rows: Array<{ localPort: number; state: string; inode: string }> = [];
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'latin1');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || !mine.has(cols[9]!)) continue;
      rows.push({ localPort: parseInt((cols[1] ?? '').split(':')[1] ?? '0', 16), state: cols[3]!, inode: cols[9]! });
    }
  }
  const ports = new Set(rows.filter((r) => r.state === LISTEN).map((r) => r.localPort));
  const clients = rows.filter((r) => r.state === ESTABLISHED && ports.has(r.localPort)).length;
  return { listeningPorts: ports.size, clientConnections: clients };
}
