// Getting a probe into a watched target: attaches queued (attachQueue.ts), the channel's token and
// the in-target socket prepared, a young process's "not ready yet" tried again, and the outcome
// booked on the target's probe state. The watcher decides whom to attach; this does the attaching.
import { attachTo } from '../collectors/attach';
import type { InsideSockets, TargetReach } from '../collectors/channel/inside';
import type { ChannelServer } from '../collectors/channel/server';
import type { InspectorAttach } from '../collectors/node/inspectorWindow';
import { AttachQueue } from './attachQueue';
import type { Target } from './target';

/** A process this young whose attach failed as "not ready yet" (AttachResult.retry) is tried again:
 * a worker a master just forked is found within 250 ms, often before its runtime is up. */
const STARTING_MS = 10_000;
const STARTING_RETRY_MS = 250;

export interface ProbeAttacherOptions {
  intervalMs: number;
  /** see WatcherOptions.httpHooks */
  httpHooks?: boolean;
  /** see WatcherOptions.gcPauses */
  gcPauses?: boolean;
  /** see WatcherOptions.inspectorAttach */
  inspectorAttach?: InspectorAttach;
  log: (line: string) => void;
  /** A probe queued in an idle target left this marker file: whoever stops watching removes it. */
  onPendingMarker?: (pid: number, marker: string) => void;
}

export class ProbeAttacher {
  /** Node attaches one at a time, CPython side by side (attachQueue.ts). */
  private readonly queue = new AttachQueue((target) => this.attach(target));

  constructor(
    private readonly channel: ChannelServer,
    private readonly inside: InsideSockets,
    private readonly options: ProbeAttacherOptions,
    /** false once the target is no longer watched (it went, or the watcher stopped) */
    private readonly isCurrent: (target: Target) => boolean,
  ) {}

  add(target: Target): void {
    target.probe.attaching();
    this.queue.add(target);
  }

  private async attach(target: Target): Promise<void> {
    if (!this.isCurrent(target)) return;
    let reach: TargetReach;
    try {
      reach = await this.inside.reach(target.pid);
    } catch (err) {
      this.failed(target, (err as Error).message, (err as { code?: string }).code);
      return;
    }
    const token = this.channel.issueToken(target.pid);
    const result = await attachTo(target.identity.runtime, {
      pid: target.pid,
      socketPath: reach.socketPath,
      targetDir: reach.dir,
      token,
      intervalMs: this.options.intervalMs,
      http: this.options.httpHooks !== false,
      gc: this.options.gcPauses !== false,
      inspectorAttach: this.options.inspectorAttach,
    });
    if (target.probe.state === 'connected') return; // the hello beat the attach's own return
    if (result.ok && result.pending) {
      if (result.marker) this.options.onPendingMarker?.(target.pid, result.marker);
      target.probe.pending(result.method, 'probe pending: target idle (loads when it next runs code)');
      this.options.log(`target ${target.label()}: probe pending: target idle; watching from /proc meanwhile`);
    } else if (result.ok) {
      target.probe.attached(result.method, result.note ?? `probe started; waiting for it to connect to ${reach.socketPath}`);
    } else if (result.retry && Date.now() - target.identity.startTimeMs < STARTING_MS) {
      setTimeout(() => {
        if (this.isCurrent(target) && target.probe.state === 'attaching') this.queue.add(target);
      }, STARTING_RETRY_MS).unref();
    } else {
      this.failed(target, result.reason, result.code);
    }
  }

  private failed(target: Target, reason: string, code: string | undefined): void {
    target.probe.failed(reason, code);
    this.channel.revokeToken(target.pid);
    this.options.log(`target ${target.label()}: attach failed: ${reason}; watching from /proc only`);
  }
}
