// `rtprof run -- CMD`: the agent plus a child launched with the probe preloaded. The agent lives
// as long as the child and exits with the child's exit code.
import { spawn, type ChildProcess } from 'node:child_process';
import { preloadEnv } from '../../collectors/preload';
import type { ProbeSettings } from '../../collectors/probeConfig';
import { Agent } from '../agent';
import { newToken } from '../../collectors/channel/server';
import { errors } from '../errors';
import { HELP } from '../help';
import { agentOptionsFrom } from './agent';
import { AGENT_FLAGS, logLine, parseFlags, splitCommand } from './options';

export interface Launch {
  command: string[];
  /** what the preloaded probe is told: the agent's socket, its token, interval, hooks */
  probe: ProbeSettings;
  stdio?: 'inherit' | 'pipe';
}

/** Spawns the command with the probe's environment; resolves once it has a pid. */
export function launchWithProbe({ command, probe, stdio = 'inherit' }: Launch): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(command[0]!, command.slice(1), { stdio, env: preloadEnv(process.env, probe) });
    child.once('spawn', () => resolve(child));
    child.once('error', (err) => reject(errors.launchFailed(command.join(' '), err.message)));
  });
}

export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const signals: Record<string, number> = { SIGHUP: 1, SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };
  return 128 + (signal ? (signals[signal] ?? 0) : 0);
}

export async function runLaunch(argv: string[]): Promise<number> {
  const { flags, command } = splitCommand(argv);
  const values = parseFlags(flags, AGENT_FLAGS);
  if (values.help) {
    process.stdout.write(HELP.run);
    return 0;
  }
  if (command.length === 0) throw errors.usage('rtprof run needs a command after --, e.g. rtprof run -- node app.js');
  const options = agentOptionsFrom(values);
  const agent = new Agent(options);
  const url = await agent.start();
  const token = newToken();
  let child: ChildProcess;
  try {
    child = await launchWithProbe({
      command,
      probe: {
        socketPath: agent.watcher.channel.socketPath,
        token,
        intervalMs: options.intervalMs,
        http: options.httpHooks !== false,
        gc: options.gcPauses !== false,
      },
    });
  } catch (err) {
    await agent.stop();
    throw err;
  }
  agent.watcher.expectPreload(child.pid!, token);
  agent.watcher.watchDescendantsOf(child.pid!, token);
  logLine(`launched ${command.join(' ')} (pid ${child.pid}); metrics at ${url}/metrics`);
  // Ctrl-C reaches the child through the terminal's process group; SIGTERM to us is passed on, to
  // the child and to the Node/Python processes it started (a wrapper such as `sh -c` does not pass
  // it on, and the service would outlive us).
  const forward = (signal: NodeJS.Signals): void => {
    const descendants = agent.watcher.descendantPids();
    child.kill(signal);
    for (const pid of descendants) {
      try {
        process.kill(pid, signal);
      } catch {
        // already gone
      }
    }
  };
  process.on('SIGTERM', forward);
  process.on('SIGINT', () => undefined);
  const code = await new Promise<number>((resolve) => child.once('exit', (c, s) => resolve(exitCodeOf(c, s))));
  process.off('SIGTERM', forward);
  await agent.stop();
  return code;
}
