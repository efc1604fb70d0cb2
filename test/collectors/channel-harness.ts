// A real ChannelServer on a fresh private socket, recording what probes send, for collector tests.

import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { ChannelServer } from '../../collectors/channel/server';
import type { ChannelOptions } from '../../collectors/channel/server';
import type { HelloMessage, SnapshotMessage } from '../../collectors/channel/messages';

export interface Harness {
  server: ChannelServer;
  socketPath: string;
  hellos: HelloMessage[];
  snapshots: SnapshotMessage[];
  disconnects: number[];
  logs: string[];
  snapshotsOf: (pid: number) => SnapshotMessage[];
  /** Resolves once pid has sent n snapshots after `since` (default: all), or rejects after timeoutMs. */
  waitForSnapshots: (pid: number, n: number, timeoutMs?: number, since?: number) => Promise<SnapshotMessage[]>;
  waitFor: (what: string, cond: () => boolean, timeoutMs?: number) => Promise<void>;
  close: () => Promise<void>;
}

export async function startHarness(opts: Partial<ChannelOptions> = {}): Promise<Harness> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtprof-t-'));
  const socketPath = path.join(dir, 'agent.sock');
  const logs: string[] = [];
  const server = new ChannelServer({ socketPath, log: (l) => logs.push(l), ...opts });
  await server.listen();
  const hellos: HelloMessage[] = [];
  const snapshots: SnapshotMessage[] = [];
  const disconnects: number[] = [];
  server.on('hello', (h) => hellos.push(h));
  server.on('snapshot', (s) => snapshots.push(s));
  server.on('disconnect', (pid) => disconnects.push(pid));
  const snapshotsOf = (pid: number): SnapshotMessage[] => snapshots.filter((s) => s.pid === pid);
  const waitFor = async (what: string, cond: () => boolean, timeoutMs = 20_000): Promise<void> => {
    const until = Date.now() + timeoutMs;
    while (!cond()) {
      if (Date.now() > until) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; channel log: ${logs.join(' | ')}`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const waitForSnapshots = async (pid: number, n: number, timeoutMs = 20_000, since = 0): Promise<SnapshotMessage[]> => {
    const mine = (): SnapshotMessage[] => snapshotsOf(pid).filter((s) => s.t >= since);
    await waitFor(`${n} snapshots from pid ${pid}`, () => mine().length >= n, timeoutMs);
    return mine();
  };
  const close = async (): Promise<void> => {
    await server.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  return { server, socketPath, hellos, snapshots, disconnects, logs, snapshotsOf, waitForSnapshots, waitFor, close };
}

export function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  if (sorted.length === 0) return NaN;
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}
