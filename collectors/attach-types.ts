// What the agent asks of a runtime attacher (collectors/node/attach.ts, collectors/python/attach.ts)
// and what it gets back. An attacher answers with a result, it never throws.

import type { AttachMethod } from './channel/messages';
import type { InspectorAttach } from './node/inspectorWindow';
import type { ProbeSettings } from './probeConfig';
import type { TargetDir } from './proc/namespaces';

/** The probe's settings (socketPath: the agent's channel socket the probe should connect to; token:
 * the one the agent issued for this pid, ChannelServer.issueToken) and how to reach the target. */
export interface AttachRequest extends ProbeSettings {
  pid: number;
  /** The target is in another mount namespace: the files it must read go here (socketPath is
   * already its in-target path). Absent: the agent's own paths are the target's. */
  targetDir?: TargetDir;
  /** Whole attach, signal to probe started; default 10 s. */
  timeoutMs?: number;
  /** Node: whose inspector may be opened in the agent's network namespace (`--inspector-attach`);
   * default 'same-user'. */
  inspectorAttach?: InspectorAttach;
}

export type AttachResult =
  | {
      ok: true;
      method: AttachMethod;
      /** The probe will load later (e.g. a Python main thread parked in a blocking call). */
      pending?: boolean;
      /** With pending: the attach marker (as the agent reaches it), for the agent to remove if the
       * probe has not connected by the time the target or the agent goes away. */
      marker?: string;
      note?: string;
    }
  | {
      ok: false;
      /** One line that says why and what to do. */
      reason: string;
      /** Its code in src/errors.ts, when it is one of those. */
      code?: string;
      /** The target may still be starting up (a Node that has not yet installed its SIGUSR1
       * handler, a CPython with no thread at a safe point): the same attach can work moments later. */
      retry?: boolean;
    };
