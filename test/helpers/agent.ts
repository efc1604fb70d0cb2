// Runs the real `rtprof` CLI as a child process and reads its endpoints.
import { join } from 'node:path';
import { start, type Started } from './processes';

export const ROOT = join(__dirname, '..', '..', '..');
export const RTPROF = join(ROOT, 'bin', 'rtprof.js');

/** A bundled sample app (`sample-apps/<script>`) on a free loopback port, once it printed READY. */
export async function startSample(
  script: string,
  env: NodeJS.ProcessEnv = {},
  command: string = process.execPath,
): Promise<{ proc: Started; url: string }> {
  const proc = start(command, [join(ROOT, 'sample-apps', script)], { env: { ...process.env, PORT: '0', ...env } });
  try {
    const [, port] = await proc.waitFor(/READY pid=\d+ port=(\d+)/);
    return { proc, url: `http://127.0.0.1:${port}` };
  } catch (err) {
    proc.kill(); // never ready: not left running
    throw err;
  }
}

export interface RunningAgent extends Started {
  url: string;
  get: (path: string) => Promise<Response>;
  scrape: () => Promise<string>;
  stop: () => Promise<number | null>;
}

export function rtprof(args: string[], env: NodeJS.ProcessEnv = process.env): Started {
  // Run through the shebang, as users do (it carries the agent's V8 flags).
  return start(RTPROF, args, { env });
}

export async function startAgent(args: string[], env: NodeJS.ProcessEnv = process.env): Promise<RunningAgent> {
  const proc = rtprof(['agent', '--port', '0', ...args], env);
  const [, url] = await proc.waitFor(/serving (http:\/\/[^ ]+)\/metrics/, 20_000);
  const get = (path: string): Promise<Response> => fetch(`${url}${path}`);
  return {
    ...proc,
    url: url!,
    get,
    scrape: async () => (await get('/metrics')).text(),
    stop: async () => {
      proc.child.kill('SIGTERM');
      return (await proc.exited).code;
    },
  };
}

export interface PromSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A small parser of the text format, enough to assert on families, labels and values. */
export function parsePrometheus(text: string): { samples: PromSample[]; help: Map<string, number>; types: Map<string, string> } {
  const samples: PromSample[] = [];
  const help = new Map<string, number>();
  const types = new Map<string, string>();
  for (const line of text.split('\n')) {
    if (line.startsWith('# HELP ')) {
      const name = line.split(' ')[2]!;
      help.set(name, (help.get(name) ?? 0) + 1);
    } else if (line.startsWith('# TYPE ')) {
      const [, , name, type] = line.split(' ');
      types.set(name!, type!);
    } else if (line && !line.startsWith('#')) {
      const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!m) throw new Error(`unparsable line: ${line}`);
      const labels: Record<string, string> = {};
      for (const pair of (m[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) labels[pair[1]!] = pair[2]!;
      samples.push({ name: m[1]!, labels, value: Number(m[3]) });
    }
  }
  return { samples, help, types };
}

export function valuesOf(samples: PromSample[], name: string, pid: number): PromSample[] {
  return samples.filter((s) => s.name === name && s.labels.process_pid === String(pid));
}
