// What can be known about a Node target before touching it: is it Node, does it still handle
// SIGUSR1 (a process that does not would be killed by it), what inspector flags it runs with, and
// which TCP ports it listens on (the inspector port is found there, not assumed). The /proc reads
// themselves are collectors/proc's; this module reads Node's meaning into them.

import * as path from 'node:path';
import { sameNamespace } from '../proc/namespaces';
import { readEnviron, readSignalMasks } from '../proc/procfs';
import { localHost, socketInodes, tcpSockets, TCP_LISTEN } from '../proc/tcp';

export { isSameProcess, readCmdline, readStartTime } from '../proc/procfs';

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

/** NODE_OPTIONS of the target as it was started; undefined when /proc/PID/environ is unreadable. */
export function readNodeOptions(pid: number): string | undefined {
  const env = readEnviron(pid);
  if (env === undefined) return undefined;
  const entry = env.find((e) => e.startsWith('NODE_OPTIONS='));
  return entry === undefined ? '' : entry.slice('NODE_OPTIONS='.length);
}

export function looksLikeNode(exePath: string, argv0: string | undefined): boolean {
  const re = /^(node|nodejs)(\d+(\.\d+)*)?$/;
  return re.test(path.basename(exePath.replace(/ \(deleted\)$/, ''))) || (argv0 !== undefined && re.test(path.basename(argv0)));
}

export function handlesSigusr1(pid: number): boolean {
  const { caught, ignored } = readSignalMasks(pid);
  return (ignored & SIGUSR1_BIT) === 0n && (caught & SIGUSR1_BIT) !== 0n;
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

/** Every listening TCP socket in the target's network namespace (from its own /proc view). */
export function listeningSockets(pid: number): Listener[] {
  return tcpSockets(pid, TCP_LISTEN).map((s) => ({ host: localHost(s), port: s.localPort, inode: s.inode }));
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
  return sameNamespace(pid, 'net');
}
