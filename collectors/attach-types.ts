// What the agent asks of a runtime attacher (collectors/node/attach.ts, collectors/python/attach.ts)
// and what it gets back. An attacher answers with a result, it never throws.

import type { AttachMethod } from './channel/messages';
import type { TargetDir } from './proc/namespaces';

export interface AttachRequest {
  pid: number;
  /** The agent's channel socket the probe should connect to. */
  socketPath: string;
  /** The target is in another mount namespace: the files it must read go here (socketPath is
   * already its in-target path). Absent: the agent's own paths are the target's. */
  targetDir?: TargetDir;
  /** Token the agent issued for this pid (ChannelServer.issueToken). */
  token: string;
  intervalMs: number;
  /** false: the probe does not hook the target's HTTP servers (the agent's default unless `--http`); absent: true. */
  http?: boolean;
  /** false: the probe does not watch GC pauses (`--no-gc-pauses`: no GC callback in the target); absent: true. */
  gc?: boolean;
  /** How long the probe keeps trying to reach this agent before it leaves it (back to the agent it
   * was taken over from, or stops for good); the probe's default is 10 minutes. */
  giveUpMs?: number;
  /** Whole attach, signal to probe started; default 10 s. */
  timeoutMs?: number;
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
