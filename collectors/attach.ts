// The one list of runtime attachers: the agent asks here, by runtime, to inject a probe.
import type { AttachRequest, AttachResult } from './attach-types';
import { attachNode } from './node/attach';
import { attachPython } from './python/attach';

export async function attachTo(runtime: string, req: AttachRequest): Promise<AttachResult> {
  try {
    if (runtime === 'nodejs') return await attachNode(req);
    if (runtime === 'cpython') return await attachPython(req);
    return { ok: false, reason: 'not Node or Python: watched from /proc only' };
  } catch (err) {
    // An attacher must answer, not throw; if one does, the target is still watched from /proc.
    return { ok: false, reason: `attach failed unexpectedly: ${(err as Error).message}` };
  }
}
