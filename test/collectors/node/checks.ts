// Assertions shared by the preload and attach tests: what a probe must report about a real target.

import assert from 'node:assert/strict';
import type { SnapshotMessage } from '../../../collectors/channel/messages';
import type { Harness } from '../channel-harness';
import { median } from '../channel-harness';
import type { Started } from '../../helpers/spawn';

/** app.cjs/app.mjs block 100 ms once a second: max delay ≈ 100 ms (± 10 ms), p50 ≈ 0 (< 5 ms). */
export function assertBlockedLoop(snaps: SnapshotMessage[]): { maxMs: number[]; p50Ms: number[] } {
  // The first snapshot covers start-up (module loading, JIT), so it is left out.
  const steady = snaps.filter((s) => s.seq >= 2 && s.eventLoop?.delayNs);
  const maxMs = steady.map((s) => s.eventLoop!.delayNs!.max / 1e6);
  const p50Ms = steady.map((s) => s.eventLoop!.delayNs!.p50 / 1e6);
  // An interval can hold no block or two (the timers drift against each other): judge the ones
  // that saw a block, by their median, so one descheduling on a loaded machine does not decide.
  const blocked = maxMs.filter((m) => m > 50);
  assert.ok(blocked.length >= 2, `too few intervals with a block: max delays ${maxMs.join(', ')} ms`);
  const typical = median(blocked);
  assert.ok(Math.abs(typical - 100) <= 10, `max delay ${typical.toFixed(1)} ms, want 100 ± 10 (all: ${maxMs.map((m) => m.toFixed(1)).join(', ')})`);
  assert.ok(median(p50Ms) < 5, `p50 delay ${median(p50Ms).toFixed(2)} ms, want ≈ 0 (< 5 ms): ${p50Ms.join(', ')}`);
  for (const s of steady) {
    const u = s.eventLoop!.utilization!;
    assert.ok(u >= 0 && u <= 1, `utilization ${u}`);
  }
  return { maxMs, p50Ms };
}

/** The stdout app.cjs/app.mjs print on their own, with or without a probe. */
export function expectedAppStdout(pid: number, ticks: number): string {
  let out = `start env-token=none\nready ${pid}\n`;
  for (let i = 1; i <= ticks; i++) out += `tick ${i}\n`;
  return out + 'end\n';
}

const totalOf = (s: SnapshotMessage): number => s.gcTotals?.count ?? 0;
const minorMajorOf = (s: SnapshotMessage): number =>
  (s.gcTotals?.byKind?.minor?.count ?? 0) + (s.gcTotals?.byKind?.major?.count ?? 0);

/**
 * gc-burst.cjs under --trace-gc with a probe reporting to h: over a window that holds one burst,
 * the probe's GC count equals the target's own PerformanceObserver count, and its minor+major count
 * equals V8's --trace-gc lines (Scavenge / Mark-Compact).
 */
export async function assertGcCountsMatch(h: Harness, target: Started, intervalMs: number): Promise<{ probe: number; trace: number }> {
  const pid = target.pid;
  const write = (cmd: string): void => void target.child.stdin!.write(cmd + '\n');
  // A quiet window first: the last snapshot before "mark" then counts what the target counted at mark.
  await h.waitForSnapshots(pid, 2, 20_000);
  await new Promise((r) => setTimeout(r, intervalMs * 1.5));
  const s0 = h.snapshotsOf(pid).at(-1)!;
  write('mark');
  const mark = Number((await target.waitFor(/^mark (\d+)$/m, 10_000))[1]);
  write('burst');
  const done = Number((await target.waitFor(/^burst-done (\d+)$/m, 20_000))[1]);
  const doneAt = Date.now();
  const after = await h.waitForSnapshots(pid, 2, 20_000, doneAt);
  const s1 = after.at(-1)!;
  const out = target.stdout();
  const window = out.slice(out.search(/^mark \d+$/m), out.search(/^burst-done \d+$/m));
  const traceLines = (window.match(/: (Scavenge|Mark-Compact|Mark-Sweep|Minor Mark-Sweep)\b/g) ?? []).length;
  const probeTotal = totalOf(s1) - totalOf(s0);
  const probeMinorMajor = minorMajorOf(s1) - minorMajorOf(s0);
  assert.ok(done - mark > 5, `the burst should cause GCs (target counted ${done - mark})`);
  assert.equal(probeTotal, done - mark, `probe counted ${probeTotal} GCs, the target's own observer ${done - mark}`);
  assert.equal(probeMinorMajor, traceLines, `probe counted ${probeMinorMajor} minor+major GCs, --trace-gc printed ${traceLines}`);
  const gcEvents = after.flatMap((s) => s.gc ?? []);
  assert.ok(gcEvents.every((e) => ['minor', 'major', 'incremental', 'weakcb'].includes(e.kind) && e.durationS >= 0 && e.durationS < 5));
  write('exit');
  return { probe: probeMinorMajor, trace: traceLines };
}
