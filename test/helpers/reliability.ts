// The fault-matrix tests' measured results for docs/RELIABILITY.md: with RTPROF_RELIABILITY_OUT
// set, each case appends one JSON line there (`npm run reliability-doc` turns them into the
// table; bench/reliability/cases.ts names the cases). Without it, recording does nothing.
import * as fs from 'node:fs';

export interface RecordedCase {
  id: string;
  /** what the fixed code did in this run, with its numbers */
  after: string;
  at: string;
}

export function recordCase(id: string, after: string): void {
  const out = process.env.RTPROF_RELIABILITY_OUT;
  if (!out) return;
  const line: RecordedCase = { id, after, at: new Date().toISOString() };
  fs.appendFileSync(out, `${JSON.stringify(line)}\n`);
}
