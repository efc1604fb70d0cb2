// The one list of runtime attachers: the agent asks here, by runtime, to inject a probe.
// Attachers load on first use: an agent that only reads /proc never pays for them.
import type { AttachRequest, AttachResult } from './attach-types';

export async function attachTo(runtime: string, req: AttachRequest): Promise<AttachResult> {
  try {
    if (runtime === 'nodejs') return await (require('./node/attach') as typeof import('./node/attach')).attachNode(req);
    if (runtime === 'cpython') return await (require('./python/attach') as typeof import('./python/attach')).attachPython(req);
    return { ok: false, reason: 'not Node or Python: watched from /proc only' };
  } catch (err) {
    // An attacher must answer, not throw; if one does, the target is still watched from /proc.
    return { ok: false, reason: `attach failed unexpectedly: ${String((err as Error).message).split('\n')[0]}` };
  }
}
