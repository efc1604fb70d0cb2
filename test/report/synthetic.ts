// Seeded synthetic profile samples (after clinic doctor's generate-process-stat): a service whose
// requests spend known shares of their time on CPU, waiting for a CPU, on locks and on I/O, at a
// known load. The main thread waits in epoll between requests, so its raw io time mixes request
// I/O with idle waiting: exactly what the breakdown has to take apart.
import type { ProfileMeta, ProfileSample } from '../../src/report/model';

/** mulberry32: small, fast, and the same sequence for the same seed on every machine. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface Shape {
  seed: number;
  intervals?: number;
  durationS?: number;
  /** Fraction of each interval with a request in flight (±jitter). */
  busyFraction: number;
  /** Shares of in-flight time; io gets the rest. */
  cpu: number;
  runqueue?: number;
  lock?: number;
  /** How the collector saw it: a probe (busyS), /proc socket evidence, or nothing. */
  evidence: 'probe' | 'proc' | 'none';
  /** On-CPU seconds per second spent outside requests (timers, housekeeping). */
  backgroundCpu?: number;
  rssStartBytes?: number;
  rssGrowthBytesPerS?: number;
  withLoop?: boolean;
  withGc?: boolean;
  startMs?: number;
}

export const T0 = Date.UTC(2025, 0, 1, 12, 0, 0);

export function generate(shape: Shape): ProfileSample[] {
  const random = rng(shape.seed);
  const jitter = (x: number, amount: number): number => Math.max(0, x * (1 + (random() * 2 - 1) * amount));
  const n = shape.intervals ?? 30;
  const d = shape.durationS ?? 1;
  const start = shape.startMs ?? T0;
  const samples: ProfileSample[] = [];
  for (let i = 0; i < n; i++) {
    const busy = Math.min(d, jitter(shape.busyFraction * d, 0.03));
    const cpu = busy * shape.cpu;
    const runqueue = busy * (shape.runqueue ?? 0);
    const lock = busy * (shape.lock ?? 0);
    const ioBusy = Math.max(0, busy - cpu - runqueue - lock);
    const background = Math.min(d - busy, (shape.backgroundCpu ?? 0) * (d - busy));
    const idleWait = d - busy - background;
    const sample: ProfileSample = {
      t: start + (i + 1) * d * 1000,
      durationS: d,
      cpu: { userS: (cpu + background) * 0.8, systemS: (cpu + background) * 0.2 },
      rssBytes: (shape.rssStartBytes ?? 50 * 2 ** 20) + (shape.rssGrowthBytesPerS ?? 0) * (i + 1) * d + (random() - 0.5) * 2 ** 16,
      threadTime: { cpu: cpu + background, runqueue, io: ioBusy + idleWait, lock, sleep: 0, other: 0 },
    };
    if (shape.evidence === 'probe') sample.busyS = busy;
    if (shape.evidence === 'proc') sample.ioWaitOnConnectedS = ioBusy;
    if (shape.withLoop) {
      const p50 = jitter(1e6, 0.2);
      sample.eventLoop = {
        delayNs: { min: 0, mean: p50, p50, p90: p50 * 3, p99: p50 * 10, max: p50 * 20 },
        utilization: busy / d,
      };
    }
    if (shape.withGc) sample.gc = i % 3 === 0 ? [{ kind: 'minor', durationS: jitter(0.002, 0.5) }] : [];
    samples.push(sample);
  }
  return samples;
}

export const META: ProfileMeta = {
  target: { pid: 4242, runtime: 'nodejs', runtimeVersion: 'v20.20.2', command: 'node server.js --port 3000', attach: 'preload' },
};

/** The accuracy shapes: 20 ms spin + 60 ms downstream wait, and the reverse. */
export const IO_HEAVY = { busyFraction: 0.97, cpu: 0.25, evidence: 'probe', backgroundCpu: 0.002 } as const;
export const CPU_HEAVY = { busyFraction: 0.97, cpu: 0.75, evidence: 'probe', backgroundCpu: 0.002 } as const;
export const NO_TRAFFIC = { busyFraction: 0, cpu: 0, evidence: 'probe', backgroundCpu: 0.004 } as const;
export const MIXED = { busyFraction: 0.9, cpu: 0.3, lock: 0.25, evidence: 'probe' } as const;
