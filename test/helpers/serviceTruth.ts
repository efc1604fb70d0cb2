// The independent answer for service profiles (a root pid and its workers): the test drives the
// load itself and reads the kernel's counters for every process and thread of the tree
// (treeMeter.ts), so what rtprof reports is compared with numbers rtprof had no part in.
// groundTruth.ts is the single-process, single-thread version of the same idea.
//
// Over a window [a, b] (the profile's own window, so both cover the same time):
//   cpu      = Σ over the tree's processes of utime+stime (/proc/PID/stat: includes threads that
//              already ended; a process that died counts up to the last poll before its death)
//   latency  = Σ over client requests of the part of their [sent, answered] inside the window
//   cpuShare = cpu / latency
//   runqueueShare = run-queue time on the requests' path / latency. The path of a request is the
//              thread that answered it (the fixtures name their tid) and, where the root accepts
//              for its workers (a Node cluster), the root's main thread, and where a Node loop hands
//              the request's CPU to a worker thread, that loop (it dispatches, awaits the
//              downstream and answers); each counted only while a request it serves is in flight.
//              Summing every thread instead would count waits that run beside the request: V8's
//              helper threads, a probe's thread, the workers that woke for a connection another
//              worker took (every sync/uvicorn worker polls the same socket), and a Python pool's
//              main thread woken by a probe's timers while a pool thread spins. The cost: a Python
//              pool's main thread's own wake-ups for the request (accept) are left out.
//   ioShare  = 1 − cpuShare − runqueueShare.
// What ioShare cannot see, so the fixtures keep it out of the workload: time a request waited for
// something other than its downstream while off the CPU (the GIL or another lock, the listen backlog
// of a service with every worker busy, an event loop busy with another request: all of it counts as
// io here); run-queue time of a thread between the last poll and its end (threadCoverage says how
// much of the CPU the per-thread reads saw); and CPU the tree spends beside requests (a master's
// loop, GC threads, a probe) lands in cpuShare as if requests had spent it (pathCpuShare is the
// CPU of the path threads alone). A downstream slowed by a busy machine is io, as it is for the service.
import http from 'node:http';
import { nowMs, union, type Interval, type TreeMeter } from './treeMeter';

export { childPids, killTree, treePids } from './processTree';
export { nowMs, TreeMeter } from './treeMeter';

export interface RequestRecord {
  start: number;
  end: number;
  ok: boolean;
  /** The process and thread that answered (the fixtures put them in the body). */
  pid?: number;
  tid?: number;
}

/** `clients` loops, each sending its next request when the last one is answered, on a new connection
 * every time (gunicorn's sync workers close after each response; a fresh connection lets every
 * request reach whichever worker is free). */
export class Load {
  readonly records: RequestRecord[] = [];
  private running = false;
  private loops: Array<Promise<void>> = [];

  constructor(
    private readonly url: string,
    private readonly clients: number,
  ) {}

  start(): this {
    this.running = true;
    for (let i = 0; i < this.clients; i++) this.loops.push(this.loop());
    return this;
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
  }

  private async loop(): Promise<void> {
    while (this.running) {
      const start = nowMs();
      const answer = await getJson(this.url).catch(() => undefined);
      this.records.push({ start, end: nowMs(), ok: answer !== undefined, pid: answer?.pid, tid: answer?.tid });
      // A refused connection answers at once: do not spin the test process on it.
      if (answer === undefined) await new Promise((r) => setTimeout(r, 50));
    }
  }
}

/** GET on a fresh connection; rejects unless 200 with a JSON body. */
export function getJson(url: string): Promise<{ pid: number; tid?: number }> {
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => (body += d));
      res.on('end', () => {
        if (res.statusCode !== 200) return reject(new Error(`${url} answered ${res.statusCode}: ${body}`));
        try {
          resolve(JSON.parse(body) as { pid: number; tid?: number });
        } catch (err) {
          reject(err as Error);
        }
      });
      res.on('error', reject);
    });
    req.setTimeout(30_000, () => req.destroy(new Error(`${url}: no answer in 30 s`)));
    req.on('error', reject);
  });
}

export interface ServiceTruth {
  windowS: number;
  /** Requests answered inside the window, and those that failed there. */
  requests: number;
  errors: number;
  cpuS: number;
  avgCores: number;
  latencyS: number;
  cpuShare: number;
  runqueueShare: number;
  ioShare: number;
  /** CPU per answered request, ms (the fixtures spin a known amount: a check on the whole chain). */
  cpuMsPerRequest: number;
  latencyMsPerRequest: number;
  /** ioShare × latency per request: the downstream's delay plus connecting to it. */
  ioMsPerRequest: number;
  /** CPU the tree spent outside its path threads' requests (masters' loops, helper threads, probes,
   * a new worker's start-up), per request: in cpuShare, though no request waited on it. */
  besideMsPerRequest: number;
  /** CPU of the path threads / latency: what cpuShare would be without helpers and masters. */
  pathCpuShare: number;
  /** The path threads' run-queue share counted over the whole window, not only while they served. */
  wholeWindowRunqueueShare: number;
  /** Threads that answered requests in the window. */
  workThreads: number;
  threadCoverage: number;
  perPidCpuS: Record<number, number>;
  /** Requests each pid answered inside the window. */
  servedBy: Record<number, number>;
  pssBytes: number | undefined;
}

/** Whose threads are on every request's path besides the thread that answered it. */
export interface PathOptions {
  /** The root's main thread accepts for its workers (a Node cluster's round-robin). */
  rootAccepts?: boolean;
  /** The answering process's main thread receives, dispatches and answers each request that its
   * helper thread computes (a Node loop handing its CPU to worker_threads). */
  mainOnPath?: boolean;
}

/** The truth over [a, b] (ms since the epoch). */
export function serviceTruth(meter: TreeMeter, load: Load, a: number, b: number, path: PathOptions = {}): ServiceTruth {
  // Which request intervals each path thread served.
  const served = new Map<string, Interval[]>();
  const add = (pid: number, tid: number, r: RequestRecord): void => {
    const k = `${pid}/${tid}`;
    served.set(k, [...(served.get(k) ?? []), [r.start, r.end]]);
  };
  for (const r of load.records) {
    if (r.pid === undefined) continue;
    add(r.pid, r.tid ?? r.pid, r);
    if (path.rootAccepts && r.pid !== meter.root) add(meter.root, meter.root, r);
    if (path.mainOnPath && r.tid !== undefined && r.tid !== r.pid) add(r.pid, r.pid, r);
  }
  let runqueueS = 0;
  let pathCpuS = 0;
  let wholeWindowRunqueueS = 0;
  for (const key of meter.threadKeys()) {
    const intervals = served.get(`${key.pid}/${key.tid}`);
    if (!intervals) continue;
    const over = meter.threadOver(key, union(intervals, a, b));
    runqueueS += over.runqueueS;
    pathCpuS += over.cpuS;
    wholeWindowRunqueueS += meter.threadOver(key, [[a, b]]).runqueueS;
  }

  let latencyS = 0;
  let requests = 0;
  let errors = 0;
  const servedBy: Record<number, number> = {};
  const workThreads = new Set<string>();
  for (const r of load.records) {
    const overlap = Math.min(r.end, b) - Math.max(r.start, a);
    if (overlap <= 0) continue;
    // Failed requests count too: the tree spent its time on them all the same.
    latencyS += overlap / 1000;
    if (r.pid !== undefined) workThreads.add(`${r.pid}/${r.tid}`);
    if (r.end > b) continue;
    if (!r.ok) errors++;
    else {
      requests++;
      if (r.pid !== undefined) servedBy[r.pid] = (servedBy[r.pid] ?? 0) + 1;
    }
  }
  const perPid = meter.cpuS(a, b);
  const cpuS = [...perPid.values()].reduce((x, y) => x + y, 0);
  const windowS = (b - a) / 1000;
  const share = (s: number): number => (latencyS > 0 ? s / latencyS : 0);
  const perRequestMs = (s: number): number => (requests > 0 ? (s * 1000) / requests : 0);
  const ioS = latencyS - cpuS - runqueueS;
  return {
    windowS,
    requests,
    errors,
    cpuS,
    avgCores: windowS > 0 ? cpuS / windowS : 0,
    latencyS,
    cpuShare: share(cpuS),
    runqueueShare: share(runqueueS),
    ioShare: share(ioS),
    cpuMsPerRequest: perRequestMs(cpuS),
    latencyMsPerRequest: perRequestMs(latencyS),
    ioMsPerRequest: perRequestMs(ioS),
    besideMsPerRequest: perRequestMs(Math.max(0, cpuS - pathCpuS)),
    pathCpuShare: share(pathCpuS),
    wholeWindowRunqueueShare: share(wholeWindowRunqueueS),
    workThreads: workThreads.size,
    threadCoverage: cpuS > 0 ? meter.threadCpuS(a, b) / cpuS : 1,
    perPidCpuS: Object.fromEntries(perPid),
    servedBy,
    pssBytes: meter.pssBytes(a, b),
  };
}

/** One line for test diagnostics. */
export function describeTruth(t: ServiceTruth): string {
  const f = (x: number, d = 3): string => x.toFixed(d);
  return (
    `window ${f(t.windowS, 2)} s, ${t.requests} requests (${t.errors} failed), cpu ${f(t.cpuS)} s = ${f(t.avgCores)} cores, ` +
    `cpuShare ${f(t.cpuShare)} (path threads ${f(t.pathCpuShare)}), runqueueShare ${f(t.runqueueShare)} (whole window ${f(t.wholeWindowRunqueueShare)}), ioShare ${f(t.ioShare)}, ` +
    `per request ${f(t.cpuMsPerRequest, 1)} ms cpu (${f(t.besideMsPerRequest, 1)} beside the path), ${f(t.ioMsPerRequest, 1)} ms io, ${f(t.latencyMsPerRequest, 1)} ms latency, ` +
    `${t.workThreads} work threads, thread coverage ${f(t.threadCoverage, 2)}, ` +
    `served by ${JSON.stringify(t.servedBy)}, pss ${t.pssBytes === undefined ? '-' : `${(t.pssBytes / 2 ** 20).toFixed(1)} MiB`}`
  );
}
