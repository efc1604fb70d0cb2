// Whether rtprof may open a Node target's inspector. SIGUSR1 opens it unauthenticated on the
// target's 127.0.0.1 for the length of the attach, and every process in that network namespace can
// run code through it as the target's user (docs/SECURITY.md). Node accepts a second session while
// the agent's is open, so being first does not keep others out: the window is only opened without
// asking for a target of the agent's own uid, or one in a network namespace of its own (neither the
// agent's nor the host's).
import * as fs from 'node:fs';
import { errors } from '../../src/errors';
import { AttachError } from './attachTarget';

/** `--inspector-attach`: 'same-user' (default) or 'any' uid in the agent's network namespace. */
export type InspectorAttach = 'same-user' | 'any';
export const INSPECTOR_ATTACH_MODES: readonly InspectorAttach[] = ['same-user', 'any'];

/** The target's real and effective uids (the inspector runs code with the effective one). */
export function targetUids(pid: number): { real: number; effective: number } {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  } catch {
    throw new AttachError(`process ${pid} exited`);
  }
  const fields = /^Uid:\s+(\d+)\s+(\d+)/m.exec(text);
  if (!fields) throw new AttachError(`cannot read the uid of process ${pid}`);
  return { real: Number(fields[1]), effective: Number(fields[2]) };
}

/** The host's network namespace on kernels that number it fixed (0xEFFFFFF9, as they do the other
 * initial namespaces): it is told even where pid 1's namespaces cannot be read (a sandboxed init). */
const INIT_NET = `net:[${0xeffffff9}]`;

/**
 * Whether the target's network namespace is the agent's or the host's (pid 1's), where other local
 * users live; true also when it cannot be told (the careful answer). An agent in a pod of its own
 * watching host processes through hostPID is in another namespace than they are, yet theirs is
 * the one every user of the host shares.
 */
export function inSharedNetns(pid: number): boolean {
  let theirs: string;
  try {
    theirs = fs.readlinkSync(`/proc/${pid}/ns/net`);
  } catch {
    return true;
  }
  if (theirs === INIT_NET) return true;
  for (const other of ['self', '1']) {
    try {
      if (fs.readlinkSync(`/proc/${other}/ns/net`) === theirs) return true;
    } catch {
      if (other === 'self') return true;
      // pid 1's namespaces may be unreadable (a sandboxed init, another pid namespace): the
      // agent's own and the fixed number above are what is left to tell by
    }
  }
  return false;
}

/**
 * Throws the coded one-line refusal when opening this target's inspector would let other users of
 * the agent's or the host's network namespace act as a user the agent does not run as, and the
 * operator did not accept that.
 */
export function checkInspectorWindow(pid: number, mode: InspectorAttach | undefined, probeFile: string): void {
  if (mode === 'any') return;
  const other = otherUidWindow(pid);
  if (other === undefined) return;
  throw errors.inspectorOtherUser(String(pid), String(other.uid), String(other.agentUid), probeFile);
}

/** The uid (real or effective) not the agent's that opening this target's inspector would expose
 * to the agent's or the host's network namespace; undefined when the window is the agent's own. */
export function otherUidWindow(pid: number): { uid: number; agentUid: number } | undefined {
  const agentUid = process.geteuid?.();
  if (agentUid === undefined || !inSharedNetns(pid)) return undefined;
  const { real, effective } = targetUids(pid);
  if (real === agentUid && effective === agentUid) return undefined;
  return { uid: effective !== agentUid ? effective : real, agentUid };
}
