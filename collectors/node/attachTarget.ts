// What one Node attach knows about its target, and the small helpers both halves of the attach use
// (attach.ts decides and signals; inspectorSession.ts talks to the inspector it opened).
import type { AttachRequest } from '../attach-types';
import type { Dialer } from './cdp';
import { isSameProcess, targetListeners } from './target-facts';
import type { InspectFlags, Listener } from './target-facts';

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_INSPECTOR_PORT = 9229;
export const POLL_MS = 25;

export class AttachError extends Error {
  constructor(
    message: string,
    readonly retry = false,
  ) {
    super(message);
  }
}

export interface Target {
  pid: number;
  startTime: string | undefined;
  flags: InspectFlags;
  req: AttachRequest;
  deadline: number;
  /** The probe file as the target sees it. */
  probeFile: string;
  /** In another network namespace: its inspector is reached through a relay. */
  otherNetns: boolean;
  dial?: Dialer;
}

export function remaining(target: Target): number {
  return Math.max(0, target.deadline - Date.now());
}

export function ensureAlive(target: Target): void {
  if (!isSameProcess(target.pid, target.startTime)) throw new AttachError(`process ${target.pid} exited during attach`);
}

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A listener that appeared since `before` on the port SIGUSR1 opens. Any other new port is the
 * application's (its own inspector.open(), an HTTP server starting): never ours to use or close.
 */
export function newInspectorListener(target: Target, before: Set<string>): Listener | undefined {
  const port = target.flags.port ?? DEFAULT_INSPECTOR_PORT;
  return safeListeners(target.pid).find((l) => !before.has(l.inode) && (port === 0 || l.port === port));
}

export function safeListeners(pid: number): Listener[] {
  try {
    return targetListeners(pid);
  } catch {
    return [];
  }
}
