// Open-loop HTTP load at a fixed rate for `--load URL --rate N`: request i is due at t0 + i/rate
// and its latency runs from that due time to the last byte of its answer. A client that falls
// behind (a late timer, every connection busy) adds its wait to the latency instead of quietly
// sending later: a closed-loop client's latencies leave out exactly that wait (coordinated
// omission), which is how a queueing service looks fast.
import { Agent as HttpAgent, request as httpRequest, type ClientRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import { percentile } from '../report/stats';

export interface OpenLoopOptions {
  url: string;
  /** requests per second */
  rate: number;
  /** requests are due over [0, durationS) */
  durationS: number;
  /** the most requests in flight (= sockets) at once; a due request waits for a free one */
  connections: number;
  /** a request unanswered this long after it was due is a timeout (default 10 s) */
  timeoutS?: number;
  /** after the last due time, how long answers are still awaited (default 2 s, capped by timeoutS) */
  drainS?: number;
  /** names a header carrying each request's sequence number (0-based), so a server can match its
   * own timestamps to the schedule */
  seqHeader?: string;
}

export interface OpenLoopResult {
  /** t0 on the monotonic clock (ms, the clock `process.hrtime` reads, shared by every process) */
  startMs: number;
  /** request i was due at startMs + i * periodMs */
  periodMs: number;
  scheduled: number;
  sent: number;
  /** answers of any status */
  answered: number;
  non2xx: number;
  /** connection or protocol failures */
  socketErrors: number;
  timeouts: number;
  /** due in the window but neither answered nor failed when the load stopped */
  unfinished: number;
  /** due → answer of every answered request, in due order */
  latenciesMs: number[];
  /** due → handed to a socket, of every sent request: how far behind the client itself was */
  sendLagMs: number[];
  /** the most due requests waiting for a free connection at once */
  maxQueued: number;
  /** t0 → the later of the window's end and the last answer */
  elapsedS: number;
}

export interface RunningOpenLoop {
  done: Promise<OpenLoopResult>;
  /** stops at once: requests not answered yet count as unfinished */
  stop: () => void;
}

/** Monotonic milliseconds with sub-ms precision, comparable across processes. */
export const monotonicMs = (): number => Number(process.hrtime.bigint()) / 1e6;

export function startOpenLoop(options: OpenLoopOptions): RunningOpenLoop {
  // the CLI has checked these already; a library caller gets told at once rather than a stall
  if (!(options.rate > 0 && Number.isFinite(options.rate))) throw new RangeError(`open loop: rate must be > 0, got ${options.rate}`);
  if (!(options.connections >= 1)) throw new RangeError(`open loop: connections must be ≥ 1, got ${options.connections}`);
  const url = new URL(options.url);
  const https = url.protocol === 'https:';
  const agent = https
    ? new HttpsAgent({ keepAlive: true, maxSockets: options.connections })
    : new HttpAgent({ keepAlive: true, maxSockets: options.connections });
  const send = https ? httpsRequest : httpRequest;
  const periodMs = 1000 / options.rate;
  const scheduled = Math.max(0, Math.floor(options.durationS * options.rate + 1e-9));
  const timeoutMs = (options.timeoutS ?? 10) * 1000;
  const drainMs = Math.min(timeoutMs, (options.drainS ?? 2) * 1000);
  const latencies: Array<number | undefined> = new Array<number | undefined>(scheduled);
  const sendLagMs: number[] = [];
  const queue: number[] = []; // due, not yet sent: sequence numbers in due order from queueHead on
  let queueHead = 0;
  const queued = (): number => queue.length - queueHead;
  const inFlight = new Map<number, ClientRequest>();
  const counts = { sent: 0, answered: 0, non2xx: 0, socketErrors: 0, timeouts: 0, maxQueued: 0 };
  let next = 0; // the next sequence number to fall due
  let lastAnswerMs = 0;
  let finished = false;
  let tickTimer: NodeJS.Timeout | undefined;
  let drainTimer: NodeJS.Timeout | undefined;
  let resolveDone: (r: OpenLoopResult) => void = () => undefined;
  const done = new Promise<OpenLoopResult>((resolve) => (resolveDone = resolve));
  const startMs = monotonicMs();
  const dueMs = (seq: number): number => startMs + seq * periodMs;

  const finish = (): void => {
    if (finished) return;
    finished = true;
    clearTimeout(tickTimer);
    clearTimeout(drainTimer);
    clearInterval(sweeper);
    for (const req of inFlight.values()) req.destroy();
    inFlight.clear();
    agent.destroy();
    const answeredLatencies = latencies.filter((l): l is number => l !== undefined);
    const ended = counts.answered + counts.socketErrors + counts.timeouts;
    const windowEnd = startMs + options.durationS * 1000;
    resolveDone({
      startMs,
      periodMs,
      scheduled,
      sent: counts.sent,
      answered: counts.answered,
      non2xx: counts.non2xx,
      socketErrors: counts.socketErrors,
      timeouts: counts.timeouts,
      unfinished: Math.max(0, next - ended),
      latenciesMs: answeredLatencies,
      sendLagMs,
      maxQueued: counts.maxQueued,
      elapsedS: (Math.max(lastAnswerMs, Math.min(monotonicMs(), windowEnd)) - startMs) / 1000,
    });
  };

  const maybeFinish = (): void => {
    if (next >= scheduled && queued() === 0 && inFlight.size === 0) finish();
  };

  const settle = (seq: number, outcome: 'answer' | 'error' | 'timeout', status = 0): void => {
    if (!inFlight.delete(seq)) return; // already settled (a timeout destroys, then the error follows)
    const now = monotonicMs();
    if (outcome === 'answer') {
      counts.answered++;
      if (status < 200 || status > 299) counts.non2xx++;
      latencies[seq] = now - dueMs(seq);
      lastAnswerMs = now;
    } else if (outcome === 'timeout') counts.timeouts++;
    else counts.socketErrors++;
    pump();
    maybeFinish();
  };

  const dispatch = (seq: number): void => {
    const now = monotonicMs();
    if (dueMs(seq) + timeoutMs <= now) {
      counts.timeouts++; // waited for a connection until its deadline
      return;
    }
    counts.sent++;
    sendLagMs.push(now - dueMs(seq));
    const headers = options.seqHeader ? { [options.seqHeader]: String(seq) } : undefined;
    const req = send(url, { agent, method: 'GET', headers }, (res: IncomingMessage) => {
      res.on('error', () => settle(seq, 'error'));
      res.on('end', () => settle(seq, 'answer', res.statusCode ?? 0));
      res.resume();
    });
    inFlight.set(seq, req);
    req.on('error', () => settle(seq, 'error'));
    req.end();
  };

  // One sweep for every deadline rather than a timer per request: requests go out in due order,
  // so the Map (insertion order) holds the earliest deadline first.
  const sweep = (): void => {
    const now = monotonicMs();
    const expired: Array<[number, ClientRequest]> = [];
    for (const [seq, req] of inFlight) {
      if (dueMs(seq) + timeoutMs > now) break;
      expired.push([seq, req]);
    }
    for (const [seq, req] of expired) {
      settle(seq, 'timeout');
      req.destroy();
    }
  };
  const sweeper = setInterval(sweep, Math.min(100, timeoutMs / 10));
  sweeper.unref();

  function pump(): void {
    while (!finished && queued() > 0 && inFlight.size < options.connections) {
      dispatch(queue[queueHead++]!);
    }
    if (queueHead > 1024 && queueHead * 2 > queue.length) {
      queue.splice(0, queueHead); // keeps the sent prefix from growing with a long run
      queueHead = 0;
    }
    maybeFinish();
  }

  const tick = (): void => {
    if (finished) return;
    const now = monotonicMs();
    while (next < scheduled && dueMs(next) <= now) queue.push(next++);
    counts.maxQueued = Math.max(counts.maxQueued, queued() - Math.max(0, options.connections - inFlight.size));
    pump();
    if (finished) return;
    if (next < scheduled) {
      tickTimer = setTimeout(tick, Math.max(0, dueMs(next) - monotonicMs()));
    } else {
      const endMs = dueMs(Math.max(0, scheduled - 1)) + drainMs;
      const drained = (): void => {
        // timers count whole ms and can fire a fraction early: a deadline at the drain's end must pass
        if (monotonicMs() < endMs) return void (drainTimer = setTimeout(drained, 1));
        sweep();
        finish();
      };
      drainTimer = setTimeout(drained, Math.max(0, endMs - monotonicMs()));
    }
  };

  tick();
  return { done, stop: finish };
}

/** Percentiles of a result, in seconds. */
export function latencySummaryS(r: OpenLoopResult): { p50: number; p90: number; p99: number; max: number; min: number; mean: number } {
  const l = r.latenciesMs;
  const s = (ms: number): number => ms / 1000;
  let min = Infinity;
  let max = 0;
  let sum = 0;
  for (const x of l) {
    if (x < min) min = x;
    if (x > max) max = x;
    sum += x;
  }
  return {
    p50: s(percentile(l, 0.5)),
    p90: s(percentile(l, 0.9)),
    p99: s(percentile(l, 0.99)),
    max: s(max),
    min: l.length ? s(min) : 0,
    mean: l.length ? s(sum / l.length) : 0,
  };
}
