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
  /** fixed rate: from each request's due time (open loop); saturated: from its send (autocannon).
   * p90 and min are absent from runs before they were kept. */
  latencyMs: { p50: number; p99: number; max: number; p90?: number; min?: number };
  /** fixed rate: requests due in the window but unanswered when it closed (not in latencyMs) */
  unfinished?: number;
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

/** The multi-worker stacks: each runs 1 and then 2 workers behind one master on both cores. */
export type StackKey = 'node-cluster' | 'gunicorn' | 'uvicorn';

/** One stack at one worker count: one saturated window, rtprof profiling the master pid's tree. */
export interface WorkerWindow {
  workers: number;
  rps: number;
  requests: number;
  errors: number;
  /** null when autocannon's latencies contradict the throughput (Little's law): see showdownScaling */
  latencyMs: { p50: number; p99: number; max: number } | null;
  /** user + system CPU of the master and all its descendants over the load, in cores */
  serviceCores: number;
  cpuPerRequestMs: number;
  /** rtprof: PSS summed over the service's processes, peak over the window (null: not read) */
  pssBytes: number | null;
  /** rtprof: PSS of each worker process (not the master or helpers) at the end of the window */
  workerPssBytes: number[];
  /** rtprof: CPU of each worker that served, in cores, busiest first (how evenly the master spread the load) */
  workerCores: number[];
  /** rtprof: processes in the service over the window (master, workers, helpers) */
  processes: number;
  verdict: string;
  /** rtprof: shares of the work threads' busy wall time, across the service's processes */
  busyShares: { cpu: number; io: number; runqueue: number; lock: number; other: number };
  /** CPU used by this process (load generator + rtprof), in cores */
  loadSideCores: number;
  /** work on both CPUs that was neither the service's nor the load side's, in cores */
  foreignCores: number;
  attempts: number;
}

export interface StackResult {
  key: StackKey;
  label: string;
  version: string;
  /** probe attach method per process role, or why not */
  probe: string;
  /** 1 worker, then 2 */
  windows: WorkerWindow[];
}

/** The multi-worker rows: their own run (they can be re-run alone and merged into a document). */
export interface ScalingRun {
  startedAt: string;
  /** startedAt of the single-process run these rows belong to; null when they ran alone (--scaling-only) */
  partOfRun: string | null;
  durationS: number;
  windowS: number;
  path: string;
  connections: number;
  machine: string;
  command: string;
  stacks: StackResult[];
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
  /** the multi-worker rows, when they ran (startedAt says when: they may come from a later run) */
  scaling?: ScalingRun;
  /** set when `--rate-only` re-measured the fixed-rate scenarios into this run's data */
  rateRerun?: { startedAt: string; durationS: number; command: string; scenarios: ScenarioKey[] };
}

/**
 * Other benchmarks and builds share this machine. CPU 0 work that is not the service's, beyond
 * CONTENDED_CPU0 cores, took time from the service; CPU 1 work that is not the load side's, beyond
 * CONTENDED_CPU1, could slow the load generator. Either makes a window contended.
 */
export const CONTENDED_CPU0 = 0.1;
export const CONTENDED_CPU1 = 0.25;
/** The multi-worker windows use both CPUs: others' work beyond this, in cores, makes one contended. */
export const CONTENDED_BOTH = 0.2;
export const contention = (r: Pick<ScenarioResult, 'foreignCpu0Cores' | 'foreignCpu1Cores'>): number =>
  Math.max(r.foreignCpu0Cores / CONTENDED_CPU0, r.foreignCpu1Cores / CONTENDED_CPU1);
