// What every benchmark returns to bench/run.ts, which writes docs/BENCHMARKS.md.
export interface BenchResult {
  name: string;
  title: string;
  /** a markdown section body: what was run, the table of results, the ratios */
  markdown: string;
  numbers: Record<string, number>;
}
