// What the showdown measures, per runtime and per load scenario, and when a window counts as
// contended: the seam between the run (bench/showdown.ts), the report (bench/showdownReport.ts)
// and the claim judge (bench/showdownClaims.ts).

export type RuntimeKey = 'node' | 'asyncio' | 'threaded' | 'fastapi';
export type ScenarioKey = 'json-rate' | 'json-sat' | 'io-rate' | 'io-sat' | 'cpu-rate' | 'cpu-sat';

export interface Scenario {
  key: ScenarioKey;
  title: string;
  path: string;
  /** requests per second over all connections; undefined = as fast as the service answers */
  rate: number | undefined;
  connections: number;
}

export interface ScenarioResult {
  rps: number;
  requests: number;
  /** non-2xx answers, timeouts and socket errors */
  errors: number;
  latencyMs: { p50: number; p99: number; max: number };
  /** user + system CPU of the service over the window, per answered request */
  cpuPerRequestMs: number;
  /** average cores the service used */
  cores: number;
  /** rtprof: Node event loop or asyncio loop delay p99 (null: the service has no loop) */
  loopDelayP99Ms: number | null;
  /** rtprof's CPython probe: how late its own thread wakes, i.e. GIL contention (Python only) */
  interpreterDelayP99Ms: number | null;
  /** rtprof: GC pause time ÷ window wall time (null: no probe) */
  gcShare: number | null;
  gcCount: number | null;
  rssPeakBytes: number;
  verdict: string;
  /** rtprof: shares of the main thread's busy wall time */
  busyShares: { cpu: number; io: number; runqueue: number; lock: number; other: number };
  /** rtprof: share of the process's CPU that ran on the main thread (null: not measured) */
  mainThreadCpuShare: number | null;
  /** CPU used on the load side (load generator + rtprof + downstream), in cores of CPU 1 */
  loadSideCores: number;
  /** CPU 0 time not used by the service (other processes, interrupts), in cores: contention */
  foreignCpu0Cores: number;
  /** CPU 1 time not used by the load side (another benchmark, a build): it would slow the load generator */
  foreignCpu1Cores: number;
  /** windows run for this scenario (re-run when CPU 0 was contended) */
  attempts: number;
}

export interface RuntimeResult {
  key: RuntimeKey;
  label: string;
  version: string;
  /** ms from spawn to the first successful GET /json, one per start */
  coldStartMs: number[];
  /** ms from spawn to the READY line, one per start */
  readyMs: number[];
  /** VmRSS 2 s after READY, no request served yet, no probe */
  baselineRssBytes: number;
  /** VmRSS after the warm-up requests, before the probe attached */
  warmRssBytes: number;
  /** LCG steps per ms of /cpu (best of 5 × /cpu?ms=50): raw single-thread compute speed */
  iterationsPerMs: number;
  /** probe attach method, or why not */
  probe: string;
  scenarios: Record<ScenarioKey, ScenarioResult>;
}

export interface ShowdownRun {
  startedAt: string;
  durationS: number;
  windowS: number;
  coldStarts: number;
  machine: string;
  command: string;
  /** whether `import fastapi, uvicorn` works for /usr/bin/python3 (the FastAPI sample app's needs) */
  fastapiInstalled: boolean;
  runtimes: RuntimeResult[];
}

/**
 * Other benchmarks and builds share this machine. CPU 0 work that is not the service's, beyond
 * CONTENDED_CPU0 cores, took time from the service; CPU 1 work that is not the load side's, beyond
 * CONTENDED_CPU1, could slow the load generator. Either makes a window contended.
 */
export const CONTENDED_CPU0 = 0.1;
export const CONTENDED_CPU1 = 0.25;
export const contention = (r: Pick<ScenarioResult, 'foreignCpu0Cores' | 'foreignCpu1Cores'>): number =>
  Math.max(r.foreignCpu0Cores / CONTENDED_CPU0, r.foreignCpu1Cores / CONTENDED_CPU1);
