// Agent side of the probe channel (docs/PROTOCOL.md): a unix socket the agent owns, one connection
// per probe, authenticated by a per-pid token in the hello. Every line is checked (size, rate, JSON,
// schema); a bad line is counted by reason and dropped, a bad hello closes that connection only.

import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { MAX_LINE_BYTES, PROTOCOL_VERSION } from './messages';
import type { HelloMessage, SnapshotMessage } from './messages';
import { DROP_REASONS, parseProbeLine } from './validate';
import type { DropReason } from './validate';
import { prepareSocketDir, removeStaleSocket } from './socketFile';
import { newToken, sameToken } from './tokens';
import { feedLines, newConnection, takeToken } from './connection';
import type { Connection, PidAlias } from './connection';

export { defaultSocketPath } from './socketFile';
export { newToken, sameToken } from './tokens';

export interface ChannelOptions {
  socketPath: string;
  maxLineBytes?: number;
  maxSnapshotsPerS?: number;
  log?: (line: string) => void;
  /**
   * Asked about a hello from a pid that has no token: return true after issuing one with
   * issueToken() to accept it (`rtprof run`: a process the launched one started, presenting the
   * launch token it inherited). Never asked for a pid that has a token.
   */
  adopt?: (pid: number, token: string) => boolean;
}

export interface ChannelServerEvents {
  hello: [hello: HelloMessage];
  snapshot: [snap: SnapshotMessage];
  disconnect: [pid: number];
}

// sun_path is 108 bytes on Linux including the terminating NUL.
const MAX_SOCKET_PATH_BYTES = 107;
// An unauthenticated connection must say hello quickly and there may only be a few of them, so a
// local process cannot tie up the agent by opening connections and staying silent.
const HELLO_TIMEOUT_MS = 10_000;
const MAX_PENDING_CONNECTIONS = 64;
const BYE_LINE = JSON.stringify({ v: PROTOCOL_VERSION, type: 'bye' }) + '\n';

export class ChannelServer extends EventEmitter<ChannelServerEvents> {
  readonly socketPath: string;
  private readonly maxLineBytes: number;
  private readonly maxSnapshotsPerS: number;
  private readonly log: (line: string) => void;
  private readonly adopt: (pid: number, token: string) => boolean;
  private readonly tokens = new Map<number, string>();
  private readonly byPid = new Map<number, Connection>();
  private readonly all = new Set<Connection>();
  private readonly drops = new Map<DropReason, number>(DROP_REASONS.map((r) => [r, 0]));
  private server: net.Server | null = null;

  constructor(opts: ChannelOptions) {
    super();
    if (!opts.socketPath || !path.isAbsolute(opts.socketPath)) {
      throw new Error(`channel socket path must be absolute, got "${opts.socketPath}"`);
    }
    if (Buffer.byteLength(opts.socketPath) > MAX_SOCKET_PATH_BYTES) {
      throw new Error(
        `channel socket path is longer than ${MAX_SOCKET_PATH_BYTES} bytes (unix socket limit): ${opts.socketPath}; choose a shorter --socket`,
      );
    }
    this.socketPath = opts.socketPath;
    this.maxLineBytes = opts.maxLineBytes ?? MAX_LINE_BYTES;
    this.maxSnapshotsPerS = opts.maxSnapshotsPerS ?? 20;
    this.log = opts.log ?? (() => {});
    this.adopt = opts.adopt ?? (() => false);
  }

  /** Creates the parent dir (0700) or checks the existing one, removes a stale socket, listens, chmods the socket 0600. */
  async listen(): Promise<void> {
    if (this.server) throw new Error('channel server is already listening');
    prepareSocketDir(path.dirname(this.socketPath));
    await removeStaleSocket(this.socketPath);
    const server = net.createServer((socket) => this.acceptFor(socket));
    server.maxConnections = 4096;
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        reject(new Error(`cannot listen on channel socket ${this.socketPath}: ${err.code ?? err.message}`));
      };
      server.once('error', onError);
      server.listen(this.socketPath, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => this.log(`channel: server error: ${err.message}`));
    // The chmod keeps the socket private in a shared dir, or if its dir is moved/relaxed.
    fs.chmodSync(this.socketPath, 0o600);
    this.server = server;
  }

  /**
   * The token the probe in `pid` must present; replaces any earlier one for that pid. `rtprof run`
   * needs the token in the child's env before the pid exists: make one with newToken(), spawn, then
   * issueToken(child.pid, token) in the same tick (the child cannot connect before that).
   */
  issueToken(pid: number, token: string = newToken()): string {
    if (!Number.isInteger(pid) || pid <= 0) throw new Error(`issueToken: bad pid ${pid}`);
    if (token.length < 16) throw new Error('issueToken: token must be at least 16 characters');
    this.tokens.set(pid, token);
    return token;
  }

  /** Forgets the pid's token, says bye to its probe and closes its connection. */
  revokeToken(pid: number): void {
    this.tokens.delete(pid);
    this.sendBye(pid);
  }

  /** Tells the pid's probe to stop for good and closes the connection (no-op when not connected). */
  sendBye(pid: number): void {
    const conn = this.byPid.get(pid);
    if (!conn) return;
    try {
      conn.socket.end(BYE_LINE);
    } catch (err) {
      this.log(`channel: bye to pid ${pid} failed: ${(err as Error).message}`);
      conn.socket.destroy();
    }
  }

  isConnected(pid: number): boolean {
    return this.byPid.has(pid);
  }

  droppedCounts(): Record<string, number> {
    return Object.fromEntries(this.drops);
  }

  /** Stops listening and drops every connection without a bye: probes reconnect to a restarted agent. */
  async close(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const conn of this.all) conn.socket.destroy();
    // Bounded: every connection was just destroyed, and a stop must not hang on one the server
    // still counts.
    if (server)
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 1000);
        timer.unref();
        server.close(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    try {
      fs.unlinkSync(this.socketPath);
    } catch {
      // already gone
    }
  }

  /**
   * Serves one accepted connection. With `only`, it came in on a socket made for that target
   * (collectors/channel/inside.ts): its pid as the target knows it is read as the agent's, and a
   * hello for any other pid is refused.
   */
  acceptFor(socket: net.Socket, only?: PidAlias): void {
    const pending = [...this.all].filter((c) => c.pid === null).length;
    if (pending >= MAX_PENDING_CONNECTIONS) {
      this.drop('no_hello', 'too many connections without hello');
      socket.destroy();
      return;
    }
    const conn = newConnection(socket, this.maxSnapshotsPerS, only);
    conn.helloTimer = setTimeout(() => {
      this.drop('no_hello', 'no hello within 10 s');
      socket.destroy();
    }, HELLO_TIMEOUT_MS);
    conn.helloTimer.unref();
    this.all.add(conn);
    socket.on('data', (chunk: Buffer) => this.guard(() => this.onData(conn, chunk)));
    socket.on('error', (err) => this.log(`channel: connection error: ${err.message}`));
    socket.on('close', () => this.guard(() => this.onClose(conn)));
  }

  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log(`channel: internal error: ${(err as Error).stack ?? String(err)}`);
    }
  }

  private onData(conn: Connection, chunk: Buffer): void {
    feedLines(
      conn,
      chunk,
      this.maxLineBytes,
      (line) => this.onLine(conn, line),
      () => this.rejectLine(conn, 'too_long', `line over ${this.maxLineBytes} bytes`),
    );
  }

  private onLine(conn: Connection, line: string): void {
    if (line.trim() === '') return;
    // Rate is checked before parsing so a flood of junk costs no JSON parsing.
    if (conn.pid !== null && !takeToken(conn, this.maxSnapshotsPerS)) {
      this.drop('rate_limited', `pid ${conn.pid}`);
      return;
    }
    const parsed = parseProbeLine(line);
    if (!parsed.ok) {
      this.rejectLine(conn, parsed.reason, parsed.detail);
      return;
    }
    const msg = parsed.msg;
    if (conn.only) {
      if (msg.pid === conn.only.nsPid) msg.pid = conn.only.pid;
      if (msg.pid !== conn.only.pid) {
        this.rejectLine(conn, 'wrong_pid', `pid ${msg.pid} on the socket made for pid ${conn.only.pid}`);
        return;
      }
    }
    if (msg.type === 'hello') this.onHello(conn, msg);
    else if (conn.pid === null) this.rejectLine(conn, 'no_hello', 'snapshot before hello');
    else if (msg.pid !== conn.pid) this.drop('wrong_pid', `snapshot for pid ${msg.pid} on pid ${conn.pid}'s connection`);
    else this.emitSafely('snapshot', msg);
  }

  /** Counts a bad line; before a valid hello the connection is not trusted and is closed. */
  private rejectLine(conn: Connection, reason: DropReason, detail: string): void {
    this.drop(reason, detail);
    if (conn.pid === null) conn.socket.destroy();
  }

  private onHello(conn: Connection, hello: HelloMessage): void {
    if (conn.pid !== null) {
      this.drop('bad_schema', `second hello on pid ${conn.pid}'s connection`);
      return;
    }
    let expected = this.tokens.get(hello.pid);
    if (expected === undefined) {
      try {
        if (this.adopt(hello.pid, hello.token)) expected = this.tokens.get(hello.pid);
      } catch (err) {
        this.log(`channel: adopt threw: ${(err as Error).message}`);
      }
    }
    if (expected === undefined || !sameToken(expected, hello.token)) {
      const ownerPid = [...this.tokens].find(([, token]) => sameToken(token, hello.token))?.[0];
      this.drop(ownerPid !== undefined ? 'wrong_pid' : 'bad_token', `hello claiming pid ${hello.pid}`);
      conn.socket.destroy();
      return;
    }
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    conn.helloTimer = null;
    conn.pid = hello.pid;
    const previous = this.byPid.get(hello.pid);
    this.byPid.set(hello.pid, conn);
    // A re-attached probe replaces its older connection; that is not a disconnect of the target.
    if (previous && previous !== conn) previous.socket.destroy();
    this.emitSafely('hello', hello);
  }

  private onClose(conn: Connection): void {
    if (conn.helloTimer) clearTimeout(conn.helloTimer);
    this.all.delete(conn);
    if (conn.pid !== null && this.byPid.get(conn.pid) === conn) {
      this.byPid.delete(conn.pid);
      this.emitSafely('disconnect', conn.pid);
    }
  }

  private drop(reason: DropReason, detail: string): void {
    const count = (this.drops.get(reason) ?? 0) + 1;
    this.drops.set(reason, count);
    // Log the first of each reason and then every 1000th, so a misbehaving probe cannot flood the log.
    if (count === 1 || count % 1000 === 0) this.log(`channel: dropped (${reason}, total ${count}): ${detail}`);
  }

  private emitSafely<K extends keyof ChannelServerEvents>(event: K, ...args: ChannelServerEvents[K]): void {
    try {
      (this.emit as (e: string, ...a: unknown[]) => boolean)(event, ...args);
    } catch (err) {
      this.log(`channel: '${event}' listener threw: ${(err as Error).stack ?? String(err)}`);
    }
  }
}
