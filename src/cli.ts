// The command line: parses and wires, nothing else. Usage errors exit 2, runtime failures exit 1.
import { parseArgs } from 'node:util';
import { RtprofError, errors } from './errors';
import { HELP } from './help';
import { packageVersion } from './version';

type Command = (argv: string[]) => Promise<number>;

// Commands load on use: `rtprof ps` should not pay for fastify and the OpenTelemetry SDK.
const COMMANDS: Record<string, () => Command> = {
  agent: () => (require('./commands/agent') as typeof import('./commands/agent')).runAgent,
  run: () => (require('./commands/run') as typeof import('./commands/run')).runLaunch,
  profile: () => (require('./commands/profile') as typeof import('./commands/profile')).runProfile,
  ps: () => (require('./commands/ps') as typeof import('./commands/ps')).runPs,
  demo: () => (require('./commands/demo') as typeof import('./commands/demo')).runDemo,
};

// Commands that end by themselves once their answer is out. Should anything still hold the event
// loop open after that (a socket a target kept, a library's timer), they end anyway, saying what
// held it: a one-shot command that never returns would hang the scripts and CI jobs that run it.
const ONE_SHOT = new Set(['profile', 'ps']);
const ONE_SHOT_GRACE_MS = 2000;

export async function main(argv: string[]): Promise<void> {
  const [name, ...rest] = argv;
  let code: number;
  try {
    if (!name || name === '--help' || name === '-h' || name === 'help') {
      process.stdout.write(HELP.main);
      code = name ? 0 : 2;
    } else if (name === '--version' || name === '-v') {
      process.stdout.write(`${packageVersion()}\n`);
      code = 0;
    } else {
      const command = COMMANDS[name];
      if (!command) throw errors.usage(`unknown command '${name}'`);
      if (process.platform !== 'linux') throw errors.notLinux();
      code = await command()(rest);
    }
  } catch (err) {
    code = reportError(err);
  }
  process.exitCode = code;
  if (name !== undefined && ONE_SHOT.has(name)) exitWhenStuck(name, code);
}

function exitWhenStuck(name: string, code: number): void {
  // unref()ed: when the loop drains as it should, this never fires.
  setTimeout(() => {
    const open = process.getActiveResourcesInfo().filter((r) => r !== 'Timeout');
    process.stderr.write(`rtprof: ${name} was done but ${open.length} handle(s) kept it running (${open.join(', ')}); exiting\n`);
    process.exit(code);
  }, ONE_SHOT_GRACE_MS).unref();
}

export function reportError(err: unknown): number {
  if (err instanceof RtprofError) {
    process.stderr.write(`rtprof: ${err.message}\n`);
    return err.exitCode;
  }
  const code = (err as { code?: string }).code;
  if (typeof code === 'string' && code.startsWith('ERR_PARSE_ARGS')) {
    process.stderr.write(`rtprof: ${(err as Error).message} (see --help)\n`);
    return 2;
  }
  process.stderr.write(`rtprof: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}

export { parseArgs };
