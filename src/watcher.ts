// The target registry and its loops: /proc collection every interval, thread-state sampling at
// tens of Hz, discovery of new processes, the probe channel and (serialized) probe attaches.
// The agent and `rtprof profile` both run on it; neither formats anything here.
import { EventEmitter } from 'node:events';
import type { HelloMessage, SnapshotMessage } from '../collectors/channel/messages';
import { ChannelServer, defaultSocketPath, sameToken } from '../collectors/channel/server';
import { attachTo } from '../collectors/attach';
import { InsideSockets, type TargetReach } from '../collectors/channel/inside';
import { SamplerHub } from '../collectors/proc/sampler';
import { discover, identify, isNodeOrPython, type ProcessIdentity } from './discovery';
import { errors } from './errors';
import { Target } from './target';
import { isForbidden, listPids, readEnvVar, readStat } from '../collectors/proc/procfs';

export interface WatcherOptions {
  intervalMs: number;
  sampleHz: number;
  discover: boolean;
  match: RegExp | undefined;
  /** inject probes into Node/Python targets found by --pid or --discover */
  attach: boolean;
  socketPath: string | undefined;
  /** false: probes do not hook the targets' HTTP servers. Default true (profile, demo: the verdict
   * needs requests in flight); `agent` and `run` pass false unless `--http`. */
  httpHooks?: boolean;
  /** false (`--no-gc-pauses`): probes do not watch GC pauses (no GC callback in the target; no
   * pause histogram; the Python probe still sends the interpreter's collection counts). Default true. */
  gcPauses?: boolean;
  log: (line: string) => void;
}

/** Max parent hops when deciding whether a process descends from a launched one. */
const MAX_ANCESTRY_DEPTH = 32;

export interface WatcherEvents {
  added: [Target];
  removed: [Target, string];
  sample: [Target];
  snapshot: [Target, SnapshotMessage];
}

export class Watcher extends EventEmitter<WatcherEvents> {
  readonly targets = new Map<number, Target>();
  readonly channel: ChannelServer;
  /** Sockets and probe files inside targets in other mount/pid namespaces (containers). */
  private readonly inside: InsideSockets;
  private readonly hub: SamplerHub;
  private timer: NodeJS.Timeout | undefined;
  private attachQueue: Promise<void> = Promise.resolve();
  /** pid:startTicks of processes discovery already looked at and skipped */
  private readonly skipped = new Set<string>();
  private stopped = false;
  /** `rtprof run`: roots whose Node/Python descendants are watched (and attached) too */
  private readonly roots = new Set<number>();
  /** launch token of each preloaded root: inherited by the processes it starts */
  private readonly launchTokens = new Map<number, string>();

  constructor(readonly options: WatcherOptions) {
    super();
    this.hub = new SamplerHub(options.sampleHz);
    this.channel = new ChannelServer({
      socketPath: options.socketPath ?? defaultSocketPath(),
      log: options.log,
      adopt: (pid, token) => this.adoptDescendant(pid, token),
    });
    this.inside = new InsideSockets(this.channel, options.log);
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

  /**
   * Also watch every Node/Python process that `pid` starts (directly or further down), attaching
   * the probe to each: `rtprof run -- npm start` reaches the node process npm spawns. (The
   * preloaded probe takes its token out of the environment so the service's own env stays as it
   * was: the children of a Node/Python root get the probe by attach; those of a wrapper that is
   * neither, such as sh, inherit the env and connect with the launch token, see adoptDescendant.)
   */
  /** Watched processes that descend from a launched root (still running). */
  descendantPids(): number[] {
    return [...this.targets.keys()].filter((pid) => !this.roots.has(pid) && this.descendsFromRoot(pid));
  }

  watchDescendantsOf(pid: number, launchToken?: string): void {
    this.roots.add(pid);
    if (launchToken) this.launchTokens.set(pid, launchToken);
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
    // The token is issued whatever the process is now: a wrapper that exec()s (taskset, env, nice)
    // becomes node or python under the same pid and then connects; onHello re-identifies it.
    this.channel.issueToken(pid, token);
    if (identity.runtime === 'other') {
      target.probe.message = 'not Node or Python (yet?): watched from /proc; if it execs one, or starts one, that gets the probe';
      return target;
    }
    target.probe.state = 'pending';
    target.probe.method = 'preload';
    target.probe.message = 'waiting for the preloaded probe to connect';
    return target;
  }

  /** A Node/Python process a launched one started, found by the scan (its hello may come first: adoptDescendant). */
  private addDescendant(identity: ProcessIdentity): void {
    const inherited = readEnvVar(identity.pid, 'RTPROF_TOKEN');
    const root = [...this.launchTokens].find(([, token]) => inherited !== undefined && sameToken(token, inherited))?.[0];
    if (root === undefined) {
      this.options.log(`process ${identity.pid} (${identity.serviceName}) started by a launched process: watching it`);
      this.add(identity, this.options.attach);
      return;
    }
    // It inherited the probe's env and connects by itself; attach only if it has not within 5 s
    // (e.g. python3 -S, which skips sitecustomize).
    const target = this.add(identity, false);
    target.probe.state = 'pending';
    target.probe.method = 'preload';
    target.probe.message = 'waiting for the preloaded probe to connect';
    this.channel.issueToken(identity.pid, inherited!);
    this.options.log(`process ${identity.pid} (${identity.serviceName}) started by a launched process: waiting for its preloaded probe`);
    setTimeout(() => {
      if (this.stopped || this.targets.get(identity.pid) !== target || target.probe.state !== 'pending') return;
      if (this.options.attach) this.queueAttach(target);
    }, 5000).unref();
  }

  /**
   * A hello from a process that presents a root's launch token: it inherited the probe's env from
   * a wrapper (`rtprof run -- sh -c 'node app.js'`). Accepted when it really descends from that root.
   */
  private adoptDescendant(pid: number, token: string): boolean {
    if (this.stopped || this.targets.has(pid)) return false;
    for (const [root, launchToken] of this.launchTokens) {
      if (!sameToken(launchToken, token) || !this.roots.has(root) || !this.descendsFromRoot(pid)) continue;
      const identity = identify(pid);
      if (!identity || identity.runtime === 'other') return false;
      const target = this.add(identity, false);
      target.probe.state = 'pending';
      target.probe.method = 'preload';
      this.channel.issueToken(pid, token);
      this.options.log(`process ${pid} (${identity.serviceName}) started by a launched process: preloaded probe accepted`);
      return true;
    }
    return false;
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
    let reach: TargetReach;
    try {
      reach = await this.inside.reach(target.pid);
    } catch (err) {
      this.attachFailed(target, (err as Error).message, (err as { code?: string }).code);
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
    });
    if (target.probe.state === 'connected') return; // the hello beat the attach's own return
    if (result.ok) {
      target.probe.method = result.method;
      target.probe.state = result.pending ? 'pending' : target.probe.state === 'attaching' ? 'pending' : target.probe.state;
      target.probe.message = result.pending
        ? 'probe pending: target idle (loads when it next runs code)'
        : (result.note ?? `probe started; waiting for it to connect to ${reach.socketPath}`);
      if (result.pending) this.options.log(`target ${target.label()}: probe pending: target idle; watching from /proc meanwhile`);
    } else {
      this.attachFailed(target, result.reason, result.code);
    }
  }

  private attachFailed(target: Target, reason: string, code: string | undefined): void {
    target.probe.state = 'failed';
    target.probe.message = reason;
    target.probe.code = code;
    this.channel.revokeToken(target.pid);
    this.options.log(`target ${target.label()}: attach failed: ${reason}; watching from /proc only`);
  }

  private onHello(hello: HelloMessage): void {
    let target = this.targets.get(hello.pid);
    if (!target) return;
    if (target.identity.runtime === 'other') target = this.reidentify(target) ?? target;
    target.probe.state = 'connected';
    if (target.identity.runtimeVersion === undefined) target.identity.runtimeVersion = hello.runtimeVersion;
    target.probe.method = hello.attach;
    target.probe.hello = hello;
    target.probe.message = undefined;
    target.probe.code = undefined;
    this.options.log(`target ${target.label()}: probe connected (${hello.runtime} ${hello.runtimeVersion}, ${hello.attach})`);
  }

  /**
   * A target first seen as a wrapper has exec()ed into Node or Python (same pid and start time):
   * it is replaced by a target with its new identity (runtime, service name, resource), keeping
   * its probe token.
   */
  private reidentify(old: Target): Target | undefined {
    const identity = identify(old.pid);
    if (!identity || identity.runtime === 'other') return undefined;
    this.targets.delete(old.pid);
    this.hub.delete(old.proc);
    old.proc.close();
    this.emit('removed', old, 'exec');
    this.options.log(`target ${old.label()} is now ${identity.runtime} (${identity.serviceName}): it exec()ed`);
    return this.add(identity, false);
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
    if (this.options.discover || this.roots.size > 0) this.discoverNew();
  }

  /** Whether pid's parent chain reaches one of the roots (a process cannot be re-parented into a tree). */
  private descendsFromRoot(pid: number): boolean {
    let current = pid;
    for (let i = 0; i < MAX_ANCESTRY_DEPTH; i++) {
      let ppid: number;
      try {
        ppid = readStat(current).ppid;
      } catch {
        return false;
      }
      if (this.roots.has(ppid)) return true;
      if (ppid <= 1) return false;
      current = ppid;
    }
    return false;
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
    this.inside.close(target.pid);
    this.options.log(`target ${target.label()} ${why}; no longer watched`);
    this.emit('removed', target, why);
  }

  private discoverNew(): void {
    for (const pid of listPids()) {
      if (pid === process.pid || this.targets.has(pid)) continue;
      let key: string;
      try {
        const stat = readStat(pid);
        // comm is part of the key: a shell that later exec()s node keeps its pid and start time.
        key = `${pid}:${stat.startTicks}:${stat.comm}`;
      } catch {
        continue;
      }
      if (this.skipped.has(key)) continue;
      const descendant = this.roots.size > 0 && this.descendsFromRoot(pid);
      if (!this.options.discover && !descendant) {
        this.skipped.add(key);
        continue;
      }
      if (!isNodeOrPython(pid)) {
        this.skipped.add(key);
        continue;
      }
      const identity = identify(pid);
      if (!identity) continue;
      const match = this.options.match;
      if (!descendant && match && !match.test(identity.argv.join(' ')) && !match.test(identity.serviceName)) {
        this.skipped.add(key);
        continue;
      }
      if (isOwnHelper(identity)) {
        this.skipped.add(key);
        continue;
      }
      if (descendant) {
        this.addDescendant(identity);
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
    this.inside.closeAll();
  }
}

/** rtprof's own processes (another agent, a CLI run) are not service targets. */
function isOwnHelper(identity: ProcessIdentity): boolean {
  return identity.argv.some((arg) => /(^|\/)rtprof(\.js)?$/.test(arg) || arg.endsWith('/bin/rtprof.js'));
}

export { discover };
