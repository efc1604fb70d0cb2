// Shared by the paired overhead benchmarks (nodeOverhead, pythonOverhead): CPU time from
// schedstat, the kernel autogroup switch, the statistics over rounds, and reading the processes
// they start.
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';

/** CPU time of pid's threads so far, ns, from /proc/PID/task/TID/schedstat (threads that already exited are not counted). */
export function cpuNs(pid: number, skipMainThread = false): number {
  let ns = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    if (skipMainThread && Number(tid) === pid) continue;
    try {
      ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'latin1').split(' ')[0]);
    } catch {
      // the thread ended between the listing and the read
    }
  }
  return ns;
}

const AUTOGROUP = '/proc/sys/kernel/sched_autogroup_enabled';

/**
 * The kernel's autogroup shares a CPU between sessions, not processes: the service `rtprof run`
 * starts shares a session with its agent, its no-probe twin has one of its own, and in a Node pair
 * the first took ~75 % of the CPU. Turned off for a run (root), so the two services of a pair are
 * weighed alike. Returns 'restore' (call autogroupRestore after), 'off' (it was off) or 'on' (could
 * not turn it off).
 */
export function autogroupOff(): 'restore' | 'off' | 'on' {
  try {
    if (readFileSync(AUTOGROUP, 'utf8').trim() === '0') return 'off';
    writeFileSync(AUTOGROUP, '0');
    return 'restore';
  } catch {
    return 'on';
  }
}

export function autogroupRestore(state: 'restore' | 'off' | 'on'): void {
  if (state === 'restore') writeFileSync(AUTOGROUP, '1');
}

export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  return n === 0 ? NaN : n % 2 ? s[(n - 1) / 2]! : (s[n / 2 - 1]! + s[n / 2]!) / 2;
}

/**
 * A distribution-free confidence interval for the median (order statistics; the binomial sign
 * test): the k-th smallest and k-th largest of xs, with the largest k for which the interval
 * covers the true median with at least `level` probability. [NaN, NaN] below 5 values at 90 %.
 */
export function medianInterval(xs: number[], level = 0.9): [number, number] {
  const s = [...xs].sort((a, b) => a - b);
  const n = s.length;
  // P(Binomial(n, 1/2) <= j), summed term by term.
  let term = 0.5 ** n;
  let below = 0;
  let k = 0;
  for (let j = 0; j < n; j++) {
    below += term;
    if (below > (1 - level) / 2) break;
    k = j + 1; // P(fewer than k values under the median) <= (1 - level) / 2
    term = (term * (n - j)) / (j + 1);
  }
  return k === 0 ? [NaN, NaN] : [s[k - 1]!, s[n - k]!];
}

/** Linear interpolation between closest ranks. */
export function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  const i = (s.length - 1) * q;
  const lo = Math.floor(i);
  return s[lo]! + (s[Math.min(lo + 1, s.length - 1)]! - s[lo]!) * (i - lo);
}

/** Resolves with the first match of re in the child's stream (stdout or stderr); rejects, with what
 * both streams said, on a timeout or if the process exits first. */
export function waitFor(
  child: ChildProcess,
  stream: 'stdout' | 'stderr',
  re: RegExp,
  what: string,
  timeoutMs = 20_000,
): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    let text = '';
    let other = '';
    const timer = setTimeout(() => reject(new Error(`${what}: no ${re} within ${timeoutMs} ms: ${text}${other}`)), timeoutMs);
    // The other stream may not be piped (an agent started with its stdout ignored).
    const otherStream = stream === 'stdout' ? child.stderr : child.stdout;
    const onOther = (d: Buffer): void => {
      other += d.toString();
    };
    otherStream?.on('data', onOther);
    const onData = (d: Buffer): void => {
      text += d.toString();
      const m = re.exec(text);
      if (!m) return;
      clearTimeout(timer);
      child[stream]!.off('data', onData);
      otherStream?.off('data', onOther);
      resolve(m);
    };
    child[stream]!.on('data', onData);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${what} exited (${code}): ${text}${other}`));
    });
  });
}

/** Keeps draining a child's pipes so it never blocks on a full pipe. */
export function drain(child: ChildProcess): void {
  child.stdout?.resume();
  child.stderr?.resume();
}
