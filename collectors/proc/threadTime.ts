// Splits one interval of a thread's wall time into states. schedstat is exact for on-CPU and
// run-queue time; the sampler's tally of off-CPU observations apportions the remainder.
import type { WaitTally } from './threadState';

export const THREAD_STATES = ['cpu', 'runqueue', 'io', 'lock', 'sleep', 'other'] as const;
export type ThreadState = (typeof THREAD_STATES)[number];
export type ThreadTimes = Record<ThreadState, number>;

export function zeroTimes(): ThreadTimes {
  return { cpu: 0, runqueue: 0, io: 0, lock: 0, sleep: 0, other: 0 };
}

/** Seconds per state over an interval of `wallNs`; the values always sum to wallNs / 1e9. */
export function splitInterval(wallNs: number, cpuNs: number, runqueueNs: number, tally: WaitTally): ThreadTimes {
  const out = zeroTimes();
  if (wallNs <= 0) return out;
  let cpu = Math.max(0, cpuNs);
  let rq = Math.max(0, runqueueNs);
  // Our wall clock and the scheduler's accounting are read microseconds apart: clamp the overshoot.
  if (cpu + rq > wallNs) {
    const scale = wallNs / (cpu + rq);
    cpu *= scale;
    rq *= scale;
  }
  const offCpu = wallNs - cpu - rq;
  out.cpu = cpu / 1e9;
  out.runqueue = rq / 1e9;
  const observed = tally.io + tally.lock + tally.sleep + tally.other;
  if (observed === 0) {
    out.other = offCpu / 1e9;
    return out;
  }
  out.io = (offCpu * tally.io) / observed / 1e9;
  out.lock = (offCpu * tally.lock) / observed / 1e9;
  out.sleep = (offCpu * tally.sleep) / observed / 1e9;
  out.other = (offCpu * tally.other) / observed / 1e9;
  return out;
}

export function addTimes(into: ThreadTimes, add: ThreadTimes): void {
  for (const state of THREAD_STATES) into[state] += add[state];
}
