// `rtprof agent`: watch pids and/or discovered processes, serve /metrics until SIGINT/SIGTERM.
import { Agent, type AgentOptions } from '../agent';
import { errors } from '../errors';
import { HELP } from '../help';
import { plural } from '../report/format';
import {
  AGENT_FLAGS,
  logLine,
  parseApiHost,
  parseDuration,
  parseInspectorAttach,
  parseFlags,
  parsePid,
  parsePort,
  parseRegex,
  parseUrl,
} from './options';

type AgentValues = ReturnType<typeof parseFlags<typeof AGENT_FLAGS>>;

export function agentOptionsFrom(values: AgentValues): AgentOptions {
  const sampleHz = Number(values['sample-hz']);
  if (!Number.isFinite(sampleHz) || sampleHz < 0 || sampleHz > 1000)
    throw errors.usage(`--sample-hz expects 0-1000, got '${values['sample-hz']}'`);
  if (values.http && values['no-http']) throw errors.usage('--http and --no-http contradict each other: pick one');
  return {
    pids: (values.pid ?? []).map(parsePid),
    discover: values.discover ?? false,
    match: parseRegex(values.match),
    host: values.host ?? '127.0.0.1',
    port: parsePort(values.port ?? '9464'),
    intervalMs: parseDuration('--interval', values.interval ?? '1s'),
    sampleHz,
    otlp: parseUrl('--otlp', values.otlp),
    socketPath: values.socket,
    attach: !values['no-attach'],
    // Off unless asked for: a per-request hook has a measurable cost on a small request
    // (docs/BENCHMARKS.md). `rtprof profile` turns them on: its verdict needs the requests in flight.
    httpHooks: values.http === true,
    // On unless turned off: seeing each GC pause is what the Node probe costs on a loaded
    // hello-world (docs/BENCHMARKS.md); --no-gc-pauses trades the GC series for that.
    gcPauses: values['no-gc-pauses'] !== true,
    withCommandLine: values['with-command-line'] ?? false,
    apiHosts: (values['api-host'] ?? []).map(parseApiHost),
    inspectorAttach: parseInspectorAttach(values['inspector-attach']),
    log: logLine,
  };
}

/** Resolves when SIGINT or SIGTERM arrives. */
export function untilSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolve) => {
    const on = (signal: NodeJS.Signals): void => {
      process.off('SIGINT', on);
      process.off('SIGTERM', on);
      resolve(signal);
    };
    process.on('SIGINT', on);
    process.on('SIGTERM', on);
  });
}

export async function runAgent(argv: string[]): Promise<number> {
  const values = parseFlags(argv, AGENT_FLAGS);
  if (values.help) {
    process.stdout.write(HELP.agent);
    return 0;
  }
  const options = agentOptionsFrom(values);
  if (options.pids.length === 0 && !options.discover) throw errors.noTargets();
  const agent = new Agent(options);
  const url = await agent.start();
  if (options.pids.length > 0 && agent.watcher.targets.size === 0 && !options.discover) {
    await agent.stop();
    return 1; // every --pid was bad: each already said why in one line
  }
  logLine(
    `agent serving ${url}/metrics (${plural(agent.watcher.targets.size, 'target')}${options.discover ? ', discovering' : ''}; probe socket ${agent.watcher.channel.socketPath})`,
  );
  const signal = await untilSignal();
  logLine(`${signal}: shutting down`);
  await agent.stop();
  return 0;
}
