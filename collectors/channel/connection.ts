// One probe's connection to the agent's channel socket as the server reads it: bytes framed into
// lines under a size limit, and a token bucket on how many lines a second it may send. What a line
// means (hello, snapshot, who may send it) is server.ts's.
import type * as net from 'node:net';

/** A target's pid as the agent sees it, and as the target sees itself (another pid namespace). */
export interface PidAlias {
  pid: number;
  nsPid: number;
}

export interface Connection {
  socket: net.Socket;
  pid: number | null;
  buffered: Buffer[];
  bufferedBytes: number;
  discarding: boolean;
  tokens: number;
  refilledAt: number;
  helloTimer: NodeJS.Timeout | null;
  /** A socket made for one target (ChannelServer.acceptFor): only that pid may say hello on it. */
  only?: PidAlias;
}

/** A connection not yet authenticated, with a full bucket of `linesPerS` tokens. */
export function newConnection(socket: net.Socket, linesPerS: number, only: PidAlias | undefined): Connection {
  return {
    socket,
    pid: null,
    buffered: [],
    bufferedBytes: 0,
    discarding: false,
    tokens: linesPerS,
    refilledAt: Date.now(),
    helloTimer: null,
    only,
  };
}

/**
 * Feeds one chunk: `onLine` for each complete line, `onTooLong` once for a line past `maxLineBytes`
 * (the rest of that line, up to its newline, is skipped). Stops when the socket is destroyed.
 */
export function feedLines(
  conn: Connection,
  chunk: Buffer,
  maxLineBytes: number,
  onLine: (line: string) => void,
  onTooLong: () => void,
): void {
  let start = 0;
  while (start < chunk.length && !conn.socket.destroyed) {
    const nl = chunk.indexOf(0x0a, start);
    const end = nl === -1 ? chunk.length : nl;
    if (!conn.discarding) {
      conn.buffered.push(chunk.subarray(start, end));
      conn.bufferedBytes += end - start;
      if (conn.bufferedBytes > maxLineBytes) {
        // Count the oversized line once, then skip the rest of it up to its newline.
        conn.buffered = [];
        conn.bufferedBytes = 0;
        conn.discarding = true;
        onTooLong();
      }
    }
    if (nl === -1) break;
    if (conn.discarding) conn.discarding = false;
    else onLine(Buffer.concat(conn.buffered, conn.bufferedBytes).toString('utf8'));
    conn.buffered = [];
    conn.bufferedBytes = 0;
    start = nl + 1;
  }
}

/** Takes one line's token from the connection's bucket (refilled at `linesPerS`); false when empty. */
export function takeToken(conn: Connection, linesPerS: number): boolean {
  const now = Date.now();
  conn.tokens = Math.min(linesPerS, conn.tokens + ((now - conn.refilledAt) * linesPerS) / 1000);
  conn.refilledAt = now;
  if (conn.tokens < 1) return false;
  conn.tokens -= 1;
  return true;
}
