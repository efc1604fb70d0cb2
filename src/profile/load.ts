// --load: HTTP load during the profile window. With --rate, rtprof's open-loop generator
// (openLoop.ts: latencies from each request's due time); without, autocannon as fast as the
// connections go (closed loop: each connection sends its next request when the last is answered).
import autocannon from 'autocannon';
import type { LoadSummary } from '../report';
import { latencySummaryS, startOpenLoop, type OpenLoopResult } from './openLoop';
import { percentile } from '../report/stats';

export interface LoadOptions {
  url: string;
  durationS: number;
  connections: number;
  /** requests per second over all connections; undefined = as fast as possible */
  rate: number | undefined;
}

export interface RunningLoad {
  done: Promise<LoadSummary>;
  stop: () => void;
}

export function startLoad(options: LoadOptions): RunningLoad {
  if (options.rate !== undefined) return startFixedRate({ ...options, rate: options.rate });
  return startClosedLoop(options);
}

/** The document's summary of an open-loop run. */
export function openLoopSummary(r: OpenLoopResult, url: string, connections: number): LoadSummary {
  const lag = r.sendLagMs;
  return {
    requests: r.answered,
    rps: r.elapsedS > 0 ? r.answered / r.elapsedS : 0,
    latencyS: latencySummaryS(r),
    errors: r.socketErrors + r.timeouts + r.non2xx,
    non2xx: r.non2xx,
    timeouts: r.timeouts,
    url,
    mode: 'open-loop',
    targetRps: 1000 / r.periodMs,
    scheduled: r.scheduled,
    connections,
    unfinished: r.unfinished,
    sendLagS: { p50: percentile(lag, 0.5) / 1000, p99: percentile(lag, 0.99) / 1000, max: lag.reduce((a, b) => (b > a ? b : a), 0) / 1000 },
    maxQueued: r.maxQueued,
  };
}

function startFixedRate(options: LoadOptions & { rate: number }): RunningLoad {
  const run = startOpenLoop({ url: options.url, rate: options.rate, durationS: options.durationS, connections: options.connections });
  return { done: run.done.then((r) => openLoopSummary(r, options.url, options.connections)), stop: run.stop };
}

function startClosedLoop(options: LoadOptions): RunningLoad {
  let resolveDone: (s: LoadSummary) => void = () => undefined;
  let rejectDone: (e: Error) => void = () => undefined;
  const done = new Promise<LoadSummary>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  const instance = autocannon({ url: options.url, connections: options.connections, duration: options.durationS }, (err, r) => {
    if (err) return rejectDone(err);
    resolveDone({
      requests: r.requests.total,
      rps: r.requests.average,
      // autocannon's histogram keeps whole milliseconds
      latencyS: {
        p50: r.latency.p50 / 1000,
        p90: r.latency.p90 / 1000,
        p99: r.latency.p99 / 1000,
        max: r.latency.max / 1000,
        min: r.latency.min / 1000,
      },
      // autocannon's errors already include timeouts; a non-2xx answer is a failed request too
      errors: r.errors + r.non2xx,
      non2xx: r.non2xx,
      timeouts: r.timeouts,
      url: options.url,
      mode: 'closed-loop',
      connections: options.connections,
    });
  });
  return { done, stop: () => instance.stop() };
}

/**
 * What a reader of the latencies must know: requests left unanswered, or a generator that sent
 * late with a connection free (its own process was busy), a wait the latencies include.
 */
export function loadWarnings(s: LoadSummary | null): string[] {
  if (!s || s.mode !== 'open-loop') return [];
  const out: string[] = [];
  if (s.unfinished)
    out.push(
      `load: ${s.unfinished} of ${s.scheduled ?? '?'} requests were unanswered when the window closed; the latencies leave them out`,
    );
  const lag = s.sendLagS;
  if (lag && s.maxQueued === 0 && lag.p99 > Math.max(0.005, 0.5 * s.latencyS.p50)) {
    out.push(
      `load: the generator sent 1 % of requests ${(lag.p99 * 1000).toFixed(1)} ms or more late with a connection free (this process was busy or short of CPU); the latencies include that wait`,
    );
  }
  return out;
}
