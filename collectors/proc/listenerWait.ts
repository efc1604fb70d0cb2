// Whether a thread's readiness wait (select, poll, accept) includes one of its process's
// listening sockets: then it is waiting for a new connection — for work — and not on a reply.
// A gunicorn sync worker's select() between requests and a server's accept() are such waits; a
// request thread's poll() on its downstream socket is not. Reads the syscall's arguments and, for
// select/poll, the fd sets in the target's memory (/proc/PID/mem, which needs the same ptrace
// access as /proc/PID/syscall). x86_64 only; elsewhere the answer is "unknown".
import { closeSync, openSync, readSync } from 'node:fs';
import { arch } from 'node:process';
import { socketFds, tcpSockets, TCP_LISTEN } from './tcp';

const SELECT = new Set([23, 270]); // select, pselect6
const POLL = new Set([7, 271]); // poll, ppoll
const ACCEPT = new Set([43, 288]); // accept, accept4
// epoll is left out on purpose: an event loop waits on its listener and its connections in one
// epoll set, so a listener there says nothing about whether work is in flight.
const MAX_FDS = 1024;
/** The listening fds are re-read at most this often (fds change with connections, listeners rarely). */
const LISTENERS_TTL_MS = 1000;

export class ListenerWaits {
  private memFd: number | undefined | null = undefined;
  private listeners: { at: number; fds: Set<number> } | undefined;
  private readonly buffer = Buffer.alloc(1024);

  constructor(readonly pid: number) {}

  /** true: the wait includes a listening socket; false: it does not; undefined: cannot tell. */
  waitsOnListener(syscallLine: string): boolean | undefined {
    if (arch !== 'x64') return undefined;
    const f = syscallLine.trim().split(' ');
    const nr = Number(f[0]);
    const arg = (i: number): number => parseInt(f[i + 1] ?? '', 16);
    try {
      if (ACCEPT.has(nr)) return true;
      const listeners = this.listenerFds();
      if (listeners.size === 0) return false;
      let fds: number[] | undefined;
      if (SELECT.has(nr)) fds = this.selectFds(arg(0), arg(1));
      else if (POLL.has(nr)) fds = this.pollFds(arg(0), arg(1));
      if (!fds) return undefined;
      return fds.some((fd) => listeners.has(fd));
    } catch {
      return undefined; // the thread moved on, or the memory is not ours to read
    }
  }

  private mem(): number | undefined {
    if (this.memFd === undefined) {
      try {
        this.memFd = openSync(`/proc/${this.pid}/mem`, 'r');
      } catch {
        this.memFd = null;
      }
    }
    return this.memFd ?? undefined;
  }

  private readAt(address: number, length: number): Buffer | undefined {
    const fd = this.mem();
    if (fd === undefined || !(address > 0) || length <= 0) return undefined;
    const n = readSync(fd, this.buffer, 0, Math.min(length, this.buffer.length), address);
    return this.buffer.subarray(0, n);
  }

  private selectFds(nfds: number, readfds: number): number[] | undefined {
    if (!(nfds > 0) || nfds > MAX_FDS) return undefined;
    const bytes = this.readAt(readfds, Math.ceil(nfds / 8));
    if (!bytes) return undefined;
    const fds: number[] = [];
    for (let fd = 0; fd < nfds && fd < bytes.length * 8; fd++) if ((bytes[fd >> 3]! >> (fd & 7)) & 1) fds.push(fd);
    return fds;
  }

  private pollFds(pollfds: number, nfds: number): number[] | undefined {
    if (!(nfds > 0) || nfds > 128) return undefined;
    const bytes = this.readAt(pollfds, nfds * 8);
    if (!bytes) return undefined;
    const fds: number[] = [];
    for (let i = 0; i + 8 <= bytes.length; i += 8) fds.push(bytes.readInt32LE(i));
    return fds;
  }

  /** The process's fds that are listening TCP sockets. */
  private listenerFds(): Set<number> {
    if (this.listeners && Date.now() - this.listeners.at < LISTENERS_TTL_MS) return this.listeners.fds;
    const listening = new Set(tcpSockets(this.pid, TCP_LISTEN).map((s) => s.inode));
    const fds = new Set<number>();
    if (listening.size > 0) {
      for (const [fd, inode] of socketFds(this.pid)) if (listening.has(inode)) fds.add(fd);
    }
    this.listeners = { at: Date.now(), fds };
    return fds;
  }

  close(): void {
    if (typeof this.memFd === 'number') {
      try {
        closeSync(this.memFd);
      } catch {
        // already closed
      }
    }
    this.memFd = null;
  }
}
