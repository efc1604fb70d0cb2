// Agent footprint: CPU (fraction of one core) and RSS of `rtprof agent` watching 1, 10 and 50
// idle targets at the default interval (1 s) and sampling rate (50 Hz), and how long GET /metrics
// takes for 50 targets. Targets are idle CPython sleepers: cheap to start, and /proc costs the
// same per process whatever runs inside.
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLK_TCK } from '../collectors/proc/procfs';
import type { BenchResult } from './types';

const ROOT = join(__dirname, '..', '..');
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

function cpuTicks(pid: number): number {
  const f = readFileSync(`/proc/${pid}/stat`, 'latin1').split(') ')[1]!.split(' ');
  return Number(f[11]) + Number(f[12]);
}

function rssBytes(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'latin1'))![1]) * 1024;
}

function startTargets(n: number): ChildProcess[] {
  return Array.from({ length: n }, () =>
    spawn('/usr/bin/python3', ['-c', 'import time\nwhile True: time.sleep(3600)'], { stdio: 'ignore', detached: true }),
  );
}

async function startAgent(pids: number[]): Promise<{ child: ChildProcess; url: string }> {
  const args = [join(ROOT, 'bin', 'rtprof.js'), 'agent', '--port', '0', '--no-attach', ...pids.flatMap((p) => ['--pid', String(p)])];
  // Run through the shebang, as users do (it carries the agent's V8 flags).
  const child = spawn(args[0]!, args.slice(1), { stdio: ['ignore', 'ignore', 'pipe'], detached: true });
  const url = await new Promise<string>((resolve, reject) => {
    let err = '';
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      const m = /serving (http:\/\/\S+)\/metrics/.exec(err);
      if (m) resolve(m[1]!);
    });
    child.once('exit', () => reject(new Error(`agent exited: ${err}`)));
  });
  return { child, url };
}

function kill(children: ChildProcess[]): void {
  for (const c of children) {
    try {
      process.kill(-c.pid!, 'SIGKILL');
    } catch {
      // gone
    }
  }
}

export async function footprint(windowS = 20): Promise<BenchResult> {
  const rows: string[] = [];
  const numbers: Record<string, number> = {};
  for (const n of [1, 10, 50]) {
    const targets = startTargets(n);
    await sleep(500);
    const agent = await startAgent(targets.map((t) => t.pid!));
    try {
      await sleep(3000); // warm-up: JIT, first samples, first scrape
      await fetch(`${agent.url}/metrics`);
      const t0 = cpuTicks(agent.child.pid!);
      const w0 = Date.now();
      await sleep(windowS * 1000);
      const cpu = (cpuTicks(agent.child.pid!) - t0) / CLK_TCK / ((Date.now() - w0) / 1000);
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        const s = performance.now();
        const text = await (await fetch(`${agent.url}/metrics`)).text();
        times.push(performance.now() - s);
        if (!text.includes('process_cpu_time_seconds_total')) throw new Error('no metrics served');
      }
      const rss = rssBytes(agent.child.pid!); // after the scrapes: their garbage counts too
      times.sort((a, b) => a - b);
      const p50 = times[10]!;
      const max = times[times.length - 1]!;
      numbers[`cpu_${n}`] = cpu;
      numbers[`rss_${n}`] = rss;
      numbers[`scrape_p50_${n}`] = p50;
      rows.push(
        `| ${n} | ${(cpu * 100).toFixed(2)} % | ${((cpu * 100) / n).toFixed(3)} % | ${(rss / 1048576).toFixed(1)} MB | ${p50.toFixed(1)} ms | ${max.toFixed(1)} ms |`,
      );
    } finally {
      kill([agent.child, ...targets]);
    }
    await sleep(500);
  }
  const goal = (numbers.cpu_50! / 50) * 100 <= 0.5 && numbers.rss_50! <= 80 * 1048576 && numbers.scrape_p50_50! <= 50;
  const markdown = [
    `Agent watching N idle targets, default interval 1 s and 50 Hz thread-state sampling, /proc only, over ${windowS} s; scrape = 20 sequential GET /metrics; RSS read after them.`,
    '',
    '| targets | agent CPU (of one core) | per target | agent RSS | GET /metrics p50 | max |',
    '| ---: | ---: | ---: | ---: | ---: | ---: |',
    ...rows,
    '',
    `Goal (≤ 0.5 % of a core per target, ≤ 80 MB RSS at 50 targets, /metrics ≤ 50 ms at 50 targets): **${goal ? 'met' : 'NOT met'}**.`,
  ].join('\n');
  return { name: 'footprint', title: 'Agent footprint', markdown, numbers };
}
