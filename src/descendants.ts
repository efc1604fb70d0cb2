// How the processes a service starts join it: the watcher's tree scan finds new Node/Python
// descendants of its roots, and a process that inherited a launched root's probe environment
// presents that launch token itself. The watcher owns the targets; this decides how each joins.
import type { ChannelServer } from '../collectors/channel/server';
import { identify, type ProcessIdentity } from '../collectors/proc/identity';
import { ServiceRoots } from './services';
import type { Target } from './target';

/** A launched descendant that inherited the probe's environment gets this long to connect by itself. */
const PRELOAD_GRACE_MS = 5000;

export interface DescendantsOptions {
  /** inject probes into the descendants that do not bring their own */
  attach: boolean;
  log: (line: string) => void;
}

/** What the watcher lends: its targets, adding one to a service, and attaching a probe. */
export interface DescendantsHost {
  readonly targets: ReadonlyMap<number, Target>;
  add(identity: ProcessIdentity, attach: boolean, rootPid: number): Target;
  attach(target: Target): void;
  /** false once the target is no longer watched (it went, or the watcher stopped) */
  isCurrent(target: Target): boolean;
}

export class Descendants {
  private readonly roots = new ServiceRoots();

  constructor(
    private readonly channel: ChannelServer,
    private readonly options: DescendantsOptions,
    private readonly host: DescendantsHost,
  ) {}

  /** Follows `pid`'s descendants from now on; a launch token means they may connect by themselves. */
  follow(pid: number, launchToken?: string): void {
    this.roots.add(pid, launchToken);
  }

  /** New Node/Python descendants of the services' roots join their service. */
  scan(): void {
    if (this.roots.size === 0) return;
    for (const { identity, root } of this.roots.newDescendants((pid) => this.host.targets.has(pid))) {
      const target = this.host.targets.get(root);
      if (target) target.hasDescendants = true;
      this.addDescendant(identity, root);
    }
  }

  /**
   * A hello from a process that presents a root's launch token: it inherited the probe's env from
   * a wrapper (`rtprof run -- sh -c 'node app.js'`). Accepted when it really descends from that root.
   */
  adopt(pid: number, token: string): boolean {
    if (this.host.targets.has(pid)) return false;
    const root = this.roots.launchedRootFor(pid, token);
    if (root === undefined) return false;
    const identity = identify(pid);
    if (!identity || identity.runtime === 'other') return false;
    const target = this.host.add(identity, false, root);
    target.probe.pending('preload', 'waiting for the preloaded probe to connect');
    this.channel.issueToken(pid, token);
    this.options.log(`process ${pid} (${identity.serviceName}) started by ${root}: preloaded probe accepted`);
    return true;
  }

  /** A descendant of a root found by the tree scan (its hello may come first: adopt). */
  private addDescendant(identity: ProcessIdentity, root: number): void {
    const inherited = this.roots.inheritedToken(identity.pid, root);
    if (inherited === undefined) {
      this.options.log(`process ${identity.pid} (${identity.serviceName}) started by ${root}: watching it`);
      this.host.add(identity, this.options.attach, root);
      return;
    }
    // It inherited the probe's env and connects by itself; attach only if it has not within the
    // grace time (e.g. python3 -S, which skips sitecustomize).
    const target = this.host.add(identity, false, root);
    target.probe.pending('preload', 'waiting for the preloaded probe to connect');
    this.channel.issueToken(identity.pid, inherited);
    this.options.log(`process ${identity.pid} (${identity.serviceName}) started by ${root}: waiting for its preloaded probe`);
    setTimeout(() => {
      if (!this.host.isCurrent(target) || target.probe.state !== 'pending') return;
      if (this.options.attach) this.host.attach(target);
    }, PRELOAD_GRACE_MS).unref();
  }
}
