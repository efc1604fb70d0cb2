// `npm run reliability-doc [-- --from FILE]`: runs the fault-matrix tests with
// RTPROF_RELIABILITY_OUT set (each case records its measured result as a JSON line), then rewrites
// the table of docs/RELIABILITY.md from those results. --from reads a results file instead, e.g.
// from `RTPROF_RELIABILITY_OUT=FILE npm test`.
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from 'node:util';
import type { RecordedCase } from '../test/helpers/reliability';
import { replaceDocSection } from './docSection';
import { CASES } from './reliability/cases';

const ROOT = path.join(__dirname, '..', '..');
const DOC = path.join(ROOT, 'docs', 'RELIABILITY.md');

const compiled = (test: string): string => path.join(ROOT, 'dist', test.replace(/\.ts$/, '.js'));

/** `node --test` runs: the whole files in one, each file limited to some tests in one of its own. */
export function testRuns(): string[][] {
  const whole = [...new Set(CASES.filter((c) => !c.only).map((c) => c.test))];
  const runs = [['--test', '--test-concurrency=1', ...whole.map(compiled)]];
  for (const c of CASES) if (c.only) runs.push(['--test', `--test-name-pattern=${c.only}`, compiled(c.test)]);
  return runs;
}

export function readResults(file: string): Map<string, RecordedCase> {
  const results = new Map<string, RecordedCase>();
  if (!fs.existsSync(file)) return results;
  for (const line of fs.readFileSync(file, 'utf8').split('\n')) {
    if (!line.trim()) continue;
    const r = JSON.parse(line) as RecordedCase;
    results.set(r.id, r); // the latest run of a case wins
  }
  return results;
}

const cell = (text: string): string => text.replace(/\|/g, '\\|');

export function renderTable(results: Map<string, RecordedCase>): string {
  const dates = [...results.values()].map((r) => r.at).sort();
  const measured = CASES.filter((c) => results.has(c.id)).length;
  const lines = [
    `Measured ${dates[0]?.slice(0, 16) ?? '—'}Z to ${dates.at(-1)?.slice(0, 16) ?? '—'}Z on ${os.cpus().length} cores, ` +
      `Linux ${os.release()}, Node ${process.version}, uid ${process.geteuid?.()}: ${measured} of ${CASES.length} cases.`,
    '',
    '| # | case | before | after (measured by the test) | test |',
    '| --- | --- | --- | --- | --- |',
    ...CASES.map((c) => {
      const after = results.get(c.id)?.after ?? '**not measured in this run** (test skipped, failed or not run)';
      return `| ${c.item} | ${cell(c.case)} | ${cell(c.before)} | ${cell(after)} | \`${c.test}\` |`;
    }),
  ];
  return `${lines.join('\n')}\n`;
}

export function writeTable(body: string, doc = DOC): void {
  replaceDocSection(doc, 'reliability', body);
}

function main(): number {
  const { values } = parseArgs({ options: { from: { type: 'string' } } });
  let file = values.from;
  let status = 0;
  if (!file) {
    file = path.join(os.tmpdir(), `reliability-${process.pid}.jsonl`);
    fs.rmSync(file, { force: true });
    for (const args of testRuns()) {
      const run = spawnSync(process.execPath, args, { cwd: ROOT, stdio: 'inherit', env: { ...process.env, RTPROF_RELIABILITY_OUT: file } });
      if (run.status !== 0) status = run.status ?? 1;
    }
  }
  const results = readResults(file);
  writeTable(renderTable(results));
  process.stderr.write(`reliability-doc: ${results.size} results from ${file} written into ${DOC}\n`);
  if (!values.from) fs.rmSync(file, { force: true });
  return status;
}

if (require.main === module) process.exit(main());
