// Assembles the profile document from a window's samples and what the caller knows (target, load,
// whether it exited). Everything the text and HTML reports show is computed here, once.
import { apportionInterval, toShares, windowBreakdown } from './breakdown';
import type { Breakdown, ProfileDocument, ProfileMeta, ProfileSample, SeriesPoint } from './model';
import { memoryWarning, summarizeContainer } from './container';
import { cpuCoresOf, summarizeCpu, summarizeEventLoop, summarizeGc, summarizeMemory } from './summaries';
import { packageVersion } from '../version';
import { plural } from './format';
import { processRows } from './processes';
import { decideVerdict, explainVerdict } from './verdict';
import { apportionService, carveThrottled, findWorkThreads, threadRows, type WorkSet } from './workThreads';

/** A sample the report cannot place in time or scale is dropped with a warning, never thrown. */
function isUsable(s: ProfileSample): boolean {
  return Number.isFinite(s.t) && Number.isFinite(s.durationS) && s.durationS > 0 && s.threadTime !== undefined;
}

function seriesPoint(s: ProfileSample, left: boolean): SeriesPoint {
  const loop = s.eventLoop;
  return {
    t: s.t,
    durationS: s.durationS,
    cpuCores: cpuCoresOf(s),
    rssBytes: s.rssBytes,
    loopDelayP99S: loop ? loop.delayNs.p99 / 1e9 : null,
    loopDelayMaxS: loop ? loop.delayNs.max / 1e9 : null,
    loopUtilization: loop ? loop.utilization : null,
    gcCount: s.gc ? s.gc.length : null,
    gcPauseS: s.gc ? s.gc.reduce((sum, p) => sum + p.durationS, 0) : null,
    busyFraction: s.busyS !== undefined ? Math.min(1, Math.max(0, s.busyS / s.durationS)) : null,
    // An interval the window's shares leave out is left out of the chart too: one story.
    breakdown: left ? null : toShares(apportionInterval(s).seconds),
  };
}

/** Fraction of the window with ≥ 1 request in flight, over the intervals a probe covered. */
function inFlightFraction(samples: readonly ProfileSample[]): number | null {
  const probed = samples.filter((s) => s.busyS !== undefined);
  if (probed.length === 0) return null;
  const wall = probed.reduce((sum, s) => sum + s.durationS, 0);
  const busy = probed.reduce((sum, s) => sum + Math.min(s.durationS, Math.max(0, s.busyS ?? 0)), 0);
  return wall > 0 ? busy / wall : 0;
}

/** Other threads' CPU at or above this many cores, and over twice the main thread's, is named. */
const OFF_MAIN_MIN_CORES = 0.05;

/** The process's CPU (utime+stime, which keeps ended threads' time) minus the main thread's schedstat. */
function threadsSummary(samples: readonly ProfileSample[]): ProfileDocument['threadCpu'] {
  let processCpuS = 0;
  let mainCpuS = 0;
  let wallS = 0;
  for (const s of samples) {
    processCpuS += s.cpu.userS + s.cpu.systemS;
    mainCpuS += Number.isFinite(s.threadTime.cpu) ? Math.max(0, s.threadTime.cpu) : 0;
    wallS += s.durationS;
  }
  // Clock ticks (10 ms) against nanoseconds: the main thread can read a little above the process.
  const otherCpuS = Math.max(0, processCpuS - mainCpuS);
  const total = mainCpuS + otherCpuS;
  const workOffMainThread = wallS > 0 && otherCpuS / wallS >= OFF_MAIN_MIN_CORES && otherCpuS > 2 * mainCpuS;
  return { mainCpuS, otherCpuS, mainShareOfCpu: total > 0 ? mainCpuS / total : null, workOffMainThread, processCpuShareOfBusy: null };
}

function formatCores(cpuS: number, windowMs: number): string {
  return windowMs > 0 ? (cpuS / (windowMs / 1000)).toFixed(2) : '?';
}

const ONLY_IDLE: Breakdown = { cpu: 0, runqueue: 0, throttled: 0, io: 0, lock: 0, sleep: 0, other: 0, idle: 1 };

export function buildProfile(input: readonly ProfileSample[], meta: ProfileMeta): ProfileDocument {
  const warnings = [...(meta.warnings ?? [])];
  const usable = input.filter(isUsable).sort((a, b) => a.t - b.t);
  if (usable.length < input.length) warnings.push(`${plural(input.length - usable.length, 'malformed sample')} dropped`);
  // A service (samples carrying their processes): the breakdown covers the threads that did work.
  const work: WorkSet | undefined = usable.some((s) => (s.processes?.length ?? 0) > 0) ? findWorkThreads(usable) : undefined;
  const samples = work ? usable.map((s) => ({ ...s, apportioned: apportionService(s, work) })) : usable;
  if (work) carveThrottled(samples);

  const first = samples[0];
  const last = samples[samples.length - 1];
  const startMs = meta.startMs ?? (first ? first.t - first.durationS * 1000 : Date.now());
  const endMs = last ? last.t : startMs;

  const whole = windowBreakdown(samples);
  // No thread time at all (no samples, or the target exited at once): nothing was seen working.
  const breakdown = whole.wallS > 0 ? whole.shares : ONLY_IDLE;
  const inFlight = inFlightFraction(samples);
  const threads = threadsSummary(samples);
  const wallS = (endMs - startMs) / 1000;
  // Without per-thread data the breakdown is the main thread's: when other threads did the work,
  // the verdict reads the process's CPU over the busy time instead (decideVerdict's offMain).
  const offMain = !work && threads.workOffMainThread ? { cpuS: threads.mainCpuS + threads.otherCpuS, wallS } : undefined;
  const container = summarizeContainer(samples, meta);
  const result = decideVerdict({ shares: breakdown, inFlightFraction: inFlight, offMain, cpuLimitCores: container?.cpuLimitCores });
  if (result.processCpuShareOfBusy !== null) threads.processCpuShareOfBusy = result.processCpuShareOfBusy;
  else {
    const busyWallS = wallS * (inFlight ?? result.busyFraction);
    if (busyWallS > 0) threads.processCpuShareOfBusy = (threads.mainCpuS + threads.otherCpuS) / busyWallS;
  }
  const verdict = result.verdict;
  let explanation = explainVerdict(result, whole.evidence.source, meta.target.runtime, work !== undefined && offMainOrSeveral(samples));
  if (samples.length === 0) {
    explanation = 'No samples were collected, so there is nothing to report; check that the target is running and profile for longer.';
    warnings.push('no samples collected');
  } else if (whole.wallS <= 0) {
    warnings.push('no main-thread time was measured (schedstat unavailable?)');
  }
  if (whole.evidence.source === 'none' && result.verdict !== 'idle') {
    warnings.push('no probe or /proc socket evidence: waiting is counted as its state, none of it as idle');
  }
  const memory = memoryWarning(container);
  if (memory) warnings.push(memory);
  if (threads.workOffMainThread) {
    const split = `other threads did ${Math.round((1 - (threads.mainShareOfCpu ?? 0)) * 100)} % of the process's CPU (${formatCores(threads.otherCpuS, endMs - startMs)} cores vs ${formatCores(threads.mainCpuS, endMs - startMs)} on the main thread): `;
    let how: string;
    if (work) how = 'the breakdown and verdict cover the threads that did the work (see threads)';
    else if (result.mainThreadVerdict !== undefined && result.mainThreadVerdict !== verdict)
      how = `the breakdown describes the main thread (e.g. an accept loop); the verdict reads the process's CPU over the busy time instead (main thread alone: ${result.mainThreadVerdict})`;
    else how = 'the breakdown and verdict describe the main thread (e.g. an accept loop), not the worker threads that did the work';
    warnings.push(split + how);
  }
  const targetExited = meta.targetExited ?? false;
  if (targetExited) warnings.push(`the target exited; this report covers the ${((endMs - startMs) / 1000).toFixed(1)} s seen`);

  return {
    rtprof: 1,
    rtprofVersion: packageVersion(),
    target: meta.target,
    window: {
      start: new Date(startMs).toISOString(),
      end: new Date(endMs).toISOString(),
      durationS: Math.max(0, (endMs - startMs) / 1000),
    },
    cpu: summarizeCpu(samples),
    memory: summarizeMemory(samples),
    eventLoop: summarizeEventLoop(samples),
    gc: summarizeGc(samples),
    breakdown,
    verdict,
    busy: { wallS: whole.wallS * result.busyFraction, fraction: result.busyFraction, shares: result.busyShares },
    evidence: whole.evidence,
    explanation,
    threadCpu: threads,
    threads: work ? threadRows(samples, work) : [],
    processes: work ? processRows(samples, startMs, workThreadCounts(work)) : [],
    load: meta.load ?? null,
    targetExited,
    warnings,
    host: meta.host ?? null,
    container,
    series: samples.map((s) => seriesPoint(s, whole.leftOut.has(s))),
  };
}

function workThreadCounts(work: WorkSet): Map<number, number> {
  const counts = new Map<number, number>();
  for (const [key, role] of work.roles) {
    if (role === 'idle') continue;
    const pid = Number(key.split(':')[0]);
    counts.set(pid, (counts.get(pid) ?? 0) + 1);
  }
  return counts;
}

/** Whether the work is more than one process's main thread (then "in the main thread" is wrong). */
function offMainOrSeveral(samples: readonly ProfileSample[]): boolean {
  const pids = new Set<number>();
  for (const s of samples) for (const p of s.processes ?? []) pids.add(p.pid);
  return (
    pids.size > 1 || samples.some((s) => s.processes?.some((p) => p.threads.some((t) => !t.main && t.seconds.cpu > 0.05 * s.durationS)))
  );
}
