// What can be known about a Node target from /proc before touching it: is it Node, does it still
// handle SIGUSR1 (a process that does not would be killed by it), what inspector flags it runs
// with, and which TCP ports it listens on (the inspector port is found there, not assumed).

import * as fs from 'node:fs';
import * as path from 'node:path';

export interface Listener {
  host: string;
  port: number;
  inode: string;
}

export interface InspectFlags {
  /** --inspect, --inspect-brk or --inspect-wait: the inspector was opened at start. */
  openedAtStart: boolean;
  /** Port named by --inspect[=host:port] / --inspect-port; 0 means "any free port"; undefined: default 9229. */
  port?: number;
  disableSigusr1: boolean;
  /** --inspect-publish-uid without http: /json/list is not served. */
  noHttpEndpoint: boolean;
}

const SIGUSR1_BIT = 1n << 9n; // signal 10 is bit 9 of SigCgt
// Options that take their value as the next argument (only these matter to find where options end).
const VALUED_OPTIONS = new Set([
  '-r',
  '--require',
  '--import',
  '--loader',
  '--experimental-loader',
  '--inspect-port',
  '--debug-port',
  '--title',
  '--conditions',
  '-C',
  '--input-type',
  '--env-file',
]);

export function readCmdline(pid: number): string[] {
  const raw = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  return raw.split('\0').filter((a, i, all) => a !== '' || i < all.length - 1);
}

/** NODE_OPTIONS of the target as it was started; undefined when /proc/PID/environ is unreadable. */
export function readNodeOptions(pid: number): string | undefined {
  try {
    const env = fs.readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    const entry = env.find((e) => e.startsWith('NODE_OPTIONS='));
    return entry === undefined ? '' : entry.slice('NODE_OPTIONS='.length);
  } catch {
    return undefined;
  }
}

/** Field 22 of /proc/PID/stat: with the pid, the identity of a process (pids are reused). */
export function readStartTime(pid: number): string | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

export function isSameProcess(pid: number, startTime: string | undefined): boolean {
  const now = readStartTime(pid);
  return now !== undefined && now === startTime;
}

export function looksLikeNode(exePath: string, argv0: string | undefined): boolean {
  const re = /^(node|nodejs)(\d+(\.\d+)*)?$/;
  return re.test(path.basename(exePath.replace(/ \(deleted\)$/, ''))) || (argv0 !== undefined && re.test(path.basename(argv0)));
}

export function handlesSigusr1(pid: number): boolean {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const caught = /^SigCgt:\s*([0-9a-f]+)/m.exec(status);
  const ignored = /^SigIgn:\s*([0-9a-f]+)/m.exec(status);
  if (!caught) return false;
  if (ignored && (BigInt(`0x${ignored[1]}`) & SIGUSR1_BIT) !== 0n) return false;
  return (BigInt(`0x${caught[1]}`) & SIGUSR1_BIT) !== 0n;
}

/** Splits NODE_OPTIONS the way Node does: whitespace-separated, double quotes group. */
export function splitNodeOptions(value: string): string[] {
  const out: string[] = [];
  const re = /"((?:[^"\\]|\\.)*)"|(\S+)/g;
  let m: RegExpExecArray | null;
  while ((m = re.exec(value)) !== null) out.push(m[1] !== undefined ? m[1].replace(/\\(.)/g, '$1') : (m[2] ?? ''));
  return out;
}

/** Node's own options from argv (those before the script) followed by NODE_OPTIONS. */
export function nodeOptionArgs(cmdline: string[], nodeOptions: string): string[] {
  const opts: string[] = [];
  for (let i = 1; i < cmdline.length; i++) {
    const arg = cmdline[i] ?? '';
    if (arg === '--' || !arg.startsWith('-')) break;
    opts.push(arg);
    if (VALUED_OPTIONS.has(arg)) opts.push(cmdline[++i] ?? '');
    if (['-e', '--eval', '-p', '--print'].includes(arg)) break;
  }
  return [...opts, ...splitNodeOptions(nodeOptions)];
}

function portOf(value: string): number | undefined {
  const port = Number(value.slice(value.lastIndexOf(':') + 1));
  return Number.isInteger(port) && port >= 0 && port < 65536 ? port : undefined;
}

export function inspectFlags(args: string[]): InspectFlags {
  const flags: InspectFlags = { openedAtStart: false, disableSigusr1: false, noHttpEndpoint: false };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] ?? '';
    const [name, value] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (name === '--inspect' || name === '--inspect-brk' || name === '--inspect-wait') {
      flags.openedAtStart = true;
      if (value !== undefined) flags.port = portOf(value) ?? flags.port;
    } else if (name === '--inspect-port' || name === '--debug-port') {
      const v = value ?? args[++i] ?? '';
      flags.port = portOf(v) ?? flags.port;
    } else if (name === '--disable-sigusr1') {
      flags.disableSigusr1 = true;
    } else if (name === '--inspect-publish-uid') {
      flags.noHttpEndpoint = !(value ?? '').includes('http');
    }
  }
  return flags;
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

/** Every listening TCP socket in the target's network namespace (from its own /proc view). */
export function listeningSockets(pid: number): Listener[] {
  const out: Listener[] = [];
  for (const file of ['tcp', 'tcp6']) {
    let text: string;
    try {
      text = fs.readFileSync(`/proc/${pid}/net/${file}`, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const cols = line.trim().split(/\s+/);
      if (cols.length < 10 || cols[3] !== '0A') continue; // 0A = LISTEN
      const [addrHex = '', portHex = '0'] = (cols[1] ?? '').split(':');
      const host = file === 'tcp' ? decodeIpv4(addrHex) : decodeIpv6(addrHex);
      out.push({ host, port: parseInt(portHex, 16), inode: cols[9] ?? '' });
    }
  }
  return out;
}

/** Socket inodes the target holds open (needs the same uid or CAP_SYS_PTRACE). */
export function socketInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const fd of fs.readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m?.[1]) inodes.add(m[1]);
    } catch {
      // fd closed meanwhile
    }
  }
  return inodes;
}

/** The listening TCP sockets that belong to the target itself. */
export function targetListeners(pid: number): Listener[] {
  const mine = socketInodes(pid);
  return listeningSockets(pid).filter((l) => mine.has(l.inode));
}

/** Where to connect for a listener: a wildcard bind is reached on loopback. */
export function connectHost(l: Listener): string {
  if (l.host === '0.0.0.0') return '127.0.0.1';
  if (l.host === '::') return '::1';
  return l.host;
}

export function sameNetworkNamespace(pid: number): boolean | undefined {
  try {
    return fs.readlinkSync(`/proc/${pid}/ns/net`) === fs.readlinkSync('/proc/self/ns/net');
  } catch {
    return undefined;
  }
}
