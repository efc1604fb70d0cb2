// The kernel's TCP tables as a process sees them (/proc/PID/net/tcp and tcp6: every socket of its
// network namespace) and the socket inodes it holds (/proc/PID/fd): the one parser of both.
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';

/** The st column's states rtprof looks at, as the kernel numbers them (hex). */
export const TCP_ESTABLISHED = '01';
export const TCP_LISTEN = '0A';

export interface TcpSocket {
  /** 4: from the tcp table, 6: from tcp6 */
  family: 4 | 6;
  /** local address as the table spells it (hex, in host byte order per 32-bit word); see localHost() */
  localAddressHex: string;
  localPort: number;
  /** st, two hex digits (TCP_LISTEN, TCP_ESTABLISHED, …) */
  state: string;
  inode: string;
}

/** Rows of one table's text (its header line skipped; short rows ignored). */
export function parseTcpTable(text: string, family: 4 | 6): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const line of text.split('\n').slice(1)) {
    const cols = line.trim().split(/\s+/);
    if (cols.length < 10) continue;
    const [addressHex = '', portHex = '0'] = (cols[1] ?? '').split(':');
    out.push({ family, localAddressHex: addressHex, localPort: parseInt(portHex, 16), state: cols[3] ?? '', inode: cols[9] ?? '' });
  }
  return out;
}

/** Both tables of pid's network namespace, optionally only the rows in one state; a table it
 * cannot read (no IPv6, a process gone) adds nothing. */
export function tcpSockets(pid: number, state?: string): TcpSocket[] {
  const out: TcpSocket[] = [];
  for (const [file, family] of [
    ['tcp', 4],
    ['tcp6', 6],
  ] as const) {
    let text: string;
    try {
      text = readFileSync(`/proc/${pid}/net/${file}`, 'latin1');
    } catch {
      continue;
    }
    for (const row of parseTcpTable(text, family)) if (state === undefined || row.state === state) out.push(row);
  }
  return out;
}

/** The fds of pid that are sockets, with their inodes. Throws when /proc/PID/fd is unreadable (needs
 * the same uid or CAP_SYS_PTRACE) or the process is gone. */
export function socketFds(pid: number): Map<number, string> {
  const fds = new Map<number, string>();
  for (const name of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${name}`));
      if (m?.[1]) fds.set(Number(name), m[1]);
    } catch {
      // fd closed meanwhile
    }
  }
  return fds;
}

/** Socket inodes pid holds open; throws as socketFds does. */
export function socketInodes(pid: number): Set<string> {
  return new Set(socketFds(pid).values());
}

function decodeIpv4(hex: string): string {
  const n = parseInt(hex, 16);
  return [n & 255, (n >>> 8) & 255, (n >>> 16) & 255, (n >>> 24) & 255].join('.');
}

function decodeIpv6(hex: string): string {
  const groups: string[] = [];
  for (let w = 0; w < 4; w++) {
    const word = hex.slice(w * 8, w * 8 + 8);
    // each 32-bit word is in host (little-endian) order
    const bytes = [word.slice(6, 8), word.slice(4, 6), word.slice(2, 4), word.slice(0, 2)].join('');
    groups.push(bytes.slice(0, 4), bytes.slice(4, 8));
  }
  const text = groups.map((g) => parseInt(g, 16).toString(16)).join(':');
  if (/^0:0:0:0:0:ffff:/.test(text)) return decodeIpv4(hex.slice(24)); // v4-mapped
  if (text === '0:0:0:0:0:0:0:0') return '::';
  if (text === '0:0:0:0:0:0:0:1') return '::1';
  return text;
}

/** The local address as text: 127.0.0.1, ::1, :: (a v4-mapped v6 address as its v4 form). */
export function localHost(s: TcpSocket): string {
  return s.family === 4 ? decodeIpv4(s.localAddressHex) : decodeIpv6(s.localAddressHex);
}
