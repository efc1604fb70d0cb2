// `rtprof demo` (npm run demo): the sample Node and Python services and their downstream, the
// agent attached to both (not preloaded: the real thing), a short load on each, the two profiles
// side by side, and /metrics left up until Ctrl-C.
import { Agent } from '../agent';
import { startApp, type RunningApp } from '../demo/apps';
import { compareTable } from '../demo/compare';
import { HELP } from '../help';
import { renderText, type ProfileDocument } from '../report';
import type { Target } from '../target';
import { untilSignal } from './agent';
import { logLine, parseDuration, parseFlags, parsePort } from './options';
import { runWindow } from './profile';

const FLAGS = {
  port: { type: 'string', default: '9464' },
  duration: { type: 'string', default: '10s' },
  endpoint: { type: 'string', default: '/mixed?cpu_ms=5&io_ms=40' },
  connections: { type: 'string', default: '10' },
  rate: { type: 'string', default: '100' },
  'no-wait': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function probeConnected(targets: Target[], timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline && targets.some((t) => !['connected', 'failed', 'pending'].includes(t.probe.state))) await sleep(100);
}

export async function runDemo(argv: string[]): Promise<number> {
  const v = parseFlags(argv, FLAGS);
  if (v.help) {
    process.stdout.write(HELP.demo);
    return 0;
  }
  const port = parsePort(v.port ?? '9464');
  const durationMs = parseDuration('--duration', v.duration ?? '10s');
  const connections = Number(v.connections ?? '10');
  // A fixed rate rather than saturation: both services and the load generator share this
  // machine's cores, and a saturated demo would only show who won the scheduler.
  const rate = Number(v.rate ?? '100');
  const apps: RunningApp[] = [];
  let agent: Agent | undefined;
  try {
    const downstream = await startApp('downstream');
    apps.push(downstream);
    const env = { DOWNSTREAM_URL: downstream.url };
    const [node, python] = await Promise.all([startApp('node', env), startApp('python-asyncio', env)]);
    apps.push(node!, python!);
    logLine(
      `sample services: node pid ${node!.pid} at ${node!.url}, python pid ${python!.pid} at ${python!.url}, downstream at ${downstream.url}`,
    );
    // The service's stderr is this terminal's: Node announces its inspector there when SIGUSR1
    // opens it, which reads like an error unless said beforehand.
    logLine(
      `attaching to node pid ${node!.pid} through its inspector: the "Debugger listening on ws://127.0.0.1:9229/…", "For help, see: …" and "Debugger attached." lines are Node announcing it (expected); rtprof closes the port once its probe is in`,
    );
    agent = new Agent({
      pids: [node!.pid, python!.pid],
      discover: false,
      match: undefined,
      host: '127.0.0.1',
      port,
      intervalMs: 1000,
      sampleHz: 50,
      otlp: undefined,
      socketPath: undefined,
      attach: true,
      withCommandLine: false,
      log: logLine,
    });
    const url = await agent.start();
    const targets = [node!, python!].map((a) => agent!.watcher.targets.get(a.pid)!).filter(Boolean);
    await probeConnected(targets, 8000);
    logLine(`profiling both for ${durationMs / 1000}s under load: GET ${v.endpoint} at ${rate} req/s, ${connections} connections each`);
    const docs = await Promise.all(
      [node!, python!].map((app) =>
        runWindow(agent!.watcher, agent!.watcher.targets.get(app.pid)!, {
          durationMs,
          load: { url: `${app.url}${v.endpoint}`, rate, connections },
          log: logLine,
          progress: false,
        }),
      ),
    );
    printSideBySide(docs as [ProfileDocument, ProfileDocument]);
    process.stdout.write(`\nMetrics for both: ${url}/metrics   targets: ${url}/api/targets\n`);
    if (v['no-wait']) return 0;
    process.stdout.write('Services and agent stay up; Ctrl-C to stop.\n');
    await untilSignal();
    return 0;
  } finally {
    await agent?.stop();
    await Promise.all(apps.map((a) => a.stop()));
  }
}

function printSideBySide([node, python]: [ProfileDocument, ProfileDocument]): void {
  const color = process.stdout.isTTY === true;
  process.stdout.write(
    `\n${compareTable([
      ['Node.js (Fastify)', node],
      ['Python (asyncio)', python],
    ])}\n`,
  );
  for (const doc of [node, python]) process.stdout.write(`\n${renderText(doc, { color, width: process.stdout.columns })}`);
}
