// The services a watcher follows: each is a root pid (one the user named with --pid, or one
// `rtprof run` launched) whose descendants join it as they appear. A launched root also has a launch
// token: its descendants inherit the probe's environment and present that token themselves.
import { sameToken } from '../collectors/channel/server';
import { identify, type ProcessIdentity } from '../collectors/proc/identity';
import { descendantsOf, nearestAncestor } from '../collectors/proc/tree';
import { readEnvVar } from '../collectors/proc/procfs';
import { isOwnHelper, keyOf } from './discovery';

interface Root {
  pid: number;
  /** the token a launched root's preloaded descendants inherit */
  launchToken: string | undefined;
}

export class ServiceRoots {
  private readonly roots = new Map<number, Root>();
  /** pid:startTicks:comm of descendants already looked at and skipped (not Node or Python) */
  private readonly skipped = new Set<string>();

  get size(): number {
    return this.roots.size;
  }

  add(pid: number, launchToken?: string): void {
    const existing = this.roots.get(pid);
    this.roots.set(pid, { pid, launchToken: launchToken ?? existing?.launchToken });
  }

  has(pid: number): boolean {
    return this.roots.has(pid);
  }

  delete(pid: number): void {
    this.roots.delete(pid);
  }

  /** Every live descendant of every root, with the root it belongs to. */
  *descendants(): Generator<{ pid: number; root: number }> {
    for (const root of this.roots.keys()) for (const pid of descendantsOf(root)) yield { pid, root };
  }

  /** The Node/Python descendants not watched yet (`watched` says which are), with their roots. */
  *newDescendants(watched: (pid: number) => boolean): Generator<{ identity: ProcessIdentity; root: number }> {
    for (const { pid, root } of this.descendants()) {
      if (pid === process.pid || watched(pid)) continue;
      const key = keyOf(pid);
      if (key === undefined || this.skipped.has(key)) continue;
      const identity = identify(pid);
      if (!identity || identity.runtime === 'other' || isOwnHelper(identity)) {
        // Only Node and Python descendants are targets; a wrapper that later exec()s one has a
        // new comm, hence a new key, and is looked at again.
        this.skipped.add(key);
        continue;
      }
      yield { identity, root };
    }
    if (this.skipped.size > 10_000) this.skipped.clear();
  }

  /** The root pid descends from, if any (a process cannot be re-parented into a tree). */
  rootOf(pid: number): number | undefined {
    return nearestAncestor(pid, (p) => this.roots.has(p));
  }

  /** The launch token a descendant inherited from its root, when it did. */
  inheritedToken(pid: number, root: number): string | undefined {
    const launchToken = this.roots.get(root)?.launchToken;
    if (!launchToken) return undefined;
    const inherited = readEnvVar(pid, 'RTPROF_TOKEN');
    return inherited !== undefined && sameToken(launchToken, inherited) ? inherited : undefined;
  }

  /** The launched root whose token this is and from which pid descends. */
  launchedRootFor(pid: number, token: string): number | undefined {
    const root = this.rootOf(pid);
    const launchToken = root === undefined ? undefined : this.roots.get(root)?.launchToken;
    return launchToken && sameToken(launchToken, token) ? root : undefined;
  }
}
