// One row per process of a service over the window: master and workers, including workers that
// exited or were respawned during it. Pure: the samples' per-process intervals in, rows out.
import type { ProcessInterval, ProcessRow, ProfileSample } from './model';
import { maxOf, weightedMean } from './stats';

interface Acc {
  last: ProcessInterval;
  userS: number;
  systemS: number;
  wallS: number;
  firstMs: number;
  lastMs: number;
  delayP99: number[];
  delayMax: number[];
  util: number[];
  loopWeights: number[];
  gcCount: number;
  gcS: number;
  gcSeen: boolean;
  requests: number | null;
}

/** `workThreadsByPid`: how many of each process's threads the breakdown counts. */
export function processRows(
  samples: readonly ProfileSample[],
  startMs: number,
  workThreadsByPid: ReadonlyMap<number, number>,
): ProcessRow[] {
  const byPid = new Map<number, Acc>();
  for (const s of samples) {
    for (const p of s.processes ?? []) {
      const acc: Acc = byPid.get(p.pid) ?? {
        last: p,
        userS: 0,
        systemS: 0,
        wallS: 0,
        firstMs: s.t - s.durationS * 1000,
        lastMs: s.t,
        delayP99: [],
        delayMax: [],
        util: [],
        loopWeights: [],
        gcCount: 0,
        gcS: 0,
        gcSeen: false,
        requests: null,
      };
      acc.last = p;
      acc.userS += p.cpu.userS;
      acc.systemS += p.cpu.systemS;
      acc.wallS += s.durationS;
      acc.lastMs = s.t;
      if (p.eventLoop) {
        acc.delayP99.push(p.eventLoop.delayNs.p99 / 1e9);
        acc.delayMax.push(p.eventLoop.delayNs.max / 1e9);
        acc.util.push(p.eventLoop.utilization);
        acc.loopWeights.push(s.durationS);
      }
      if (p.gc) {
        acc.gcSeen = true;
        acc.gcCount += p.gc.length;
        acc.gcS += p.gc.reduce((sum, g) => sum + g.durationS, 0);
      }
      if (p.requests !== undefined) acc.requests = (acc.requests ?? 0) + p.requests;
      byPid.set(p.pid, acc);
    }
  }
  const lastSampleMs = samples[samples.length - 1]?.t ?? startMs;
  return [...byPid.entries()].map(([pid, a]) => ({
    pid,
    ppid: a.last.ppid,
    role: a.last.role,
    runtime: a.last.runtime,
    cpu: { avgCores: a.wallS > 0 ? (a.userS + a.systemS) / a.wallS : 0, userS: a.userS, systemS: a.systemS },
    memory: { rssBytes: a.last.rssBytes, pssBytes: a.last.pssBytes ?? null },
    eventLoop:
      a.util.length > 0
        ? {
            delayP99S: weightedMean(a.delayP99, a.loopWeights),
            delayMaxS: maxOf(a.delayMax),
            utilization: weightedMean(a.util, a.loopWeights),
          }
        : null,
    gc: a.gcSeen ? { count: a.gcCount, totalS: a.gcS } : null,
    requests: a.requests,
    firstSeenS: Math.max(0, (a.firstMs - startMs) / 1000),
    lastSeenS: Math.max(0, (a.lastMs - startMs) / 1000),
    exited: a.lastMs < lastSampleMs,
    workThreads: workThreadsByPid.get(pid) ?? 0,
  }));
}
