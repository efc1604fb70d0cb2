// Flags shared by `agent`, `run` and `profile`, parsed and checked once.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { INSPECTOR_ATTACH_MODES, type InspectorAttach } from '../../collectors/node/inspectorWindow';
import { parseDurationMs } from '../duration';
import { errors } from '../errors';

export const AGENT_FLAGS = {
  pid: { type: 'string', multiple: true },
  discover: { type: 'boolean' },
  match: { type: 'string' },
  host: { type: 'string', default: '127.0.0.1' },
  port: { type: 'string', default: '9464' },
  interval: { type: 'string', default: '1s' },
  'sample-hz': { type: 'string', default: '50' },
  otlp: { type: 'string' },
  socket: { type: 'string' },
  'no-attach': { type: 'boolean' },
  http: { type: 'boolean' },
  'no-http': { type: 'boolean' },
  'no-gc-pauses': { type: 'boolean' },
  'with-command-line': { type: 'boolean' },
  'api-host': { type: 'string', multiple: true },
  'inspector-attach': { type: 'string', default: 'same-user' },
  help: { type: 'boolean', short: 'h' },
} as const satisfies ParseArgsConfig['options'];

export function parsePid(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw errors.badPid(value);
  return Number(value);
}

export function parsePort(value: string): number {
  if (!/^\d+$/.test(value) || Number(value) > 65535) throw errors.badPort(value);
  return Number(value);
}

/** A name `--api-host` accepts: a DNS name, or `*.` and a suffix of at least two labels (not `*.com`). */
function isApiHostPattern(name: string): boolean {
  const label = '[a-z0-9]([a-z0-9-]*[a-z0-9])?';
  const dns = new RegExp(`^${label}(\\.${label})*$`, 'i');
  if (name.length > 253) return false;
  return name.startsWith('*.') ? dns.test(name.slice(2)) && name.slice(2).includes('.') : dns.test(name);
}

/** `--inspector-attach`: whose Node inspector may be opened in the agent's network namespace. */
export function parseInspectorAttach(value: string | undefined): InspectorAttach {
  if (value === undefined) return 'same-user';
  const mode = INSPECTOR_ATTACH_MODES.find((m) => m === value);
  if (mode) return mode;
  throw errors.usage(`--inspector-attach expects ${INSPECTOR_ATTACH_MODES.join(' or ')}, got '${value}'`);
}

export function parseApiHost(value: string): string {
  if (!isApiHostPattern(value))
    throw errors.usage(`--api-host expects a DNS name or *.suffix (e.g. rtprof.monitoring.svc), got '${value}'`);
  return value.toLowerCase();
}

export function parseDuration(flag: string, value: string): number {
  const ms = parseDurationMs(value);
  if (ms === undefined) throw errors.badDuration(flag, value);
  return ms;
}

export function parseRegex(value: string | undefined): RegExp | undefined {
  if (value === undefined) return undefined;
  try {
    return new RegExp(value);
  } catch (err) {
    throw errors.badRegex(value, (err as Error).message);
  }
}

export function parseUrl(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol === 'http:' || url.protocol === 'https:') return value;
  } catch {
    // falls through to the usage error
  }
  throw errors.badUrl(flag, value);
}

/** Splits `[flags] -- command args` at the first bare `--`. */
export function splitCommand(argv: string[]): { flags: string[]; command: string[] } {
  const at = argv.indexOf('--');
  return at < 0 ? { flags: argv, command: [] } : { flags: argv.slice(0, at), command: argv.slice(at + 1) };
}

export function parseFlags<T extends ParseArgsConfig['options']>(argv: string[], options: T) {
  return parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values;
}

export function logLine(line: string): void {
  process.stderr.write(`rtprof: ${line}\n`);
}
