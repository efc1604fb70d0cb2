// One soak run: `rtprof run` (its agent discovering the attach targets, its spawner starting the
// preloaded ones) under continuous churn, scraped and sampled throughout, then drained and stopped.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { Churn, PYTHON, type Kind } from './churn';
import { cpuSeconds, fdCount, leftovers, newScrapeStats, rssKb, scrape, type Sample, type ScrapeStats } from './measure';

const ROOT = path.join(__dirname, '..', '..', '..');

export interface SoakOptions {
  churnMs: number;
  /** one new target every everyMs */
  everyMs: number;
  sampleMs: number;
  scrapeMs: number;
  /** a target's life in seconds, [min, max); the drain after the churn waits up to max */
  lifeS?: [number, number];
  /** where the agent's log goes (kept for reading after a failure) */
  logFile: string;
  progress?: (line: string) => void;
}

export interface KindCount {
  started: number;
  seen: number;
  connected: number;
}

export interface SoakRun {
  startedAt: string;
  options: Pick<SoakOptions, 'churnMs' | 'everyMs' | 'sampleMs' | 'scrapeMs'>;
  machine: string;
  agentPid: number;
  /** before the churn: the agent up, its spawner its only target */
  baseline: { rssKb: number; fds: number };
  samples: Sample[];
  scrapes: ScrapeStats;
  kinds: Record<string, KindCount>;
  /** after the churn stopped and the agent dropped every target */
  drained: { waitedMs: number; targets: number; fds: number; leftovers: string[] };
  /** after the agent stopped */
  afterStop: { exitCode: number | null; leftovers: string[] };
  agentAliveToEnd: boolean;
  /** attaches the agent reported as cut short by the target's exit (its log's "exited during attach") */
  exitedDuringAttach?: number;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export async function runSoak(options: SoakOptions): Promise<SoakRun> {
  const say = options.progress ?? ((): void => undefined);
  const id = randomBytes(4).toString('hex');
  // A temp dir of the soak's own: what the agent leaves there is the soak's finding, not another run's.
  const tmpDir = fs.mkdtempSync(path.join(os.tmpdir(), 'soak-'));
  const attachTag = `rtprof-soak-attach-${id}`;
  const env: NodeJS.ProcessEnv = { ...process.env, TMPDIR: tmpDir };
  delete env.XDG_RUNTIME_DIR; // the socket goes into the soak's temp dir too
  delete env.NODE_OPTIONS;
  const log = fs.openSync(options.logFile, 'w');
  const agent = spawn(
    path.join(ROOT, 'bin', 'rtprof.js'),
    [
      'run',
      '--port',
      '0',
      '--interval',
      '1s',
      '--discover',
      '--match',
      attachTag,
      '--',
      PYTHON,
      '-S',
      '-u',
      path.join(ROOT, 'bench', 'soak', 'spawner.py'),
    ],
    {
      stdio: ['pipe', 'pipe', log],
      detached: true,
      env: { ...env, SOAK_NODE: process.execPath, SOAK_PRELOAD_TAG: `rtprof-soak-preload-${id}` },
    },
  );
  const agentPid = agent.pid!;
  let agentExit: number | null | undefined;
  const exited = new Promise<number | null>((resolve) =>
    agent.once('exit', (code) => {
      agentExit = code;
      resolve(code);
    }),
  );
  const churn = new Churn({
    attachTag,
    env,
    toSpawner: (line) => agent.stdin!.write(line),
    lifeS: options.lifeS ?? [8, 25],
    earlyLifeS: [0.2, 1.8],
  });
  let out = '';
  agent.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    let nl: number;
    while ((nl = out.indexOf('\n')) >= 0) {
      const m = /^SPAWNED (node|python) (\d+)/.exec(out.slice(0, nl));
      if (m) churn.spawned(m[1] as 'node' | 'python', Number(m[2]));
      out = out.slice(nl + 1);
    }
  });
  const timers: NodeJS.Timeout[] = [];
  try {
    const url = await waitForUrl(options.logFile, () => agentExit !== undefined);
    say(`agent pid ${agentPid} at ${url}; temp dir ${tmpDir}; log ${options.logFile}`);
    await sleep(3000); // past start-up: the baseline is the agent idle with its spawner
    const baseline = { rssKb: rssKb(agentPid), fds: fdCount(agentPid) };
    const samples: Sample[] = [];
    const scrapes = newScrapeStats();
    const seen = new Map<number, Set<string>>();
    const t0 = Date.now();
    const sample = (targets: number): void => {
      if (agentExit !== undefined) return;
      try {
        samples.push({
          t: (Date.now() - t0) / 1000,
          rssKb: rssKb(agentPid),
          fds: fdCount(agentPid),
          cpuS: cpuSeconds(agentPid),
          targets,
          leftovers: leftovers(tmpDir, agentPid).length,
        });
      } catch {
        // the agent died between the check and the read: judged as not alive to the end
      }
    };
    let lastTargets = 0;
    const doScrape = async (): Promise<void> => {
      const targets = await scrape(url, scrapes);
      if (!targets) return;
      lastTargets = targets.length;
      for (const t of targets) {
        const states = seen.get(t.pid) ?? new Set<string>();
        states.add(t.probe.state);
        seen.set(t.pid, states);
      }
    };
    sample(0);
    churn.run(options.everyMs);
    timers.push(setInterval(() => void doScrape(), options.scrapeMs));
    timers.push(setInterval(() => sample(lastTargets), options.sampleMs));
    const progressEvery = Math.max(options.sampleMs, Math.min(300_000, options.churnMs / 6));
    timers.push(
      setInterval(() => {
        const s = samples.at(-1);
        if (s)
          say(
            `${Math.round(s.t)} s: ${s.targets} targets, RSS ${(s.rssKb / 1024).toFixed(1)} MiB, ${s.fds} fds, ${scrapes.failures.length} failed scrapes`,
          );
      }, progressEvery),
    );
    await sleep(options.churnMs);
    for (const timer of timers) clearInterval(timer);
    churn.stop();
    sample(lastTargets);
    // Drain: the preloaded targets die at the end of their life; wait until the agent dropped all
    // but its spawner (at most the longest life plus discovery), then judge fds and leftovers.
    const drainStart = Date.now();
    let targets = Infinity;
    while (Date.now() - drainStart < 45_000 && agentExit === undefined) {
      await doScrape();
      targets = lastTargets;
      if (targets <= 1) break;
      await sleep(500);
    }
    await sleep(2000); // a dropped target's files go within a tick
    const agentAliveToEnd = agentExit === undefined;
    const drained = {
      waitedMs: Date.now() - drainStart,
      targets,
      fds: agentAliveToEnd ? fdCount(agentPid) : NaN,
      leftovers: leftovers(tmpDir, agentPid),
    };
    agent.stdin!.end(); // the spawner exits at EOF, and `rtprof run` with it
    const stopTimer = setTimeout(() => agent.kill('SIGTERM'), 10_000);
    const exitCode = await exited;
    clearTimeout(stopTimer);
    const kinds: Record<string, KindCount> = {};
    for (const s of churn.started) {
      const k = (kinds[s.kind as Kind] ??= { started: 0, seen: 0, connected: 0 });
      k.started++;
      const states = s.pid === undefined ? undefined : seen.get(s.pid);
      if (states) k.seen++;
      if (states?.has('connected')) k.connected++;
    }
    return {
      startedAt: new Date(t0).toISOString(),
      options: { churnMs: options.churnMs, everyMs: options.everyMs, sampleMs: options.sampleMs, scrapeMs: options.scrapeMs },
      machine: `${os.cpus().length} cores, Linux ${os.release()}, Node ${process.version}, uid ${process.geteuid?.()}`,
      agentPid,
      baseline,
      samples,
      scrapes,
      kinds,
      drained,
      afterStop: { exitCode, leftovers: leftovers(tmpDir, agentPid) },
      agentAliveToEnd,
      exitedDuringAttach: fs.readFileSync(options.logFile, 'utf8').split('exited during attach').length - 1,
    };
  } finally {
    for (const timer of timers) clearInterval(timer);
    churn.stop();
    try {
      process.kill(-agentPid, 'SIGKILL'); // its group: the spawner and the preloaded targets
    } catch {
      // already gone
    }
    fs.closeSync(log);
    fs.rmSync(tmpDir, { recursive: true, force: true });
  }
}

async function waitForUrl(logFile: string, gone: () => boolean): Promise<string> {
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && !gone()) {
    const m = /metrics at (http:\/\/\S+)\/metrics/.exec(fs.readFileSync(logFile, 'utf8'));
    if (m) return m[1]!;
    await sleep(200);
  }
  throw new Error(`the agent did not start: ${fs.readFileSync(logFile, 'utf8').slice(-2000)}`);
}
