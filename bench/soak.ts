// `npm run soak [-- --minutes 60] [--every 3s] [--doc] [--json FILE] [--from FILE]`: the agent
// under churning targets for a long while; fails when its RSS or fds grow or files are left over
// (rules in bench/soak/judge.ts). --doc writes the result into docs/RELIABILITY.md.
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import { parseDurationMs } from '../src/duration';
import { replaceDocSection } from './docSection';
import { judge, markdown, text } from './soak/judge';
import { runSoak, type SoakRun } from './soak/run';

const DOC = path.join(__dirname, '..', '..', 'docs', 'RELIABILITY.md');

/** Replaces the soak section of docs/RELIABILITY.md (between its markers) with this run's. */
export function writeSoakSection(body: string, doc = DOC): void {
  replaceDocSection(doc, 'soak', body);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      minutes: { type: 'string', default: '60' },
      every: { type: 'string', default: '3s' },
      doc: { type: 'boolean' },
      json: { type: 'string' },
      from: { type: 'string' },
      log: { type: 'string' },
    },
  });
  let run: SoakRun;
  if (values.from) {
    run = JSON.parse(fs.readFileSync(values.from, 'utf8')) as SoakRun;
  } else {
    const minutes = Number(values.minutes);
    const everyMs = parseDurationMs(values.every ?? '3s');
    if (!(minutes > 0) || everyMs === undefined) {
      process.stderr.write('soak: --minutes expects a positive number, --every a duration (3s)\n');
      return 2;
    }
    const long = minutes >= 10;
    run = await runSoak({
      churnMs: minutes * 60_000,
      everyMs,
      sampleMs: long ? 10_000 : 2000,
      scrapeMs: 2000,
      logFile: values.log ?? path.join(os.tmpdir(), `soak-agent-${process.pid}.log`),
      progress: (line) => process.stderr.write(`soak: ${line}\n`),
    });
    if (values.json) fs.writeFileSync(values.json, JSON.stringify(run));
  }
  const checks = judge(run);
  process.stdout.write(text(run, checks));
  if (values.doc) {
    writeSoakSection(markdown(run, checks));
    process.stderr.write(`soak: wrote the result into ${DOC}\n`);
  }
  return checks.every((c) => c.ok) ? 0 : 1;
}

if (require.main === module) {
  main().then(
    (code) => process.exit(code),
    (err: unknown) => {
      process.stderr.write(`soak: ${(err as Error).stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
