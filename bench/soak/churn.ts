// The soak's churn: Node and Python targets started and killed continuously, some found and
// attached by the agent (inspector, gdb), some preloaded through `rtprof run`'s spawner, some killed
// before or during their attach. Every process it starts is killed by its pid or process group.
import { spawn, type ChildProcess } from 'node:child_process';

export type Kind =
  | 'node-attach'
  | 'python-attach'
  | 'node-preload'
  | 'python-preload'
  | 'node-attach-killed-early'
  | 'python-attach-killed-early'
  | 'python-attach-other-uid';

export const KINDS: readonly Kind[] = [
  'node-attach',
  'python-preload',
  'node-attach-killed-early',
  'python-attach',
  'node-preload',
  'python-attach-killed-early',
  'python-attach-other-uid',
];

const NODE_TARGET = "require('http').createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1'); setInterval(() => {}, 1000);";
const PY_TARGET = 'import time\nwhile True: time.sleep(0.1)';
export const PYTHON = '/usr/bin/python3';

export interface ChurnOptions {
  /** argv tag of the targets the agent discovers (its --match) */
  attachTag: string;
  /** writes a line to `rtprof run`'s spawner: "node|python SECONDS" */
  toSpawner: (line: string) => void;
  env: NodeJS.ProcessEnv;
  /** a target's life in seconds, [min, max) */
  lifeS: [number, number];
  /** killed-early targets' life: within the agent's discovery interval plus its attach */
  earlyLifeS: [number, number];
}

export interface Started {
  kind: Kind;
  pid?: number;
  at: number;
  lifeMs: number;
}

const between = ([lo, hi]: [number, number]): number => lo + Math.random() * (hi - lo);

export class Churn {
  private readonly children = new Set<ChildProcess>();
  private readonly timers = new Set<NodeJS.Timeout>();
  readonly started: Started[] = [];
  private next = 0;
  private stopped = false;

  constructor(private readonly options: ChurnOptions) {}

  /** Starts the next kind in turn. The other-uid kind is skipped when not root (setpriv needs it). */
  startNext(): Started {
    let kind = KINDS[this.next++ % KINDS.length]!;
    if (kind === 'python-attach-other-uid' && process.geteuid?.() !== 0) kind = KINDS[this.next++ % KINDS.length]!;
    const early = kind.endsWith('killed-early');
    const lifeMs = Math.round(between(early ? this.options.earlyLifeS : this.options.lifeS) * 1000);
    const entry: Started = { kind, at: Date.now(), lifeMs };
    this.started.push(entry);
    if (kind === 'node-preload' || kind === 'python-preload') {
      // the spawner reports the pid (SPAWNED line); it kills the target itself
      this.options.toSpawner(`${kind.startsWith('node') ? 'node' : 'python'} ${(lifeMs / 1000).toFixed(2)}\n`);
      return entry;
    }
    const tag = this.options.attachTag;
    const [command, args] = kind.startsWith('node')
      ? [process.execPath, ['-e', NODE_TARGET, tag]]
      : kind === 'python-attach-other-uid'
        ? ['setpriv', ['--reuid=65534', '--regid=65534', '--clear-groups', PYTHON, '-c', PY_TARGET, tag]]
        : [PYTHON, ['-c', PY_TARGET, tag]];
    const child = spawn(command, args, { stdio: 'ignore', detached: true, env: this.options.env });
    entry.pid = child.pid;
    this.children.add(child);
    child.once('exit', () => this.children.delete(child));
    child.once('error', () => this.children.delete(child));
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      kill(child);
    }, lifeMs);
    this.timers.add(timer);
    return entry;
  }

  /** A preloaded target's pid, from the spawner's SPAWNED line. */
  spawned(kind: 'node' | 'python', pid: number): void {
    const entry = this.started.find((s) => s.pid === undefined && s.kind === `${kind}-preload`);
    if (entry) entry.pid = pid;
  }

  /** Starts one target every everyMs until stop(). */
  run(everyMs: number): void {
    const tick = (): void => {
      if (this.stopped) return;
      this.startNext();
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        tick();
      }, everyMs);
      this.timers.add(timer);
    };
    tick();
  }

  /** Stops starting targets and kills the ones it started directly. */
  stop(): void {
    this.stopped = true;
    for (const timer of this.timers) clearTimeout(timer);
    this.timers.clear();
    for (const child of this.children) kill(child);
  }

  get alive(): number {
    return this.children.size;
  }
}

function kill(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}
