// A minimal Chrome DevTools Protocol client for one job: find a Node inspector's websocket on a
// port, evaluate an expression, disconnect. Loopback only; every wait is bounded.

import * as http from 'node:http';
import type * as net from 'node:net';
import WebSocket from 'ws';

/** Opens a connection to host:port some other way (collectors/node/netns-relay.ts); absent: directly. */
export type Dialer = (host: string, port: number) => net.Socket;

export interface InspectorTarget {
  webSocketDebuggerUrl: string;
  /** e.g. "node" */
  type: string;
}

/** GET /json/list on host:port. Resolves null when it is not a Node inspector (or does not answer). */
export function listInspectorTargets(host: string, port: number, timeoutMs: number, dial?: Dialer): Promise<InspectorTarget[] | null> {
  return new Promise((resolve) => {
    const req = http.get(
      {
        host,
        port,
        path: '/json/list',
        timeout: timeoutMs,
        headers: { host: `${hostForUrl(host)}:${port}` },
        ...(dial ? { agent: dialingAgent(dial, host, port) } : {}),
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => {
          body += chunk;
          if (body.length > 1 << 20) req.destroy();
        });
        res.on('end', () => {
          try {
            const list: unknown = JSON.parse(body);
            if (!Array.isArray(list)) return resolve(null);
            const targets = list.filter(
              (t): t is InspectorTarget => typeof t === 'object' && t !== null && typeof t.webSocketDebuggerUrl === 'string',
            );
            resolve(targets.length > 0 ? targets : null);
          } catch {
            resolve(null);
          }
        });
        res.on('error', () => resolve(null));
      },
    );
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(null));
  });
}

/** An http agent whose every connection is dial(host, port) (http.get's own createConnection
 * option is not used when an agent is). */
function dialingAgent(dial: Dialer, host: string, port: number): http.Agent {
  const agent = new http.Agent({ keepAlive: false });
  agent.createConnection = () => dial(host, port);
  return agent;
}

export function hostForUrl(host: string): string {
  return host.includes(':') ? `[${host}]` : host;
}

export interface EvaluateOutcome {
  /** The returned value (returnByValue) when the expression completed. */
  value?: unknown;
  /** Exception text when it threw. */
  exception?: string;
  /** The connection closed before an answer (e.g. the expression closed the inspector). */
  closed?: boolean;
}

/** One CDP session over a websocket. */
export class CdpSession {
  private nextId = 1;
  private readonly pending = new Map<number, (msg: Record<string, unknown> | null) => void>();
  private closedFlag = false;
  private readonly closedPromise: Promise<void>;

  private constructor(private readonly ws: WebSocket) {
    this.closedPromise = new Promise((resolve) => {
      ws.on('close', () => {
        this.closedFlag = true;
        for (const settle of this.pending.values()) settle(null);
        this.pending.clear();
        resolve();
      });
    });
    ws.on('message', (data) => {
      try {
        const msg = JSON.parse(String(data)) as Record<string, unknown>;
        if (typeof msg.id !== 'number') return; // an event; we subscribe to none
        const settle = this.pending.get(msg.id);
        this.pending.delete(msg.id);
        settle?.(msg);
      } catch {
        // not JSON: ignore
      }
    });
    ws.on('error', () => {
      // 'close' follows; errors are reported through the pending calls
    });
  }

  static connect(url: string, timeoutMs: number, dial?: Dialer): Promise<CdpSession> {
    return new Promise((resolve, reject) => {
      const { hostname, port } = new URL(url);
      const host = hostname.replace(/^\[|\]$/g, '');
      const ws = new WebSocket(url, {
        perMessageDeflate: false,
        handshakeTimeout: timeoutMs,
        maxPayload: 16 << 20,
        ...(dial ? { createConnection: () => dial(host, Number(port)) } : {}),
      });
      ws.once('open', () => resolve(new CdpSession(ws)));
      ws.once('error', (err) => reject(err));
    });
  }

  get closed(): boolean {
    return this.closedFlag;
  }

  /** Runtime.evaluate with the command-line API (that is where the inspector's `require` lives). */
  evaluate(expression: string, timeoutMs: number, awaitPromise = false): Promise<EvaluateOutcome> {
    if (this.closedFlag) return Promise.resolve({ closed: true });
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`no answer from the inspector within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, (msg) => {
        clearTimeout(timer);
        if (msg === null) return resolve({ closed: true });
        const error = msg.error as { message?: string } | undefined;
        if (error) return resolve({ exception: error.message ?? 'protocol error' });
        const result = msg.result as {
          result?: { value?: unknown };
          exceptionDetails?: { text?: string; exception?: { description?: string } };
        };
        const details = result?.exceptionDetails;
        if (details) return resolve({ exception: details.exception?.description ?? details.text ?? 'exception' });
        resolve({ value: result?.result?.value });
      });
      const params = { expression, includeCommandLineAPI: true, returnByValue: true, silent: true, awaitPromise };
      this.ws.send(JSON.stringify({ id, method: 'Runtime.evaluate', params }), (err) => {
        if (err) {
          clearTimeout(timer);
          this.pending.delete(id);
          resolve({ closed: true });
        }
      });
    });
  }

  /** Closes our side and waits (bounded) for the socket to be gone. */
  async close(timeoutMs: number): Promise<void> {
    if (!this.closedFlag) {
      try {
        this.ws.close();
      } catch {
        this.ws.terminate();
      }
    }
    await this.waitClosed(timeoutMs);
    if (!this.closedFlag) this.ws.terminate();
  }

  waitClosed(timeoutMs: number): Promise<void> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    return Promise.race([this.closedPromise, timeout]).finally(() => clearTimeout(timer));
  }
}
