// The channel's socket file: where it goes by default, a private directory for it, and what is
// done with one a dead agent left behind.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { ensureOwnDir } from '../privateDir';

/** `$XDG_RUNTIME_DIR/rtprof/agent-<pid>.sock`, else `/tmp/rtprof-<uid>/agent-<pid>.sock`. */
export function defaultSocketPath(agentPid: number = process.pid): string {
  const runtimeDir = process.env.XDG_RUNTIME_DIR;
  const dir =
    runtimeDir && path.isAbsolute(runtimeDir)
      ? path.join(runtimeDir, 'rtprof')
      : path.join(os.tmpdir(), `rtprof-${process.getuid?.() ?? 'user'}`);
  return path.join(dir, `agent-${agentPid}.sock`);
}

/** The socket's dir is made private, or, when it exists, must not let another user swap the socket. */
export function prepareSocketDir(dir: string): void {
  ensureOwnDir(dir, true);
}

/** Removes a socket file left by a dead agent; refuses when a live agent still answers on it. */
export async function removeStaleSocket(socketPath: string): Promise<void> {
  let st: fs.Stats;
  try {
    st = fs.lstatSync(socketPath);
  } catch {
    return;
  }
  if (!st.isSocket()) throw new Error(`channel socket path ${socketPath} exists and is not a socket; remove it or choose another --socket`);
  const live = await new Promise<boolean>((resolve) => {
    const probe = net.createConnection(socketPath);
    const timer = setTimeout(() => {
      probe.destroy();
      resolve(true); // accepted-but-silent or slow: treat as alive rather than steal it
    }, 1000);
    probe.once('connect', () => {
      clearTimeout(timer);
      probe.destroy();
      resolve(true);
    });
    probe.once('error', () => {
      clearTimeout(timer);
      resolve(false);
    });
  });
  if (live) throw new Error(`channel socket ${socketPath} is in use by a running agent; stop it or choose another --socket`);
  fs.unlinkSync(socketPath);
}
