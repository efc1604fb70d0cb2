// The inspector half of a Node attach: start the probe through Runtime.evaluate, then close the
// inspector we opened (and one that opens after we gave up) and check its port is gone.
import { ProbeConfig } from '../probeConfig';
import { CdpSession, listInspectorTargets } from './cdp';
import { openRelay } from './netns-relay';
import { connectHost, isSameProcess } from './target-facts';
import type { Listener } from './target-facts';
import { AttachError, ensureAlive, newInspectorListener, POLL_MS, remaining, safeListeners, sleep, type Target } from './attachTarget';

// An inspector that opens after we gave up (target was busy) is closed by a watcher for this long.
const LATE_INSPECTOR_WATCH_MS = 60_000;

// The expression runs synchronously inside the target. `require` from the inspector's command-line
// API exists only during this evaluation, so everything that needs it happens before it returns.
function requireExpression(probeFile: string): string {
  return `(function () {
    var p = ${JSON.stringify(probeFile)};
    if (typeof process.getBuiltinModule === 'function') return process.getBuiltinModule('module').createRequire(p);
    try { if (typeof require === 'function') return require; } catch (e) {}
    if (process.mainModule) return process.mainModule.require.bind(process.mainModule);
    return null;
  })()`;
}

function startExpression(target: Target): string {
  const config = ProbeConfig.inspector(target.req);
  return `(function () {
    try {
      var req = ${requireExpression(target.probeFile)};
      if (!req) return { ok: false, error: 'no require() reachable in the target' };
      return req(${JSON.stringify(target.probeFile)}).start(${JSON.stringify(config.toJSON())});
    } catch (e) { return { ok: false, error: String(e && e.message || e) }; }
  })()`;
}

const CLOSE_EXPRESSION = `(function () {
  var req = ${'REQUIRE'};
  if (req) req('inspector').close(); else process._debugEnd();
})()`;

export async function injectProbe(target: Target, inspector: Listener, openedByUs: boolean): Promise<void> {
  const host = connectHost(inspector);
  const list = await listInspectorTargets(host, inspector.port, Math.max(500, remaining(target)), target.dial);
  ensureAlive(target);
  const url = list?.[0]?.webSocketDebuggerUrl;
  if (!url) {
    // A target that exits as its inspector opens stops answering a moment before it is gone.
    for (const until = Date.now() + 500; Date.now() < until; await sleep(POLL_MS)) ensureAlive(target);
    throw new AttachError(`process ${target.pid}: port ${inspector.port} did not answer as a Node inspector`);
  }
  let session: CdpSession;
  try {
    session = await CdpSession.connect(url, Math.max(500, remaining(target)), target.dial);
  } catch (err) {
    ensureAlive(target);
    throw new AttachError(`cannot connect to process ${target.pid}'s inspector: ${(err as Error).message}`);
  }
  try {
    const outcome = await session.evaluate(startExpression(target), Math.max(500, remaining(target)));
    ensureAlive(target);
    const value = outcome.value as { ok?: boolean; error?: string } | undefined;
    if (outcome.closed) throw new AttachError(`process ${target.pid}: the inspector connection closed during attach`);
    if (outcome.exception || !value?.ok) {
      const why = outcome.exception ?? value?.error ?? 'no answer';
      throw new AttachError(`probe did not start in process ${target.pid}: ${why.split('\n')[0]} (can its user read ${target.probeFile}?)`);
    }
    if (openedByUs) await closeWithSession(target, session, inspector);
  } finally {
    await session.close(1000);
  }
}

/** inspector.close() drops every session, ours included, so no answer comes: we watch the port. */
// SIGUSR1 asks Node to open its inspector twice over: by a V8 interrupt and by a libuv async
// callback; whichever runs second finds it open and does nothing. Interrupts are served even while
// the loop is blocked (a busy loop, Atomics.wait), so the whole attach can happen before the loop
// turns; closing then would let the late async callback open the inspector again. One loop turn
// (a setImmediate) first runs that callback.
const LOOP_TURN_EXPRESSION = 'new Promise(function (resolve) { setImmediate(resolve); })';

async function closeWithSession(target: Target, session: CdpSession, inspector: Listener): Promise<void> {
  const expression = CLOSE_EXPRESSION.replace('REQUIRE', requireExpression(target.probeFile));
  await session.evaluate(LOOP_TURN_EXPRESSION, 3000, true).catch(() => undefined);
  await session.evaluate(expression, 2000).catch(() => undefined);
  await session.waitClosed(2000);
  if (!(await waitListenerGone(target, inspector, 3000))) {
    throw new AttachError(
      `probe started in process ${target.pid}, but its inspector port ${inspector.port} did not close; restart it or close it by hand`,
    );
  }
}

async function waitListenerGone(target: Target, inspector: Listener, timeoutMs: number): Promise<boolean> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    if (!isSameProcess(target.pid, target.startTime)) return true;
    if (!safeListeners(target.pid).some((l) => l.inode === inspector.inode)) return true;
    if (Date.now() > until) return false;
    await sleep(POLL_MS);
  }
}

/** Closes an inspector we opened, on a fresh session (used when the attach failed half way). */
export async function closeInspector(target: Target, inspector: Listener): Promise<void> {
  if (!isSameProcess(target.pid, target.startTime)) return;
  const list = await listInspectorTargets(connectHost(inspector), inspector.port, 2000, target.dial);
  const url = list?.[0]?.webSocketDebuggerUrl;
  if (!url) return;
  const session = await CdpSession.connect(url, 2000, target.dial);
  try {
    await closeWithSession(target, session, inspector);
  } finally {
    await session.close(1000);
  }
}

/** SIGUSR1 was sent but the port did not appear in time: if it shows up later, close it. */
export function closeLateInspector(target: Target, before: Set<string>): void {
  const until = Date.now() + LATE_INSPECTOR_WATCH_MS;
  const timer = setInterval(() => {
    if (Date.now() > until || !isSameProcess(target.pid, target.startTime)) return clearInterval(timer);
    const opened = newInspectorListener(target, before);
    if (!opened) return;
    clearInterval(timer);
    void closeInspectorLater(target, opened).catch(() => undefined);
  }, 200);
  timer.unref();
}

/** Closes an inspector outside an attach: the attach's relay into another network namespace (if
 * the target is in one) is gone by then, so a fresh one is opened for the close. */
export async function closeInspectorLater(target: Target, inspector: Listener): Promise<void> {
  const late: Target = { ...target, deadline: Date.now() + 5000 };
  if (!target.otherNetns) return closeInspector(late, inspector);
  const relay = await openRelay(target.pid, 5000);
  try {
    await closeInspector({ ...late, dial: relay.dial }, inspector);
  } finally {
    relay.close();
  }
}
