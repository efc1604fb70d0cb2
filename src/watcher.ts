// The target registry and its loops: /proc collection every interval, thread-state sampling at
// tens of Hz, discovery of new processes, the probe channel and (serialized) probe attaches.
// The agent and `rtprof profile` both run on it; neither formats anything here.
import { EventEmitter } from 'node:events';
import type { HelloMessage, SnapshotMessage } from '../collectors/channel/messages';
import { ChannelServer, defaultSocketPath } from '../collectors/channel/server';
import { attachTo } from '../collectors/attach';
import { SamplerHub } from '../collectors/proc/sampler';
import { discover, identify, isNodeOrPython, type ProcessIdentity } from './discovery';
import { errors } from './errors';
import { Target } from './target';
import { isForbidden, listPids, readStat } from '../collectors/proc/procfs';

export interface WatcherOptions {
  intervalMs: number;
  sampleHz: number;
  discover: boolean;
  match: RegExp | undefined;
  /** inject probes into Node/Python targets found by --pid or --discover */
  attach: boolean;
  socketPath: string | undefined;
  log: (line: string) => void;
}

export interface WatcherEvents {
  added: [Target];
  removed: [Target, string];
  sample: [Target];
  snapshot: [Target, SnapshotMessage];
}

export class Watcher extends EventEmitter<WatcherEvents> {
  readonly targets = new Map<number, Target>();
  readonly channel: ChannelServer;
  private readonly hub: SamplerHub;
  private timer: NodeJS.Timeout | undefined;
  private attachQueue: Promise<void> = Promise.resolve();
  /** pid:startTicks of processes discovery already looked at and skipped */
  private readonly skipped = new Set<string>();
  private stopped = false;

  constructor(readonly options: WatcherOptions) {
    super();
    this.hub = new SamplerHub(options.sampleHz);
    this.channel = new ChannelServer({ socketPath: options.socketPath ?? defaultSocketPath(), log: options.log });
    this.channel.on('hello', (hello: HelloMessage) => this.onHello(hello));
    this.channel.on('snapshot', (snap: SnapshotMessage) => this.onSnapshot(snap));
    this.channel.on('disconnect', (pid: number) => this.onDisconnect(pid));
  }

  async start(): Promise<void> {
    try {
      await this.channel.listen();
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      throw errors.socketFailed(this.channel.socketPath, e.code === 'EACCES' ? 'permission denied' : e.message);
    }
    this.timer = setInterval(() => this.tick(), this.options.intervalMs);
    this.timer.unref();
    if (this.options.discover) this.discoverNew();
  }

  /** Starts watching a pid. Throws a coded error for a pid that does not exist. */
  watchPid(pid: number, opts: { attach?: boolean } = {}): Target {
    const existing = this.targets.get(pid);
    if (existing) return existing;
    let identity: ProcessIdentity | undefined;
    try {
      identity = identify(pid);
    } catch (err) {
      if (isForbidden(err)) throw errors.noPermission(String(pid));
      throw err;
    }
    if (!identity) throw errors.noSuchPid(String(pid));
    return this.add(identity, opts.attach ?? this.options.attach);
  }

  /** A launched child that will load the probe itself: expect its hello with this token. */
  expectPreload(pid: number, token: string): Target | undefined {
    const identity = identify(pid);
    if (!identity) return undefined;
    const target = this.add(identity, false);
    target.probe.state = 'pending';
    target.probe.method = 'preload';
    target.probe.message = 'waiting for the preloaded probe to connect';
    this.channel.issueToken(pid, token);
    return target;
  }

  private add(identity: ProcessIdentity, attach: boolean): Target {
    const target = new Target(identity);
    this.targets.set(identity.pid, target);
    this.hub.add(target.proc);
    this.collectOne(target); // a first sample at once: rates start from here
    this.emit('added', target);
    if (identity.runtime === 'other') {
      target.probe.state = 'unsupported';
      target.probe.message = 'not Node or Python: watched from /proc only';
    } else if (attach) {
      this.queueAttach(target);
    }
    return target;
  }

  private queueAttach(target: Target): void {
    target.probe.state = 'attaching';
    // One attach at a time: the Node inspector port is shared per network namespace.
    this.attachQueue = this.attachQueue.then(() => this.attach(target)).catch(() => undefined);
  }

  private async attach(target: Target): Promise<void> {
    if (this.stopped || !this.targets.has(target.pid)) return;
    const token = this.channel.issueToken(target.pid);
    const result = await attachTo(target.identity.runtime, {
      pid: target.pid,
      socketPath: this.channel.socketPath,
      token,
      intervalMs: this.options.intervalMs,
    });
    if (target.probe.state === 'connected') return; // the hello beat the attach's own return
    if (result.ok) {
      target.probe.method = result.method;
      target.probe.state = result.pending ? 'pending' : target.probe.state === 'attaching' ? 'pending' : target.probe.state;
      target.probe.message = result.pending ? 'probe pending: target idle (loads when it next runs code)' : result.note;
      if (result.pending) this.options.log(`target ${target.label()}: probe pending: target idle; watching from /proc meanwhile`);
    } else {
      target.probe.state = 'failed';
      target.probe.message = result.reason;
      this.channel.revokeToken(target.pid);
      this.options.log(`target ${target.label()}: attach failed: ${result.reason}; watching from /proc only`);
    }
  }

  private onHello(hello: HelloMessage): void {
    const target = this.targets.get(hello.pid);
    if (!target) return;
    target.probe.state = 'connected';
    target.probe.method = hello.attach;
    target.probe.hello = hello;
    target.probe.message = undefined;
    this.options.log(`target ${target.label()}: probe connected (${hello.runtime} ${hello.runtimeVersion}, ${hello.attach})`);
  }

  private onSnapshot(snap: SnapshotMessage): void {
    const target = this.targets.get(snap.pid);
    if (!target) return;
    target.lastSnapshot = snap;
    target.probe.snapshots++;
    this.emit('snapshot', target, snap);
  }

  private onDisconnect(pid: number): void {
    const target = this.targets.get(pid);
    if (!target || target.probe.state !== 'connected') return;
    target.probe.state = 'disconnected';
    target.probe.message = 'probe disconnected; it reconnects with backoff';
  }

  private tick(): void {
    for (const target of [...this.targets.values()]) this.collectOne(target);
    if (this.options.discover) this.discoverNew();
  }

  private collectOne(target: Target): void {
    const sample = target.proc.collect();
    if (!sample) {
      if (target.proc.exited) this.remove(target, 'exited');
      return;
    }
    target.lastProc = sample;
    this.emit('sample', target);
  }

  remove(target: Target, why: string): void {
    if (this.targets.get(target.pid) !== target) return;
    this.targets.delete(target.pid);
    this.hub.delete(target.proc);
    target.proc.close();
    this.channel.revokeToken(target.pid);
    this.options.log(`target ${target.label()} ${why}; no longer watched`);
    this.emit('removed', target, why);
  }

  private discoverNew(): void {
    for (const pid of listPids()) {
      if (pid === process.pid || this.targets.has(pid)) continue;
      let key: string;
      try {
        key = `${pid}:${readStat(pid).startTicks}`;
      } catch {
        continue;
      }
      if (this.skipped.has(key)) continue;
      if (!isNodeOrPython(pid)) {
        this.skipped.add(key);
        continue;
      }
      const identity = identify(pid);
      if (!identity) continue;
      const match = this.options.match;
      if (match && !match.test(identity.argv.join(' ')) && !match.test(identity.serviceName)) {
        this.skipped.add(key);
        continue;
      }
      if (isOwnHelper(identity)) {
        this.skipped.add(key);
        continue;
      }
      this.add(identity, this.options.attach);
    }
    if (this.skipped.size > 10_000) this.skipped.clear(); // bounded: re-checking is cheap
  }

  /** Tells every probe to stop for good (bye): a one-shot profile leaves nothing running behind. */
  detachAll(): void {
    for (const target of this.targets.values()) this.channel.revokeToken(target.pid);
  }

  /** Stops watching. Probes are not told: a restarted agent picks them up (they give up after 10 min). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    this.hub.stop();
    for (const target of this.targets.values()) target.proc.close();
    await this.channel.close();
  }
}

/** rtprof's own processes (another agent, a CLI run) are not service targets. */
function isOwnHelper(identity: ProcessIdentity): boolean {
  return identity.argv.some((arg) => /(^|\/)rtprof(\.js)?$/.test(arg) || arg.endsWith('/bin/rtprof.js'));
}

export { discover };
