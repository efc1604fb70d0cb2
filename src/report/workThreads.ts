// A service's breakdown is taken over the threads that did its work, across its processes — not
// over a master's accept loop or a pool thread parked with nothing to do. Pure: samples in, each
// interval's split seconds and per-thread rows out.
//
// Which threads count (over the whole window):
// - the main thread of an event-loop process (Node; Python running asyncio) that had work in
//   flight, or that is the only process there is: the loop carries every request of its process;
// - any other thread whose CPU is at least WORK_CPU_SHARE of the time it was watched: a
//   thread-per-request server's request threads, a pool's workers, a sync worker's main thread.
//   An accept loop, a gunicorn or cluster master, an idle pool thread use next to no CPU.
// In an event-loop process the loop's waiting while its helper threads (worker_threads, libuv's
// pool, a run_in_executor pool) compute is not I/O: the request waits for that CPU. So the helpers'
// CPU is moved out of the loop's in-flight waiting into cpu, and the helpers themselves are not
// summed (they would count the same request time twice). Helpers compute for several requests at
// once, so that waiting is counted per request in flight (the probe's request-weighted idle).
//
// How waiting splits between a state and idle, per process and interval, by the best evidence:
// - probe: an event loop's waiting is the state's for the share of its idle time during which a
//   request was in flight (loopWaitBusyShare, the measured overlap), the rest idle; a probe that
//   does not measure it gives busyS only, and a fraction b = busyS / duration is used instead;
//   a request thread's blocking read or write is the request's by definition;
// - probe expected but not heard from yet (attaching, or no snapshot yet): a loop's waiting is
//   unknown, so that process sits the interval out; so does any process in the interval its probe
//   arrives in (an injection stops it for a moment); an interval with nothing else to count is
//   left out of the window's shares (apportioned.unknown);
// - /proc (the process held accepted client connections at the sample): waiting for I/O is io if
//   it did, idle if it did not; - none: waiting stays what it is.
// An untimed futex in a thread other than a main thread is a pool thread parked for work: idle.
// A timed futex (CPython's GIL) and file locks are lock, never idle.
import type { Breakdown, EvidenceSource, ProcessInterval, ProfileSample, ThreadIntervalS, ThreadKindsS, ThreadRow } from './model';

/** A thread with CPU at or above this share of its watched time did work. */
export const WORK_CPU_SHARE = 0.03;
/** ... and at least this much CPU in the window (one short-lived thread's noise is not work). */
const WORK_CPU_MIN_S = 0.005;
/** A thread blocked on I/O for at least this share of the time it was watched did work. */
const WORK_IO_SHARE = 0.25;

const zero = (): Breakdown => ({ cpu: 0, runqueue: 0, throttled: 0, io: 0, lock: 0, sleep: 0, other: 0, idle: 0 });
const pos = (x: number): number => (Number.isFinite(x) && x > 0 ? x : 0);
const keyOf = (pid: number, tid: number): string => `${pid}:${tid}`;
const wallOf = (s: ThreadKindsS): number => s.cpu + s.runqueue + s.io + s.ready + (s.accept ?? 0) + s.lock + s.wait + s.sleep + s.other;

export type ThreadRole = 'loop' | 'request' | 'helper' | 'idle';

interface ThreadTotals {
  pid: number;
  tid: number;
  name: string;
  main: boolean;
  cpuS: number;
  ioS: number;
  wallS: number;
}

export interface WorkSet {
  /** role of every thread seen, by "pid:tid" */
  roles: Map<string, ThreadRole>;
  /** processes whose main thread is an event loop */
  loopPids: Set<number>;
}

function isEventLoopProcess(p: ProcessInterval): boolean {
  return p.runtime === 'nodejs' || p.eventLoopMain === true;
}

/** Decides, over the window, which threads did the work. */
export function findWorkThreads(samples: readonly ProfileSample[]): WorkSet {
  const totals = new Map<string, ThreadTotals>();
  const loopPids = new Set<number>();
  const nodePids = new Set<number>();
  const offload = new Set<string>();
  const busyByPid = new Map<number, number | undefined>();
  const pids = new Set<number>();
  for (const sample of samples) {
    for (const p of sample.processes ?? []) {
      pids.add(p.pid);
      if (isEventLoopProcess(p)) loopPids.add(p.pid);
      if (p.runtime === 'nodejs') nodePids.add(p.pid);
      for (const tid of p.offloadTids ?? []) offload.add(keyOf(p.pid, tid));
      if (p.busyS !== undefined) busyByPid.set(p.pid, (busyByPid.get(p.pid) ?? 0) + pos(p.busyS));
      else if (!busyByPid.has(p.pid)) busyByPid.set(p.pid, undefined);
      for (const t of p.threads) {
        const key = keyOf(p.pid, t.tid);
        const row = totals.get(key) ?? { pid: p.pid, tid: t.tid, name: t.name, main: t.main, cpuS: 0, ioS: 0, wallS: 0 };
        row.cpuS += pos(t.seconds.cpu);
        // A main thread's readiness waits say nothing (an arbiter's select on its pipe, a loop's
        // epoll): only its blocking reads and writes count as I/O here.
        row.ioS += pos(t.seconds.io) + (t.main ? 0 : pos(t.seconds.ready));
        row.wallS += wallOf(t.seconds);
        row.name = t.name || row.name;
        totals.set(key, row);
      }
    }
  }
  const roles = new Map<string, ThreadRole>();
  const alone = pids.size === 1;
  for (const [key, t] of totals) {
    const loop = loopPids.has(t.pid);
    const busy = busyByPid.get(t.pid);
    // CPU for a share of its life, or blocked on I/O (data or a connection's readiness) for a
    // share of it: an I/O-bound request thread uses next to no CPU — but some: a thread that
    // used none at all only sat in one read (multiprocessing's resource tracker under uvicorn
    // --workers reads its pipe for the service's whole life). The probe's own thread is never the
    // service's.
    const worked =
      !t.name.startsWith('rtprof') && t.cpuS >= WORK_CPU_MIN_S && (t.cpuS >= WORK_CPU_SHARE * t.wallS || t.ioS >= WORK_IO_SHARE * t.wallS);
    let role: ThreadRole = 'idle';
    if (loop && t.main) role = (busy ?? 0) > 0 || alone || (busy === undefined && worked) ? 'loop' : 'idle';
    // A Node process's helpers are its worker_threads, known by their OS thread id: V8's and
    // libuv's own threads (GC, compilers) run beside the loop, not for a request it waits on.
    else if (loop) role = worked && (!nodePids.has(t.pid) || offload.has(key)) ? 'helper' : 'idle';
    else if (worked) role = 'request';
    roles.set(key, role);
  }
  // Nothing did work: the service's first main thread stands for it (it reads idle or waiting).
  if (![...roles.values()].some((r) => r === 'loop' || r === 'request')) {
    const main = [...totals.values()].find((t) => t.main);
    if (main) roles.set(keyOf(main.pid, main.tid), loopPids.has(main.pid) ? 'loop' : 'request');
  }
  return { roles, loopPids };
}

function evidenceOfProcess(p: ProcessInterval): EvidenceSource {
  if (p.busyS !== undefined && Number.isFinite(p.busyS)) return 'probe';
  if (p.clientConnections !== undefined) return 'proc';
  return 'none';
}

/** Splits a waiting amount between its state and idle by the process's evidence. */
function splitWaiting(out: Breakdown, state: 'io' | 'sleep' | 'other', seconds: number, p: ProcessInterval, durationS: number): void {
  const evidence = evidenceOfProcess(p);
  let share = 1;
  if (evidence === 'probe' && p.loopWaitBusyShare !== undefined) share = Math.min(1, pos(p.loopWaitBusyShare));
  else if (evidence === 'probe') share = durationS > 0 ? Math.min(1, pos(p.busyS ?? 0) / durationS) : 0;
  else if (evidence === 'proc' && state === 'io') share = p.clientConnections ? 1 : 0;
  out[state] += share * seconds;
  out.idle += (1 - share) * seconds;
}

/** One thread's interval as breakdown seconds. */
function threadSeconds(t: ThreadIntervalS, p: ProcessInterval, durationS: number, role: ThreadRole): Breakdown {
  const s = t.seconds;
  const out = zero();
  out.cpu = pos(s.cpu);
  out.runqueue = pos(s.runqueue);
  out.lock = pos(s.lock);
  if (t.main) out.lock += pos(s.wait);
  else out.idle += pos(s.wait);
  const accept = pos(s.accept ?? 0);
  if (role === 'loop') {
    // A loop waits for everything in one epoll, its listener included: only the evidence of work
    // in flight tells its io from its idle.
    for (const waiting of [s.ready, accept, s.io]) splitWaiting(out, 'io', pos(waiting), p, durationS);
    splitWaiting(out, 'sleep', pos(s.sleep), p, durationS);
    splitWaiting(out, 'other', pos(s.other), p, durationS);
  } else if (role === 'helper') {
    // A helper (a worker_threads loop, a pool thread) waiting for readiness waits for its next job.
    out.idle += pos(s.ready) + accept;
    out.io += pos(s.io);
    out.sleep += pos(s.sleep);
    out.other += pos(s.other);
  } else {
    // A thread that serves one request at a time tells its idle from its io by what it waits on:
    // a listening socket (the next connection) is idle; data, or readiness of a connection (a
    // socket with a timeout polls before it reads), is the request's io. Its sleeps are the
    // request's too. What this cannot see: a keep-alive connection's wait for its next request.
    // With no probe, a main thread may still be a loop (asyncio unseen): its readiness waits are
    // split by the /proc evidence. A probe would have said so; then they are its request's.
    out.idle += accept;
    out.io += pos(s.io);
    if (t.main && p.busyS === undefined) splitWaiting(out, 'io', pos(s.ready), p, durationS);
    else out.io += pos(s.ready);
    out.sleep += pos(s.sleep);
    out.other += pos(s.other);
  }
  return out;
}

/** One interval's seconds per state over the work threads of every process. */
export function apportionService(
  sample: ProfileSample,
  work: WorkSet,
): { seconds: Breakdown; evidence: EvidenceSource; unknown?: boolean } {
  const total = zero();
  let best: EvidenceSource = 'none';
  let counted = 0;
  let unknownProcesses = 0;
  for (const p of sample.processes ?? []) {
    // A loop whose probe is on its way but has not reported: its waiting is neither io nor idle
    // yet, so the process sits this interval out (the others still count).
    const mainRole = work.roles.get(keyOf(p.pid, p.pid));
    // The same for any process while its probe arrives: the attach's stop is not the service's.
    if (p.probeArriving || (mainRole === 'loop' && p.probeExpected && evidenceOfProcess(p) !== 'probe')) {
      unknownProcesses++;
      continue;
    }
    let helperCpuS = 0;
    let helperRunqueueS = 0;
    let loop: Breakdown | undefined;
    for (const t of p.threads) {
      const role = work.roles.get(keyOf(p.pid, t.tid)) ?? 'idle';
      if (role === 'idle') continue;
      if (role === 'helper') {
        helperCpuS += pos(t.seconds.cpu);
        helperRunqueueS += pos(t.seconds.runqueue);
        continue;
      }
      const one = threadSeconds(t, p, sample.durationS, role);
      counted++;
      if (role === 'loop') loop = one;
      else add(total, one);
      const evidence = evidenceOfProcess(p);
      if (evidence === 'probe' || (evidence === 'proc' && best === 'none')) best = evidence;
    }
    if (loop) {
      // Helpers run several requests' CPU at once, and their CPU is summed; the loop waits for all
      // of them in one wall second. Its in-flight waiting is then counted per request in flight
      // (the probe's request-weighted idle), so both sides are request time.
      const weight = (p.loopWaitRequestShare ?? 0) / (p.loopWaitBusyShare ?? 0);
      if (helperCpuS + helperRunqueueS > 0 && Number.isFinite(weight) && weight > 1)
        for (const state of ['io', 'other', 'sleep'] as const) loop[state] *= weight;
      // Helpers' CPU, and their waits for a CPU, move out of the loop's in-flight waiting (io
      // first, then other, sleep) into cpu and runqueue: the request waited for that work.
      for (const [moving, into] of [
        [helperCpuS, 'cpu'],
        [helperRunqueueS, 'runqueue'],
      ] as const) {
        let left = moving;
        for (const state of ['io', 'other', 'sleep'] as const) {
          const moved = Math.min(left, loop[state]);
          loop[state] -= moved;
          loop[into] += moved;
          left -= moved;
        }
      }
      add(total, loop);
    }
  }
  // Nothing left to count: the interval is left out of the window (breakdown.ts leftOut).
  return unknownProcesses > 0 && counted === 0 ? { seconds: total, evidence: best, unknown: true } : { seconds: total, evidence: best };
}

function add(into: Breakdown, more: Breakdown): void {
  for (const k of Object.keys(into) as Array<keyof Breakdown>) into[k] += more[k];
}

const MAX_THREAD_ROWS = 12;

/**
 * The busiest threads: those that did work first, then by CPU. Threads of one process with the
 * same name and role are one row (`count` of them): a thread-per-request server starts hundreds.
 */
export function threadRows(samples: readonly ProfileSample[], work: WorkSet): ThreadRow[] {
  const rows = new Map<string, { pid: number; tid: number; name: string; seconds: Breakdown; role: ThreadRole; tids: Set<number> }>();
  for (const sample of samples) {
    for (const p of sample.processes ?? []) {
      for (const t of p.threads) {
        const role = work.roles.get(keyOf(p.pid, t.tid)) ?? 'idle';
        const key = t.main ? keyOf(p.pid, t.tid) : `${p.pid}:${t.name}:${role}`;
        const row = rows.get(key) ?? { pid: p.pid, tid: t.tid, name: t.name, seconds: zero(), role, tids: new Set<number>() };
        row.tids.add(t.tid);
        add(row.seconds, threadSeconds(t, p, sample.durationS, role === 'idle' ? 'request' : role));
        rows.set(key, row);
      }
    }
  }
  const out = [...rows.values()].map((r) => {
    const wallS = Object.values(r.seconds).reduce((a, b) => a + b, 0);
    const shares = zero();
    if (wallS > 0) for (const k of Object.keys(shares) as Array<keyof Breakdown>) shares[k] = r.seconds[k] / wallS;
    const row: ThreadRow = {
      pid: r.pid,
      tid: r.tid,
      name: r.name,
      role: r.role,
      count: r.tids.size,
      work: r.role !== 'idle',
      wallS,
      cpuS: r.seconds.cpu,
      shares,
    };
    return row;
  });
  out.sort((a, b) => Number(b.work) - Number(a.work) || b.cpuS - a.cpuS);
  return out.slice(0, MAX_THREAD_ROWS);
}

/**
 * Time the cgroup was throttled by its CPU limit is carved out of the work threads' run queue (a
 * throttled cgroup's runnable threads stay queued; see breakdown.ts): min(throttled, run queue)
 * over the window, shared out over the intervals by their run queue. Per interval the two do not
 * line up: schedstat books a run-queue wait when it ends, cpu.stat a throttled period when the
 * quota refills.
 */
export function carveThrottled(samples: ReadonlyArray<{ throttledS?: number; apportioned?: { seconds: Breakdown } }>): void {
  let throttledS = 0;
  let runqueueS = 0;
  for (const s of samples) {
    throttledS += pos(s.throttledS ?? 0);
    runqueueS += pos(s.apportioned?.seconds.runqueue ?? 0);
  }
  if (throttledS <= 0 || runqueueS <= 0) return;
  const share = Math.min(1, throttledS / runqueueS);
  for (const s of samples) {
    const seconds = s.apportioned?.seconds;
    if (!seconds) continue;
    seconds.throttled = seconds.runqueue * share;
    seconds.runqueue -= seconds.throttled;
  }
}
