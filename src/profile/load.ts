// --load: HTTP load during the profile window, with autocannon as a library.
import autocannon from 'autocannon';
import type { LoadSummary } from '../report';

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
  let resolveDone: (s: LoadSummary) => void = () => undefined;
  let rejectDone: (e: Error) => void = () => undefined;
  const done = new Promise<LoadSummary>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  const instance = autocannon(
    {
      url: options.url,
      connections: options.connections,
      duration: options.durationS,
      ...(options.rate !== undefined ? { overallRate: options.rate } : {}),
    },
    (err, r) => {
      if (err) return rejectDone(err);
      resolveDone({
        requests: r.requests.total,
        rps: r.requests.average,
        latencyS: { p50: r.latency.p50 / 1000, p99: r.latency.p99 / 1000, max: r.latency.max / 1000 },
        // autocannon's errors already include timeouts; a non-2xx answer is a failed request too
        errors: r.errors + r.non2xx,
        non2xx: r.non2xx,
        timeouts: r.timeouts,
        url: options.url,
      });
    },
  );
  return { done, stop: () => instance.stop() };
}
