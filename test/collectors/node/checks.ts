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
  assert.ok(
    Math.abs(typical - 100) <= 10,
    `max delay ${typical.toFixed(1)} ms, want 100 ± 10 (all: ${maxMs.map((m) => m.toFixed(1)).join(', ')})`,
  );
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
const minorMajorOf = (s: SnapshotMessage): number => (s.gcTotals?.byKind?.minor?.count ?? 0) + (s.gcTotals?.byKind?.major?.count ?? 0);

/** Waits for the next stdout line matching re that starts at or after offset. */
async function nextLine(target: Started, re: RegExp, offset: number, timeoutMs = 15_000): Promise<{ match: RegExpExecArray; end: number }> {
  const until = Date.now() + timeoutMs;
  const global = new RegExp(re.source, 'gm');
  for (;;) {
    global.lastIndex = offset;
    const match = global.exec(target.stdout());
    if (match) return { match, end: match.index + match[0].length };
    if (Date.now() > until) throw new Error(`timed out waiting for ${re} in:\n${target.stdout().slice(-2000)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

interface GcPoint {
  own: number;
  probe: SnapshotMessage;
  /** stdout offset of the point's last "mark" line */
  offset: number;
}

/**
 * A moment where the target's own count and the probe's agree by construction: the target prints
 * its count (mark a), a snapshot arrives, it prints again (mark b); with a == b no GC happened in
 * between, so that snapshot saw exactly b collections' worth of change. Retried while GCs happen.
 */
async function stablePoint(h: Harness, target: Started, offset: number): Promise<GcPoint> {
  const write = (cmd: string): void => void target.child.stdin!.write(cmd + '\n');
  for (let attempt = 0; attempt < 8; attempt++) {
    write('mark');
    const a = await nextLine(target, /^mark (\d+)$/, offset);
    const snaps = await h.waitForSnapshots(target.pid, 1, 20_000, Date.now());
    write('mark');
    const b = await nextLine(target, /^mark (\d+)$/, a.end);
    offset = b.end;
    if (a.match[1] === b.match[1]) return { own: Number(b.match[1]), probe: snaps.at(-1)!, offset: b.match.index };
  }
  throw new Error('the target kept collecting garbage while idle; no stable point');
}

/**
 * gc-burst.cjs under --trace-gc with a probe reporting to h: over a window that holds one burst,
 * the probe's GC count equals the target's own PerformanceObserver count, and its minor+major count
 * equals V8's --trace-gc lines (Scavenge / Mark-Compact).
 */
export async function assertGcCountsMatch(h: Harness, target: Started): Promise<{ probe: number; trace: number }> {
  await h.waitForSnapshots(target.pid, 1, 20_000);
  const p0 = await stablePoint(h, target, 0);
  target.child.stdin!.write('burst\n');
  const done = await nextLine(target, /^burst-done (\d+)$/, p0.offset, 20_000);
  const p1 = await stablePoint(h, target, done.end);
  const window = target.stdout().slice(p0.offset, p1.offset);
  // Node 18 (V8 10.2) prints "Mark-sweep", later ones "Mark-Compact" / "Mark-Sweep".
  const traceLines = (window.match(/: (Scavenge|Mark-Compact|Mark-Sweep|Minor Mark-Sweep)\b/gi) ?? []).length;
  const probeTotal = totalOf(p1.probe) - totalOf(p0.probe);
  const probeMinorMajor = minorMajorOf(p1.probe) - minorMajorOf(p0.probe);
  const own = p1.own - p0.own;
  assert.ok(own > 5, `the burst should cause GCs (target counted ${own})`);
  assert.equal(probeTotal, own, `probe counted ${probeTotal} GCs, the target's own observer ${own}`);
  assert.equal(probeMinorMajor, traceLines, `probe counted ${probeMinorMajor} minor+major GCs, --trace-gc printed ${traceLines}`);
  const gcEvents = h.snapshotsOf(target.pid).flatMap((s) => s.gc ?? []);
  assert.ok(gcEvents.length >= own);
  assert.ok(gcEvents.every((e) => ['minor', 'major', 'incremental', 'weakcb'].includes(e.kind) && e.durationS >= 0 && e.durationS < 5));
  target.child.stdin!.write('exit\n');
  return { probe: probeMinorMajor, trace: traceLines };
}
