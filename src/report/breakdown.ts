// Splits the main thread's wall time into cpu, runqueue, io, lock, sleep, other and idle
// (docs/ARCHITECTURE.md, "Definitions"). Pure: samples in, seconds and shares out.
//
// How waiting becomes `idle`, per interval, by the best evidence that interval has:
// - probe (busyS given): with busy fraction b = busyS / durationS, each of io, sleep and other
//   waiting w is split b·w → its own state and (1−b)·w → idle. We only know how much of the
//   interval had work in flight, not when, so waiting is assumed spread evenly over the interval.
// - /proc (ioWaitOnConnectedS given): io waiting on a connected socket stays io (a request is
//   being served), the rest of io (accept/epoll on a listening socket) is idle.
// - none: waiting stays in its state; io is reported as io and the evidence says "none".
// cpu and runqueue are never idle (the thread wanted to run), nor is lock: a thread blocked on a
// lock (for CPython, often the GIL) has work and is waiting for another thread, not for requests.
//
// `throttled` is carved out of runqueue. A throttled cgroup's runnable threads stay queued, so the
// kernel counts their throttled wait in schedstat's run delay; the sampler cannot tell it from
// waiting for a busy host. cpu.stat says how long the cgroup was throttled (summed over each CPU
// whose queue was throttled), not which thread waited then, so the main thread is given
// min(its run-queue time, the cgroup's throttled time) per interval: while it was runnable and the
// cgroup throttled, it waited on the limit. With one busy thread this is exact; when several CPUs'
// queues were throttled at once the sum exceeds any one thread's wait and the run-queue time bounds it.
import type { Breakdown, BreakdownState, Evidence, EvidenceSource, ProfileSample } from './model';
import { BREAKDOWN_STATES } from './model';

export type BreakdownSeconds = Record<BreakdownState, number>;

export interface IntervalBreakdown {
  seconds: BreakdownSeconds;
  evidence: EvidenceSource;
}

export interface WindowBreakdown {
  /** Seconds per state summed over the window. */
  seconds: BreakdownSeconds;
  /** Fractions of wall time; sum to 1 whenever wallS > 0. */
  shares: Breakdown;
  wallS: number;
  evidence: Evidence;
  /** the intervals the shares leave out (see leftOut) */
  leftOut: Set<ProfileSample>;
}

export const EVIDENCE_DETAIL: Record<EvidenceSource, string> = {
  probe: 'probe: requests in flight',
  proc: '/proc: blocked on connected socket vs listening socket',
  none: 'none',
};

export function zeroSeconds(): BreakdownSeconds {
  return { cpu: 0, runqueue: 0, throttled: 0, io: 0, lock: 0, sleep: 0, other: 0, idle: 0 };
}

const nonNegative = (x: number): number => (Number.isFinite(x) && x > 0 ? x : 0);
const clamp01 = (x: number): number => Math.min(1, nonNegative(x));

/** Which evidence this interval carries, best first. */
export function evidenceOf(sample: ProfileSample): EvidenceSource {
  if (sample.busyS !== undefined && Number.isFinite(sample.busyS)) return 'probe';
  if (sample.ioWaitOnConnectedS !== undefined && Number.isFinite(sample.ioWaitOnConnectedS)) return 'proc';
  return 'none';
}

/** One interval's seconds per state, summing to the thread's measured wall time. */
export function apportionInterval(sample: ProfileSample): IntervalBreakdown {
  // A service's interval is split over its work threads by the report (workThreads.ts).
  if (sample.apportioned) return { seconds: { ...sample.apportioned.seconds }, evidence: sample.apportioned.evidence };
  const tt = sample.threadTime;
  const s = zeroSeconds();
  s.cpu = nonNegative(tt.cpu);
  s.runqueue = nonNegative(tt.runqueue);
  s.throttled = Math.min(s.runqueue, nonNegative(sample.throttledS ?? 0));
  s.runqueue -= s.throttled;
  s.io = nonNegative(tt.io);
  s.lock = nonNegative(tt.lock);
  s.sleep = nonNegative(tt.sleep);
  s.other = nonNegative(tt.other);
  const evidence = evidenceOf(sample);
  if (evidence === 'probe') {
    const b = sample.durationS > 0 ? clamp01((sample.busyS ?? 0) / sample.durationS) : 0;
    for (const state of ['io', 'sleep', 'other'] as const) {
      const waiting = s[state];
      s[state] = b * waiting;
      s.idle += waiting - s[state];
    }
  } else if (evidence === 'proc') {
    const connected = Math.min(s.io, nonNegative(sample.ioWaitOnConnectedS ?? 0));
    s.idle += s.io - connected;
    s.io = connected;
  }
  return { seconds: s, evidence };
}

export function totalSeconds(seconds: BreakdownSeconds): number {
  let total = 0;
  for (const state of BREAKDOWN_STATES) total += seconds[state];
  return total;
}

/** Seconds → fractions of their total; all zero when the total is zero. */
export function toShares(seconds: BreakdownSeconds): Breakdown {
  const total = totalSeconds(seconds);
  const shares = zeroSeconds();
  if (total <= 0) return shares;
  for (const state of BREAKDOWN_STATES) shares[state] = seconds[state] / total;
  return shares;
}

/** Names the evidence for the whole window, and how much of it the best evidence covered. */
function describeEvidence(counts: Record<EvidenceSource, number>): Evidence {
  const total = counts.probe + counts.proc + counts.none;
  const source: EvidenceSource = counts.probe > 0 ? 'probe' : counts.proc > 0 ? 'proc' : 'none';
  const covered = counts[source];
  const detail =
    covered < total && source !== 'none' ? `${EVIDENCE_DETAIL[source]} (${covered} of ${total} intervals)` : EVIDENCE_DETAIL[source];
  return { source, detail };
}

/** Intervals the window's shares leave out: a loop's probe was expected but had not yet given
 * evidence of work in flight (attaching, or its first interval), when other intervals have it.
 * Booking such a loop's waiting as io or as idle would be a guess either way. */
function leftOut(samples: readonly ProfileSample[]): Set<ProfileSample> {
  const unknown = samples.filter((s) => s.apportioned?.unknown === true);
  return unknown.length < samples.length ? new Set(unknown) : new Set();
}

export function windowBreakdown(samples: readonly ProfileSample[]): WindowBreakdown {
  const seconds = zeroSeconds();
  const counts: Record<EvidenceSource, number> = { probe: 0, proc: 0, none: 0 };
  const skipped = leftOut(samples);
  for (const sample of samples) {
    if (skipped.has(sample)) continue;
    const one = apportionInterval(sample);
    counts[one.evidence]++;
    for (const state of BREAKDOWN_STATES) seconds[state] += one.seconds[state];
  }
  const evidence = describeEvidence(counts);
  if (skipped.size > 0) {
    const n = skipped.size;
    evidence.detail += `; ${n} of ${samples.length} intervals left out: the probe was arriving or had not yet reported work in flight`;
  }
  return { seconds, shares: toShares(seconds), wallS: totalSeconds(seconds), evidence, leftOut: skipped };
}
