// The independent answer at open-loop load (services run well below saturation, with requests
// arriving on their own schedule, not one after another): the test's own client sends requests at
// a fixed rate, whatever is still in flight, and records when each was in flight; the kernel's
// scheduler counters of the target's main thread say how much of that time it ran or queued.
//
// By the definition the profile follows, a thread's waiting is io while work is in flight and idle
// otherwise. So over a window [a, b]:
//   inFlight = the union of the requests' [sent, answered] inside the window (on loopback the
//              client's view of in-flight is the server's, give or take a socket hop)
//   cpu, rq  = the main thread's on-CPU and run-queue time (/proc/PID/task/PID/schedstat)
//   io       = inFlight − (cpu + rq during inFlight): waiting while a request was in flight (the
//              counters are polled every 2 ms and interpolated between polls)
//   busy     = cpu + rq + io
// and the shares are of busy time, as the profile's `busy.shares` are.
import http from 'node:http';
import { schedstat } from './groundTruth';
import { nowMs, union, type Interval } from './treeMeter';

export interface OpenLoopTruth {
  rate: number;
  sent: number;
  failed: number;
  inFlightS: number;
  cpuS: number;
  runqueueS: number;
  ioS: number;
  busyS: number;
  wallS: number;
  shares: { cpu: number; runqueue: number; io: number };
  /** the verdict the definitions give for these shares */
  verdict: 'io-bound' | 'cpu-bound' | 'mixed' | 'idle';
}

/** Requests at a fixed rate, each sent when due whether or not earlier ones have been answered. */
export class OpenLoop {
  readonly spans: Interval[] = [];
  failed = 0;
  private timer: NodeJS.Timeout | undefined;
  private readonly agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  private outstanding = 0;

  constructor(
    private readonly url: string,
    readonly rate: number,
  ) {}

  start(): this {
    const u = new URL(this.url);
    const t0 = nowMs();
    let i = 0;
    // Due times are t0 + i/rate; a late timer sends every request that is due (no drift, no skipping).
    const pump = (): void => {
      const now = nowMs();
      while (t0 + (i * 1000) / this.rate <= now) {
        i++;
        this.send(u);
      }
      this.timer = setTimeout(pump, Math.max(1, t0 + (i * 1000) / this.rate - nowMs()));
    };
    pump();
    return this;
  }

  private send(u: URL): void {
    const start = nowMs();
    this.outstanding++;
    const done = (ok: boolean): void => {
      this.outstanding--;
      if (ok) this.spans.push([start, nowMs()]);
      else this.failed++;
    };
    const req = http.get({ agent: this.agent, hostname: u.hostname, port: u.port, path: u.pathname + u.search }, (res) => {
      res.resume();
      res.on('end', () => done(res.statusCode === 200));
      res.on('error', () => done(false));
    });
    req.setTimeout(10_000, () => req.destroy(new Error('timeout')));
    req.on('error', () => done(false));
  }

  /** Stops sending and waits (up to 5 s) for the answers still due. */
  async stop(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    const deadline = Date.now() + 5000;
    while (this.outstanding > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    this.agent.destroy();
  }
}

/** The verdict the definitions give: I/O-bound when io ≥ 60 % of busy time, CPU-bound when cpu ≥ 40 %. */
export function verdictOf(shares: { cpu: number; io: number }, inFlightS: number): OpenLoopTruth['verdict'] {
  return inFlightS <= 0 ? 'idle' : shares.io >= 0.6 ? 'io-bound' : shares.cpu >= 0.4 ? 'cpu-bound' : 'mixed';
}

/** A CPU-only handler waits on nothing: the truth with its io (the client's view of the sockets'
 * trip and its own delays, see test/accuracy.e2e.test.ts) given back to cpu. */
export function nominalCpuOnly(t: OpenLoopTruth): OpenLoopTruth {
  const shares = { io: 0, cpu: t.shares.cpu + t.shares.io, runqueue: t.shares.runqueue };
  return { ...t, shares, verdict: verdictOf(shares, t.inFlightS) };
}

/** The main thread's counters, polled every few ms from `start()` on, so any span can be read. */
export class ThreadClock {
  private readonly points: Array<{ t: number; cpuNs: number; runqueueNs: number }> = [];
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly pid: number,
    private readonly everyMs = 2,
  ) {}

  start(): this {
    const poll = (): void => {
      try {
        this.points.push({ t: nowMs(), ...schedstat(this.pid) });
      } catch {
        // the target is gone: the spans read so far still hold
      }
    };
    poll();
    this.timer = setInterval(poll, this.everyMs);
    return this;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Counters at time t, interpolated between the polls around it. */
  private at(t: number): { cpuNs: number; runqueueNs: number } {
    const ps = this.points;
    if (ps.length === 0) return { cpuNs: 0, runqueueNs: 0 };
    // the first poll at or after t (binary search: the polls are in time order)
    let lo = 0;
    let hi = ps.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ps[mid]!.t >= t) hi = mid;
      else lo = mid + 1;
    }
    const i = lo;
    if (i === 0) return ps[0]!;
    const [p, q] = [ps[i - 1]!, ps[i]!];
    const f = q.t > p.t ? Math.min(1, Math.max(0, (t - p.t) / (q.t - p.t))) : 1;
    return { cpuNs: p.cpuNs + f * (q.cpuNs - p.cpuNs), runqueueNs: p.runqueueNs + f * (q.runqueueNs - p.runqueueNs) };
  }

  span(a: number, b: number): { cpuS: number; runqueueS: number } {
    const [x, y] = [this.at(a), this.at(b)];
    return { cpuS: (y.cpuNs - x.cpuNs) / 1e9, runqueueS: (y.runqueueNs - x.runqueueNs) / 1e9 };
  }
}

/** The truth over the given spans (epoch ms): the intervals a profile's shares cover. */
export function truthOver(spans: Interval[], clock: ThreadClock, load: OpenLoop): OpenLoopTruth {
  let cpuS = 0;
  let runqueueS = 0;
  let inFlightS = 0;
  let onCpuInFlightS = 0;
  let wallS = 0;
  let sent = 0;
  for (const [a, b] of spans) {
    const s = clock.span(a, b);
    cpuS += s.cpuS;
    runqueueS += s.runqueueS;
    // The thread's running and queueing while a request was in flight; what is left of the
    // in-flight time it was waiting. (Its CPU outside requests — timers, GC, a probe's ticks — is
    // busy time too, but not a request's wait.)
    for (const [x, y] of union(load.spans, a, b)) {
      inFlightS += (y - x) / 1000;
      const inside = clock.span(x, y);
      onCpuInFlightS += inside.cpuS + inside.runqueueS;
    }
    wallS += (b - a) / 1000;
    sent += load.spans.filter(([x]) => x >= a && x < b).length;
  }
  const ioS = Math.max(0, inFlightS - onCpuInFlightS);
  const busyS = cpuS + runqueueS + ioS;
  const shares = busyS > 0 ? { cpu: cpuS / busyS, runqueue: runqueueS / busyS, io: ioS / busyS } : { cpu: 0, runqueue: 0, io: 0 };
  const verdict = verdictOf(shares, inFlightS);
  return { rate: load.rate, sent, failed: load.failed, inFlightS, cpuS, runqueueS, ioS, busyS, wallS, shares, verdict };
}
