// `rtprof profile --pid ROOT` on real services (a master and its workers, thread-per-request and
// pool servers) against the truth the test measures itself from /proc and its own clients
// (helpers/serviceTruth.ts). Each shape runs a 20 ms spin + 60 ms downstream wait (io-bound) and a
// 60/20 one (cpu-bound) per request.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, test, type TestContext } from 'node:test';
import type { ProfileDocument } from '../src/report';
import { CPU_BOUND_SHARE, IO_BOUND_SHARE } from '../src/report/verdict';
import { ROOT, rtprof, startSample } from './helpers/agent';
import { sleep, start, type Started } from './helpers/processes';
import { describeTruth, Load, nowMs, serviceTruth, TreeMeter, type ServiceTruth } from './helpers/serviceTruth';
import { canAttachToPython, SHAPES, startService, type RunningService, type ShapeSpec } from './helpers/services';

type ServiceDoc = ProfileDocument;

interface Mix {
  cpuMs: number;
  ioMs: number;
  verdict: 'io-bound' | 'cpu-bound';
}
const IO_BOUND: Mix = { cpuMs: 20, ioMs: 60, verdict: 'io-bound' };
const CPU_BOUND: Mix = { cpuMs: 60, ioMs: 20, verdict: 'cpu-bound' };
const DURATION = '6s';
const SHARE_TOLERANCE = 0.05;
/**
 * The verdict is a line drawn through the shares (io ≥ 0.60, else cpu ≥ 0.40): it is held where the
 * truth is clear of both lines by more than the share tolerance, so that shares within tolerance
 * must give it. Where it is not (a loop offloading to worker_threads with two clients at 20/60:
 * truth io 0.645-0.68, rtprof 0.62-0.65, partly because the truth counts a request's wait for a loop
 * busy with another request as io), the check runs as a todo.
 */
const NEAR_A_LINE = 'the truth is within the share tolerance of a verdict line: the verdict is reported, not held';
const CORES_TOLERANCE = 0.1;
const PROCESS_CORES_TOLERANCE = 0.15;

let downstream: Started;
let downstreamUrl: string;

before(async () => {
  ({ proc: downstream, url: downstreamUrl } = await startSample('downstream/server.js'));
});
after(() => downstream.kill());

interface Run {
  doc: ServiceDoc;
  truth: ServiceTruth;
  meter: TreeMeter;
}

/** Load from before the profile starts to after it ends; the truth is taken over the profile's own window. */
async function profileUnderLoad(
  svc: RunningService,
  mix: Mix,
  clients: number,
  duration = DURATION,
  during: (cli: Started) => Promise<void> = async () => undefined,
): Promise<Run> {
  const meter = new TreeMeter(svc.root).start();
  const load = new Load(`${svc.base}/work?cpu_ms=${mix.cpuMs}&io_ms=${mix.ioMs}`, clients).start();
  let cli: Started;
  try {
    await sleep(1000); // every worker has served (imports, first allocations) before the window
    cli = rtprof(['profile', '--pid', String(svc.root), '--duration', duration, '--json']);
    await during(cli);
    await cli.exited;
  } finally {
    // The requests still in flight when the window closed count up to its end: wait for them.
    await load.stop();
    meter.stop();
  }
  assert.equal(cli.child.exitCode, 0, `profile exit code; stderr: ${cli.stderr()}`);
  const doc = JSON.parse(cli.stdout()) as ServiceDoc;
  const truth = serviceTruth(meter, load, Date.parse(doc.window.start), Date.parse(doc.window.end), svc.spec);
  return { doc, truth, meter };
}

const show = (d: ServiceDoc): string =>
  `verdict ${d.verdict}, busy ${JSON.stringify(d.busy.shares)}, cpu ${d.cpu.avgCores.toFixed(3)} cores, ` +
  `processes ${JSON.stringify(d.processes)}, busiest ${JSON.stringify(d.threads.map((t) => [t.pid, t.tid, t.role, t.count, t.shares.cpu.toFixed(2), t.shares.io.toFixed(2)]))}, warnings ${JSON.stringify(d.warnings)}`;

/** The verdict shares imply, by the thresholds the README documents. */
const verdictOf = (io: number, cpu: number): string => (io >= IO_BOUND_SHARE ? 'io-bound' : cpu >= CPU_BOUND_SHARE ? 'cpu-bound' : 'mixed');
/** The verdict the truth itself implies. */
const truthVerdict = (t: ServiceTruth): string => verdictOf(t.ioShare, t.cpuShare);
/** The width of the truth's range (assertShares): the share of CPU spent beside the requests' path. */
const besidePathShare = (t: ServiceTruth): number => Math.max(0, t.cpuShare - t.pathCpuShare);
/** The verdict at the other end of the truth's range: the CPU beside the path taken as waiting. */
const pathVerdict = (t: ServiceTruth): string => verdictOf(t.ioShare + besidePathShare(t), t.cpuShare - besidePathShare(t));

/** The harness itself: the service answered, and the truth adds up to the workload it ran. */
interface SaneOptions {
  clients: number;
  /** Workers that must have answered some of the requests. */
  mustServe: number[];
  maxErrors?: number;
}
/** Why the truth does not add up (the machine was too busy to measure on), or undefined. */

function truthProblem(spec: ShapeSpec, mix: Mix, truth: ServiceTruth, o: SaneOptions): string | undefined {
  try {
    assertTruthSane(spec, mix, truth, o);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function assertTruthSane(spec: ShapeSpec, mix: Mix, truth: ServiceTruth, o: SaneOptions): void {
  const ctx = `${spec.shape} ${mix.cpuMs}/${mix.ioMs}: ${describeTruth(truth)}`;
  assert.ok(truth.requests >= 25 * o.clients, `the service answered a steady load: ${ctx}`);
  assert.ok(truth.errors <= (o.maxErrors ?? 0), `failed requests: ${ctx}`);
  // The fixtures spin an exact amount of thread CPU; the rest on the path is HTTP handling and
  // the probe, a few ms per request. CPU beside the path (a cluster primary, helper threads, a new
  // worker's start-up) the tree spends too, but no request waits on it.
  const pathMs = truth.cpuMsPerRequest - truth.besideMsPerRequest;
  assert.ok(truth.cpuMsPerRequest >= mix.cpuMs * 0.97 && pathMs <= mix.cpuMs + 12, `CPU per request: ${ctx}`);
  // What is left after CPU and run queue is the downstream's delay plus connecting to it: the
  // decomposition is right when that comes out at the delay the fixture asked for (the CPU beside
  // the path was taken from it, though it ran while requests waited).
  const ioMs = truth.ioMsPerRequest + truth.besideMsPerRequest;
  assert.ok(ioMs >= mix.ioMs - 3 && ioMs <= mix.ioMs + 10, `io per request: ${ctx}`);
  // A Node cluster at 20/60 spends 5-6 ms per request beside the path (the primary, V8's helpers)
  // and waits on a 2-core run queue: its whole-tree truth sits at 0.59-0.64 io, across the
  // 0.60 line, where its path alone is clearly io-bound. Either end of the range will do here; the
  // verdict itself is held only where the truth is clear of the line (the verdict subtest).
  assert.ok(
    truthVerdict(truth) === mix.verdict || pathVerdict(truth) === mix.verdict,
    `the truth itself is ${mix.verdict} (if not, the machine was too busy to test on): ${ctx}`,
  );
  for (const pid of o.mustServe) assert.ok((truth.servedBy[pid] ?? 0) > 0, `worker ${pid} served: ${ctx}`);
}

const near = (actual: number, expected: number, tol: number): boolean => Math.abs(actual - expected) <= tol;
const bytesOf = (v: number | { avg: number } | undefined): number | undefined => (typeof v === 'number' ? v : v?.avg);

/** rtprof's busy shares against the truth's. */
function assertShares(run: Run): void {
  const { doc, truth } = run;
  const ctx = `${show(doc)}\ntruth: ${describeTruth(truth)}`;
  // The truth's cpu share holds all of the tree's CPU over the requests' latency, including CPU
  // spent beside their path: threads that served no request (a cluster primary, V8's helpers), and
  // path threads outside their requests (a worker's cleanup after it answered, while the next
  // request runs in the other worker). A profiler that sums each worker's busy time counts the
  // latter as time too, not only as CPU. So the truth is a range: cpu down to the path threads'
  // alone, io up by the same.
  const off = besidePathShare(truth);
  const within = (x: number, lo: number, hi: number): boolean => x >= lo - SHARE_TOLERANCE && x <= hi + SHARE_TOLERANCE;
  assert.ok(
    within(doc.busy.shares.io, truth.ioShare, truth.ioShare + off),
    `io share ${doc.busy.shares.io} vs ${truth.ioShare}..${truth.ioShare + off} ± ${SHARE_TOLERANCE}: ${ctx}`,
  );
  assert.ok(
    within(doc.busy.shares.cpu, truth.cpuShare - off, truth.cpuShare),
    `cpu share ${doc.busy.shares.cpu} vs ${truth.cpuShare - off}..${truth.cpuShare} ± ${SHARE_TOLERANCE}: ${ctx}`,
  );
}

/** rtprof against the truth: verdict, CPU over the tree, processes, PSS, busiest threads. */
function assertProfile(spec: ShapeSpec, mix: Mix, run: Run, svc: RunningService): void {
  const { doc, truth, meter } = run;
  const ctx = `${show(doc)}\ntruth: ${describeTruth(truth)}`;
  assert.ok(
    near(doc.cpu.avgCores, truth.avgCores, CORES_TOLERANCE * truth.avgCores),
    `avgCores ${doc.cpu.avgCores} vs /proc's ${truth.avgCores} over the tree ± ${CORES_TOLERANCE * 100} %: ${ctx}`,
  );

  // The tree: the root as master, each worker, nothing from outside the tree.
  const processes = doc.processes ?? [];
  const byPid = new Map(processes.map((p) => [p.pid, p]));
  assert.equal(byPid.get(svc.root)?.role, spec.workers > 0 ? 'master' : 'main', `the root is the master (or main, alone): ${ctx}`);
  for (const w of svc.workers) assert.equal(byPid.get(w)?.role, 'worker', `worker ${w} listed: ${ctx}`);
  for (const p of processes) {
    assert.ok(meter.seen().includes(p.pid), `${p.pid} is in the tree: ${ctx}`);
    assert.equal(p.runtime, spec.runtime, `runtime of ${p.pid}: ${ctx}`);
    const cores = (truth.perPidCpuS[p.pid] ?? 0) / truth.windowS;
    // Per process the window's edges weigh more than for the tree (which worker took the request
    // that straddles an edge; /proc's 10 ms ticks): ± 15 % or 0.05 core, the tree's sum ± 10 %.
    assert.ok(
      near(p.cpu.avgCores, cores, Math.max(0.05, PROCESS_CORES_TOLERANCE * cores)),
      `cpu of ${p.pid}: ${p.cpu.avgCores} vs ${cores}: ${ctx}`,
    );
    assert.ok((p.memory.pssBytes ?? 0) > 0, `pss of ${p.pid}: ${ctx}`);
  }
  const pss = bytesOf(doc.memory.pssBytes);
  if (truth.pssBytes !== undefined) {
    assert.ok(pss !== undefined && near(pss, truth.pssBytes, 0.2 * truth.pssBytes), `tree PSS ${pss} vs ${truth.pssBytes} ± 20 %: ${ctx}`);
  }

  // The busiest threads: real threads with shares; in pool shapes the work is off the main threads.
  const busiest = doc.threads;
  assert.ok(busiest.length > 0, `busiest threads listed: ${ctx}`);
  for (const th of busiest) {
    assert.ok(Number.isInteger(th.tid) && th.tid > 0 && typeof th.name === 'string' && th.name.length > 0, `thread ${JSON.stringify(th)}`);
    assert.ok(th.shares.cpu >= 0 && th.shares.cpu <= 1 && th.shares.io >= 0 && th.shares.io <= 1, `thread shares ${JSON.stringify(th)}`);
  }
  const top = busiest[0]!;
  if (spec.workers > 0 && spec.shape !== 'gunicorn-gthread')
    assert.ok(svc.workers.includes(top.tid), `a worker's main thread is busiest: ${ctx}`);
  else assert.ok(!meter.seen().includes(top.tid), `a request or pool thread, not a main thread, is busiest: ${ctx}`);
}

for (const spec of SHAPES) {
  const skip =
    spec.runtime === 'cpython' &&
    !canAttachToPython() &&
    'attaching gdb to a process this user did not start needs root (or ptrace_scope 0)';
  test(
    `${spec.shape}: 20/60 → io-bound, 60/20 → cpu-bound, over the tree and the threads that did the work`,
    { skip },
    async (t: TestContext) => {
      const svc = await startService(spec, downstreamUrl);
      try {
        for (const mix of [IO_BOUND, CPU_BOUND]) {
          await t.test(`${mix.cpuMs}/${mix.ioMs}`, async (st: TestContext) => {
            // 60 ms of CPU per 80 ms request is 0.75 core per client: two of them beside the profiler
            // and the test on a 2-core machine would measure the machine's run queue more than the service.
            const clients = mix === CPU_BOUND ? 1 : spec.clients;
            // Which worker takes a connection is the kernel's choice, except where 2 clients keep 2 sync
            // workers busy or the cluster primary deals them round-robin.
            const spread = (spec.shape === 'gunicorn-sync' && clients === 2) || spec.shape === 'node-cluster';
            const sane: SaneOptions = { clients, mustServe: spread ? svc.workers : [] };
            let run = await profileUnderLoad(svc, mix, clients);
            // A truth that does not add up was measured on a machine too busy for it (another job's
            // burst): that measurement says nothing of rtprof, so it is taken once more.
            const problem = truthProblem(spec, mix, run.truth, sane);
            if (problem !== undefined) {
              st.diagnostic(`the truth did not add up, measured again: ${problem}`);
              run = await profileUnderLoad(svc, mix, clients);
            }
            st.diagnostic(`truth: ${describeTruth(run.truth)}`);
            st.diagnostic(`rtprof: ${show(run.doc)}`);
            assertTruthSane(spec, mix, run.truth, sane);
            assertProfile(spec, mix, run, svc);
            assertShares(run);
            const clear =
              Math.abs(run.truth.ioShare - IO_BOUND_SHARE) > SHARE_TOLERANCE &&
              Math.abs(run.truth.cpuShare - CPU_BOUND_SHARE) > SHARE_TOLERANCE;
            await st.test('verdict', clear ? {} : { todo: NEAR_A_LINE }, () =>
              assert.equal(run.doc.verdict, mix.verdict, `${show(run.doc)}\ntruth: ${describeTruth(run.truth)}`),
            );
          });
        }
      } finally {
        svc.stop();
      }
    },
  );
}

test(
  'gunicorn: a worker killed mid-profile is reported as exited and respawned; the numbers hold',
  { skip: !canAttachToPython() && 'attaching gdb needs root (or ptrace_scope 0)' },
  async (t) => {
    const spec = SHAPES.find((s) => s.shape === 'gunicorn-sync')!;
    const svc = await startService(spec, downstreamUrl);
    try {
      const victim = svc.workers[0]!;
      let killedAt = 0;
      // 1 client: while the replacement boots, a second client would queue behind the busy worker,
      // a wait serviceTruth counts as io.
      const run = await profileUnderLoad(svc, IO_BOUND, 1, '8s', async () => {
        await sleep(4000); // inside the window: attaching takes less than that
        killedAt = nowMs();
        process.kill(victim, 'SIGKILL');
      });
      const { doc, truth } = run;
      const respawned = [...svc.proc.stderr().matchAll(/Booting worker with pid: (\d+)/g)]
        .map((m) => Number(m[1]))
        .filter((p) => !svc.workers.includes(p));
      t.diagnostic(`killed ${victim}, respawned ${respawned.join(',')}; truth: ${describeTruth(truth)}`);
      t.diagnostic(`rtprof: ${show(doc)}`);
      assert.ok(killedAt > Date.parse(doc.window.start) && killedAt < Date.parse(doc.window.end), 'the kill fell inside the window');
      assert.equal(respawned.length, 1, `gunicorn booted one replacement: ${svc.proc.stderr()}`);
      // The replacement's start-up (imports, ~0.3 s of CPU) is the tree's CPU but no request's: the
      // truth counts it beside the path.
      assertTruthSane(spec, IO_BOUND, truth, { clients: 1, mustServe: [respawned[0]!], maxErrors: 1 });
      assert.ok(
        doc.warnings.some((w) => w.includes(String(victim)) && /exit|died|killed|terminated/i.test(w)),
        `a warning names the worker that exited: ${JSON.stringify(doc.warnings)}`,
      );
      assert.ok(
        doc.warnings.some((w) => w.includes(String(respawned[0])) && /respawn|replac|new|start|join/i.test(w)),
        `a warning names the worker that replaced it: ${JSON.stringify(doc.warnings)}`,
      );
      assert.equal(doc.verdict, 'io-bound', show(doc));
      assert.ok(near(doc.cpu.avgCores, truth.avgCores, CORES_TOLERANCE * truth.avgCores), `avgCores vs truth ± 10 %: ${show(doc)}`);
      assertShares(run);
      const pids = (doc.processes ?? []).map((p) => p.pid);
      assert.ok(pids.includes(victim) && pids.includes(respawned[0]!), `both the dead worker and its replacement are listed: ${show(doc)}`);
      // The replacement is forked from a master whose probe wrapped gunicorn's handler: its own
      // probe must wrap it again to see its requests.
      const replacement = doc.processes?.find((p) => p.pid === respawned[0]);
      assert.ok((replacement?.requests ?? 0) > 0, `the replacement's requests are counted: ${show(doc)}`);
    } finally {
      svc.stop();
    }
  },
);
