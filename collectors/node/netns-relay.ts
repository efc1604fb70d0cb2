// Reaching a Node inspector that listens on 127.0.0.1 inside another network namespace (a pod
// beside a hostPID DaemonSet): a short-lived child entered into that namespace with nsenter relays
// connections from a unix socket in the agent's own filesystem (path-bound unix sockets are not
// scoped by network namespace) to host:port inside it. It lives for one attach.
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { errors } from '../../src/errors';
import type { Dialer } from './cdp';

export interface Relay {
  dial: Dialer;
  close(): void;
}

// Runs in the child: each connection first names "host port\n", then bytes flow both ways. It
// exits when the agent closes its stdin (the agent ended or is done), so it never outlives it.
const RELAY_SOURCE = `
const net = require('net');
const server = net.createServer((c) => {
  let head = Buffer.alloc(0);
  const onData = (d) => {
    head = Buffer.concat([head, d]);
    const nl = head.indexOf(10);
    if (nl < 0) { if (head.length > 200) c.destroy(); return; }
    c.off('data', onData);
    const [host, port] = head.subarray(0, nl).toString().split(' ');
    const up = net.connect(Number(port), host);
    const rest = head.subarray(nl + 1);
    if (rest.length) up.write(rest);
    c.pipe(up).pipe(c);
    up.on('error', () => c.destroy());
    c.on('error', () => up.destroy());
  };
  c.on('data', onData);
});
server.listen(process.argv[1], () => process.stdout.write('ready\\n'));
server.on('error', (e) => { process.stderr.write(String(e.message) + '\\n'); process.exit(1); });
process.stdin.on('end', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
`;

let nsenterPath: string | null | undefined;

function findNsenter(): string | null {
  if (nsenterPath !== undefined) return nsenterPath;
  for (const dir of (process.env.PATH ?? '').split(path.delimiter).concat(['/usr/bin', '/bin', '/usr/sbin'])) {
    const candidate = path.join(dir || '.', 'nsenter');
    try {
      fs.accessSync(candidate, fs.constants.X_OK);
      return (nsenterPath = candidate);
    } catch {
      // not here
    }
  }
  return (nsenterPath = null);
}

/** Starts a relay into pid's network namespace; throws a coded error when it cannot. */
export async function openRelay(pid: number, timeoutMs: number): Promise<Relay> {
  const nsenter = findNsenter();
  if (!nsenter) throw errors.nsenterMissing(String(pid));
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rtprof-relay-'));
  const socketPath = path.join(dir, 'r.sock');
  const child: ChildProcess = spawn(
    nsenter,
    [`--net=/proc/${pid}/ns/net`, '--', process.execPath, '--max-old-space-size=32', '-e', RELAY_SOURCE, socketPath],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  const close = (): void => {
    try {
      child.stdin?.end();
      child.kill('SIGTERM');
    } catch {
      // already gone
    }
    fs.rmSync(dir, { recursive: true, force: true });
  };
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => void (stderr += d.toString()));
  const ready = await new Promise<boolean>((resolve) => {
    const timer = setTimeout(() => resolve(false), timeoutMs);
    child.stdout?.on('data', (d: Buffer) => {
      if (String(d).includes('ready')) {
        clearTimeout(timer);
        resolve(true);
      }
    });
    child.once('exit', () => {
      clearTimeout(timer);
      resolve(false);
    });
    child.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (!ready) {
    close();
    const why = stderr.trim().split('\n')[0] || 'no answer';
    throw errors.nsNet(String(pid), why);
  }
  child.unref();
  return {
    dial: (host, port) => {
      const socket = net.connect(socketPath);
      socket.write(`${host} ${port}\n`);
      return socket;
    },
    close,
  };
}
