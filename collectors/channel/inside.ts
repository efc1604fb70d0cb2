// Channel sockets inside targets' own filesystems: a target in another mount namespace (a container)
// cannot see the agent's socket path, and one running as another user than a root agent may not
// enter its private socket dir, so the agent binds one more listening socket in a directory it
// makes in the target's /tmp (through /proc/PID/root), owned by the target's uid, and serves it
// with the same ChannelServer.
// A path-bound unix socket is reachable from any network namespace; only its path must be visible.
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as path from 'node:path';
import { createTargetDir, namespaceView, needsInsideChannel } from '../proc/namespaces';
import type { TargetDir } from '../proc/namespaces';
import type { ChannelServer } from './server';
import { errors } from '../../src/errors';

/** Where a target's probe connects, and the directory for files it must read (absent: the agent's own paths work). */
export interface TargetReach {
  socketPath: string;
  dir?: TargetDir;
}

interface Inside {
  dir: TargetDir;
  server: net.Server;
  socketPath: string;
}

const SOCKET_NAME = 'agent.sock';

export class InsideSockets {
  private readonly byPid = new Map<number, Inside>();

  constructor(
    private readonly channel: ChannelServer,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * How the probe in `pid` reaches this agent. Throws a coded error (src/errors.ts) when the target
   * is in another namespace the agent cannot reach into.
   */
  async reach(pid: number): Promise<TargetReach> {
    const known = this.byPid.get(pid);
    if (known) return { socketPath: known.socketPath, dir: known.dir };
    const view = namespaceView(pid);
    const euid = process.geteuid?.();
    if (euid !== undefined && euid !== 0 && view.uid !== euid) {
      // Only root can hand a socket to another user: fail before injecting a probe that cannot connect.
      throw errors.otherUser(String(pid), String(view.uid), String(euid));
    }
    if (!needsInsideChannel(view)) return { socketPath: this.channel.socketPath };
    const dir = createTargetDir(view);
    try {
      const onHost = path.join(dir.onHost, SOCKET_NAME);
      const server = net.createServer((socket) => this.channel.acceptFor(socket, { pid, nsPid: view.nsPid }));
      server.maxConnections = 16;
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(onHost, () => {
          server.off('error', reject);
          resolve();
        });
      });
      server.on('error', (err) => this.log(`channel: socket inside pid ${pid}: ${err.message}`));
      fs.chmodSync(onHost, 0o600);
      if (process.getuid?.() === 0 && dir.owner.uid > 0) fs.lchownSync(onHost, dir.owner.uid, dir.owner.gid);
      const inside: Inside = { dir, server, socketPath: path.join(dir.inTarget, SOCKET_NAME) };
      this.byPid.set(pid, inside);
      const why = !view.same.mnt || !view.same.pid ? 'is in another mount/pid namespace' : `runs as uid ${view.uid}`;
      this.log(`target ${pid} ${why}: its probe connects to ${inside.socketPath}, a socket made for it`);
      return { socketPath: inside.socketPath, dir };
    } catch (err) {
      dir.remove();
      throw err;
    }
  }

  /** Closes the socket made for pid and removes its directory (the target went away). */
  close(pid: number): void {
    const inside = this.byPid.get(pid);
    if (!inside) return;
    this.byPid.delete(pid);
    // Not awaited: close() waits for open connections, which the ChannelServer ends on its own.
    inside.server.close();
    inside.dir.remove();
  }

  closeAll(): void {
    for (const pid of [...this.byPid.keys()]) this.close(pid);
  }
}
