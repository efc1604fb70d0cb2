// The target registry and its loops: /proc collection every interval, thread-state sampling at
// tens of Hz, the services' process trees (followed every 250 ms, so a respawned worker is seen at
// once), --discover, and the probe channel; attaching is probeAttacher.ts's. The agent and
// `rtprof profile` both run on it; neither formats anything here.
import { EventEmitter } from 'node:events';
import * as fs from 'node:fs';
import type { HelloMessage, SnapshotMessage } from '../collectors/channel/messages';
import { ChannelServer, defaultSocketPath } from '../collectors/channel/server';
import { identify, type ProcessIdentity } from '../collectors/proc/identity';
import { isForbidden } from '../collectors/proc/procfs';
import { nearestAncestor } from '../collectors/proc/tree';
import { InsideSockets } from '../collectors/channel/inside';
import type { InspectorAttach } from '../collectors/node/inspectorWindow';
import { SamplerHub } from '../collectors/proc/sampler';
import { Descendants } from './descendants';
import { Discoverer } from './discovery';
import { ProbeAttacher } from './probeAttacher';
import { errors } from './errors';
import { Target } from './target';

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
  /** A profile: every thread of every target is looked at at the full sampling rate (a thread
   * that lives for one request must be seen; the agent looks at the others at 1/10 of it), and
   * PSS and server-socket evidence are read every interval. */
  profileDetail?: boolean;
  /** Node targets of another uid in the agent's network namespace: 'any' attaches through their
   * inspector anyway (`--inspector-attach any`); default 'same-user' refuses (docs/SECURITY.md). */
  inspectorAttach?: InspectorAttach;
  log: (line: string) => void;
}

export interface WatcherEvents {
  added: [Target];
  removed: [Target, string];
  sample: [Target];
  /** after every target was collected in one interval */
  tick: [];
  snapshot: [Target, SnapshotMessage];
}

/** How often the services' trees are walked for new descendants. */
const TREE_SCAN_MS = 250;

export class Watcher extends EventEmitter<WatcherEvents> {
  readonly targets = new Map<number, Target>();
  readonly channel: ChannelServer;
  /** Sockets and probe files inside targets in other mount/pid namespaces (containers). */
  private readonly inside: InsideSockets;
  /** Attach markers of probes that are pending (queued in an idle target), by pid. */
  private readonly pendingMarkers = new Map<number, string>();
  private readonly hub: SamplerHub;
  private readonly descendants: Descendants;
  private readonly discoverer: Discoverer;
  private timer: NodeJS.Timeout | undefined;
  private treeTimer: NodeJS.Timeout | undefined;
  private readonly attacher: ProbeAttacher;
  private stopped = false;

  constructor(readonly options: WatcherOptions) {
    super();
    this.hub = new SamplerHub(options.sampleHz);
    this.discoverer = new Discoverer(options.match);
    this.channel = new ChannelServer({
      socketPath: options.socketPath ?? defaultSocketPath(),
      log: options.log,
      adopt: (pid, token) => !this.stopped && this.descendants.adopt(pid, token),
    });
    this.inside = new InsideSockets(this.channel, options.log);
    this.attacher = new ProbeAttacher(
      this.channel,
      this.inside,
      { ...options, onPendingMarker: (pid, marker) => this.pendingMarkers.set(pid, marker) },
      (t) => this.isCurrent(t),
    );
    this.descendants = new Descendants(this.channel, options, {
      targets: this.targets,
      add: (identity, attach, rootPid) => this.add(identity, attach, rootPid),
      attach: (target) => this.attacher.add(target),
      isCurrent: (target) => this.isCurrent(target),
    });
    this.channel.on('hello', (hello: HelloMessage) => this.onHello(hello));
    this.channel.on('snapshot', (snap: SnapshotMessage) => this.onSnapshot(snap));
    this.channel.on('disconnect', (pid: number) => this.targets.get(pid)?.probe.lost());
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
    this.treeTimer = setInterval(() => this.scanTrees(), TREE_SCAN_MS);
    this.treeTimer.unref();
    if (this.options.discover) this.discoverNew();
  }

  /** Watched processes that descend from a root (still running). */
  descendantPids(): number[] {
    return [...this.targets.values()].filter((t) => t.service.rootPid !== t.pid).map((t) => t.pid);
  }

  /** The targets of the service rooted at `rootPid`, root first. */
  serviceTargets(rootPid: number): Target[] {
    return [...this.targets.values()]
      .filter((t) => t.service.rootPid === rootPid)
      .sort((a, b) => (a.pid === rootPid ? -1 : b.pid === rootPid ? 1 : a.pid - b.pid));
  }

  /**
   * Also watch every Node/Python process that `pid` starts (directly or further down) as part of
   * its service. With a launch token (`rtprof run`), descendants that inherited the probe's
   * environment connect by themselves (see adoptDescendant); the others get the probe by attach.
   */
  watchDescendantsOf(pid: number, launchToken?: string): void {
    this.descendants.follow(pid, launchToken);
    this.scanTrees();
  }

  /** Starts watching a pid and, with `tree`, its descendants. Throws a coded error for a pid that does not exist. */
  watchPid(pid: number, opts: { attach?: boolean; tree?: boolean } = {}): Target {
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
    const target = this.add(identity, opts.attach ?? this.options.attach);
    if (opts.tree) this.watchDescendantsOf(pid);
    return target;
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
      target.probe.note('not Node or Python (yet?): watched from /proc; if it execs one, or starts one, that gets the probe');
      return target;
    }
    target.probe.pending('preload', 'waiting for the preloaded probe to connect');
    return target;
  }

  /** false once the target is no longer watched (it went, or the watcher stopped) */
  private isCurrent(target: Target): boolean {
    return !this.stopped && this.targets.get(target.pid) === target;
  }

  private add(identity: ProcessIdentity, attach: boolean, rootPid = identity.pid): Target {
    const root = this.targets.get(rootPid);
    if (root && rootPid !== identity.pid) root.hasDescendants = true;
    // A process that starts others in the tree is a master too (a gunicorn arbiter under a shell).
    const parent = this.targets.get(identity.ppid);
    if (parent && parent.service.rootPid === rootPid) parent.hasDescendants = true;
    const service = { rootPid, name: root?.serviceName ?? identity.serviceName };
    const detail = this.options.profileDetail === true;
    const target = new Target(identity, service, { threadsEveryNthTick: detail ? 1 : undefined, profile: detail });
    this.targets.set(identity.pid, target);
    this.hub.add(target.proc);
    this.collectOne(target); // a first sample at once: rates start from here
    this.emit('added', target);
    if (identity.runtime === 'other') target.probe.unsupported('not Node or Python: watched from /proc only');
    else if (attach) this.attacher.add(target);
    return target;
  }

  private onHello(hello: HelloMessage): void {
    let target = this.targets.get(hello.pid);
    if (!target) return;
    if (target.identity.runtime === 'other') target = this.reidentify(target) ?? target;
    // A container's version is not read from its binary (see identity.ts): the probe tells it.
    if (target.identity.runtimeVersion === undefined) target.identity.runtimeVersion = hello.runtimeVersion;
    this.pendingMarkers.delete(hello.pid); // the probe removes its marker as it connects
    target.probe.connected(hello);
    this.options.log(`target ${target.label()}: probe connected (${hello.runtime} ${hello.runtimeVersion}, ${hello.attach})`);
  }

  /**
   * A target first seen as a wrapper has exec()ed into Node or Python (same pid and start time):
   * it is replaced by a target with its new identity (runtime, service name, resource), keeping
   * its probe token and its place in its service.
   */
  private reidentify(old: Target): Target | undefined {
    const identity = identify(old.pid);
    if (!identity || identity.runtime === 'other') return undefined;
    this.drop(old);
    this.emit('removed', old, 'exec');
    this.options.log(`target ${old.label()} is now ${identity.runtime} (${identity.serviceName}): it exec()ed`);
    const rootPid = old.service.rootPid === old.pid ? identity.pid : old.service.rootPid;
    const target = this.add(identity, false, rootPid);
    target.hasDescendants = old.hasDescendants;
    return target;
  }

  private onSnapshot(snap: SnapshotMessage): void {
    const target = this.targets.get(snap.pid);
    if (!target) return;
    target.lastSnapshot = snap;
    target.probe.snapshots++;
    this.emit('snapshot', target, snap);
  }

  private tick(): void {
    for (const target of [...this.targets.values()]) this.collectOne(target);
    this.emit('tick');
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
    this.drop(target);
    this.channel.revokeToken(target.pid);
    this.inside.close(target.pid);
    this.removeMarker(target.pid);
    this.options.log(`target ${target.label()} ${why}; no longer watched`);
    this.emit('removed', target, why);
  }

  private drop(target: Target): void {
    this.targets.delete(target.pid);
    this.hub.delete(target.proc);
    target.proc.close();
  }

  /** New Node/Python descendants of the services' roots join their service. */
  private scanTrees(): void {
    if (!this.stopped) this.descendants.scan();
  }

  private discoverNew(): void {
    for (const identity of this.discoverer.scan((pid) => this.targets.has(pid))) {
      // A process whose ancestor is already a target joins that target's service.
      const root = this.rootOfWatched(identity.pid);
      this.add(identity, this.options.attach, root ?? identity.pid);
    }
  }

  private rootOfWatched(pid: number): number | undefined {
    const isRoot = (p: number): boolean => this.targets.get(p)?.service.rootPid === p;
    return nearestAncestor(pid, isRoot);
  }

  /** Tells every probe to stop for good (bye): a one-shot profile leaves nothing running behind. */
  detachAll(): void {
    for (const target of this.targets.values()) this.channel.revokeToken(target.pid);
  }

  /** Stops watching. Probes are not told: a restarted agent picks them up (they give up after 10 min). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    if (this.treeTimer) clearInterval(this.treeTimer);
    this.hub.stop();
    for (const target of this.targets.values()) target.proc.close();
    await this.channel.close();
    this.inside.closeAll();
    for (const pid of [...this.pendingMarkers.keys()]) this.removeMarker(pid);
  }

  /** A probe still pending when its target or the agent goes away leaves no marker behind. */
  private removeMarker(pid: number): void {
    const marker = this.pendingMarkers.get(pid);
    if (marker === undefined) return;
    this.pendingMarkers.delete(pid);
    try {
      fs.rmSync(marker, { force: true });
    } catch {
      // its directory went with the target's
    }
  }
}
