// `rtprof profile`: watch one target for a window (attaching a probe when it can, or launching
// the command with the probe preloaded), optionally drive HTTP load, then print the report.
import type { ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { DURATION_FORMS } from '../duration';
import { newToken } from '../../collectors/channel/server';
import { errors } from '../errors';
import { HELP } from '../help';
import { containerMeta } from '../profile/container';
import { hostInfo } from '../profile/host';
import { loadWarnings, startLoad, type RunningLoad } from '../profile/load';
import { ServiceAssembler } from '../profile/samples';
import { buildProfile, createProgress, renderHtml, renderText, type AttachMethod, type LoadSummary, type ProfileDocument } from '../report';
import type { SnapshotMessage } from '../../collectors/channel/messages';
import type { InspectorAttach } from '../../collectors/node/inspectorWindow';
import type { Target } from '../target';
import { Watcher } from '../watcher';
import { logLine, parseDuration, parseFlags, parseInspectorAttach, parsePid, parseUrl, splitCommand } from './options';
import { launchWithProbe } from './run';

const FLAGS = {
  pid: { type: 'string' },
  duration: { type: 'string', default: '30s' },
  interval: { type: 'string', default: '1s' },
  json: { type: 'boolean' },
  html: { type: 'string' },
  load: { type: 'string' },
  rate: { type: 'string' },
  connections: { type: 'string', default: '10' },
  'no-attach': { type: 'boolean' },
  socket: { type: 'string' },
  'inspector-attach': { type: 'string', default: 'same-user' },
  help: { type: 'boolean', short: 'h' },
} as const;

export interface ProfileRequest {
  pid: number | undefined;
  command: string[];
  durationMs: number;
  intervalMs: number;
  attach: boolean;
  load: { url: string; rate: number | undefined; connections: number } | undefined;
  socketPath: string | undefined;
  /** `--inspector-attach`: see WatcherOptions.inspectorAttach */
  inspectorAttach?: InspectorAttach;
  log: (line: string) => void;
  progress: boolean;
}

function positiveInt(flag: string, value: string): number {
  if (!/^\d+$/.test(value) || Number(value) <= 0) throw errors.usage(`${flag} expects a positive integer, got '${value}'`);
  return Number(value);
}

function parseRequest(argv: string[]): { req: ProfileRequest; json: boolean; html: string | undefined } | undefined {
  const { flags, command } = splitCommand(argv);
  const v = parseFlags(flags, FLAGS);
  if (v.help) return undefined;
  if ((v.pid === undefined) === (command.length === 0)) throw errors.usage('rtprof profile needs either --pid N or a command after --');
  const durationMs = parseDuration('--duration', v.duration ?? '30s');
  const url = parseUrl('--load', v.load);
  return {
    json: v.json ?? false,
    html: v.html,
    req: {
      pid: v.pid !== undefined ? parsePid(v.pid) : undefined,
      command,
      durationMs,
      intervalMs: Math.min(parseDuration('--interval', v.interval ?? '1s'), durationMs),
      attach: !v['no-attach'],
      load: url
        ? {
            url,
            rate: v.rate !== undefined ? positiveInt('--rate', v.rate) : undefined,
            connections: positiveInt('--connections', v.connections ?? '10'),
          }
        : undefined,
      socketPath: v.socket,
      inspectorAttach: parseInspectorAttach(v['inspector-attach']),
      log: logLine,
      progress: true,
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits for every probe of the service to connect or give up: longer for a bigger tree. */
async function settleProbes(watcher: Watcher, root: Target, baseMs: number): Promise<void> {
  const targets = watcher.serviceTargets(root.service.rootPid);
  const timeoutMs = Math.min(10_000, baseMs + 300 * Math.max(0, targets.length - 1));
  await Promise.all(targets.map((t) => t.probe.settled(timeoutMs)));
}

/** One line for each process whose probe is not there, so a /proc-only answer says why. */
function reportProbes(watcher: Watcher, root: Target, log: (line: string) => void): void {
  for (const t of watcher.serviceTargets(root.service.rootPid)) {
    const who = t === root ? '' : `process ${t.label()}: `;
    if (t.probe.state === 'pending' || t.probe.state === 'attaching') {
      log(`${who}probe not connected yet (${t.probe.message ?? t.probe.state}); profiling from /proc, the probe joins when it connects`);
    } else if (t.probe.state === 'failed') {
      log(`${who}no probe${t.probe.code ? ` (${t.probe.code})` : ''}: ${t.probe.message}; profiling from /proc only`);
    }
  }
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

/** Runs one profile and returns the document. Used by the CLI and by `rtprof demo`. */
export async function profile(req: ProfileRequest): Promise<ProfileDocument> {
  const watcher = new Watcher({
    intervalMs: req.intervalMs,
    sampleHz: 50,
    discover: false,
    profileDetail: true,
    match: undefined,
    attach: req.attach,
    socketPath: req.socketPath,
    inspectorAttach: req.inspectorAttach,
    log: req.log,
  });
  await watcher.start();
  let child: ChildProcess | undefined;
  let load: RunningLoad | undefined;
  try {
    let target: Target;
    if (req.command.length > 0) {
      const token = newToken();
      child = await launchWithProbe({
        command: req.command,
        probe: { socketPath: watcher.channel.socketPath, token, intervalMs: req.intervalMs },
      });
      const launched = watcher.expectPreload(child.pid!, token);
      if (!launched) throw errors.launchFailed(req.command.join(' '), 'it exited at once');
      target = launched;
      watcher.watchDescendantsOf(child.pid!, token);
      await settleProbes(watcher, target, 3000);
    } else {
      target = watcher.watchPid(req.pid!, { tree: true });
      await settleProbes(watcher, target, 5000);
    }
    reportProbes(watcher, target, req.log);
    return await runWindow(watcher, target, req, (l) => (load = l));
  } finally {
    load?.stop();
    if (child) await stopChild(child);
    watcher.detachAll();
    await watcher.stop();
  }
}

/** Resolves after the watcher's next tick (or 2 s, should it not be ticking). */
function nextTick(watcher: Watcher): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      clearTimeout(timer);
      watcher.off('tick', done);
      resolve();
    };
    const timer = setTimeout(done, 2000);
    watcher.on('tick', done);
  });
}

/** Profiles one target already on a watcher (its own, or the agent's in `rtprof demo`). */
export async function runWindow(
  watcher: Watcher,
  target: Target,
  req: Pick<ProfileRequest, 'durationMs' | 'load' | 'log' | 'progress'>,
  onLoad: (l: RunningLoad) => void = () => undefined,
): Promise<ProfileDocument> {
  // The baselines come from the watcher's latest /proc sample: taken right after a tick, the
  // first interval starts with the window instead of up to an interval before it.
  await nextTick(watcher);
  const startMs = Date.now();
  const rootPid = target.service.rootPid;
  const inService = (t: Target): boolean => t.service.rootPid === rootPid;
  const assembler = new ServiceAssembler(startMs);
  for (const t of watcher.serviceTargets(rootPid)) assembler.onSample(t); // baselines
  let exited = false;
  const events: string[] = [];
  const at = (): string => `${((Date.now() - startMs) / 1000).toFixed(1)} s`;
  const onSnapshot = (t: Target, snap: SnapshotMessage): void => void (inService(t) && assembler.onSnapshot(t, snap));
  const onSample = (t: Target): void => void (inService(t) && assembler.onSample(t));
  const onTick = (): void => assembler.onTick();
  const onAdded = (t: Target): void => {
    if (t.pid === target.pid)
      target = t; // the root exec()ed: same process, new identity
    else if (inService(t)) events.push(`process ${t.label()} started at ${at()} (a new or respawned worker)`);
  };
  let onRemoved: (t: Target, why: string) => void = () => undefined;
  const gone = new Promise<void>((resolve) => {
    onRemoved = (t, why) => {
      if (t === target && why !== 'exec') {
        exited = true;
        resolve();
      } else if (inService(t) && why === 'exited') events.push(`process ${t.label()} exited at ${at()}`);
    };
  });
  watcher.on('tick', onTick);
  watcher.on('added', onAdded);
  watcher.on('snapshot', onSnapshot);
  watcher.on('sample', onSample);
  watcher.on('removed', onRemoved);
  let loadSummary: LoadSummary | null = null;
  let loadDone: Promise<void> = Promise.resolve();
  if (req.load) {
    // autocannon takes whole seconds; the open-loop schedule covers the window exactly
    const durationS = req.load.rate !== undefined ? req.durationMs / 1000 : Math.max(1, Math.round(req.durationMs / 1000));
    const load = startLoad({ ...req.load, durationS });
    onLoad(load);
    loadDone = load.done.then(
      (s) => void (loadSummary = s),
      (err: unknown) => req.log(`load failed: ${(err as Error).message}`),
    );
  }
  const progress = createProgress({
    totalS: req.durationMs / 1000,
    label: `profiling ${target.label()}`,
    stream: req.progress ? process.stderr : { isTTY: false, write: () => true },
  });
  const ticker = setInterval(() => progress.update((Date.now() - startMs) / 1000), 250);
  await Promise.race([sleep(req.durationMs + 50), gone]);
  clearInterval(ticker);
  watcher.off('sample', onSample);
  watcher.off('removed', onRemoved);
  watcher.off('tick', onTick);
  watcher.off('added', onAdded);
  // The probes' counters are read at the intervals' ends: the last interval needs each probe's
  // next snapshot (one interval at most).
  const owedUntil = Date.now() + watcher.options.intervalMs * 1.5;
  while (!exited && assembler.waiting && Date.now() < owedUntil) await sleep(25);
  watcher.off('snapshot', onSnapshot);
  progress.done();
  if (req.load) await Promise.race([loadDone, sleep(3000)]);
  const id = target.identity;
  const members = watcher.serviceTargets(rootPid);
  const probed = [target, ...members].find((t) => t.probe.state === 'connected' || t.probe.snapshots > 0);
  const attach = (probed ? probed.probe.method : 'none') as AttachMethod;
  const warnings: string[] = [...events, ...loadWarnings(loadSummary)];
  if (exited) warnings.push(`target exited after ${((Date.now() - startMs) / 1000).toFixed(1)} s; the report covers what was seen`);
  if (attach === 'none' && id.runtime !== 'other' && target.probe.message) warnings.push(`no probe: ${target.probe.message}`);
  for (const t of members) {
    if (t !== target && t.identity.runtime !== 'other' && t.probe.state !== 'connected' && t.probe.snapshots === 0 && t.probe.message) {
      warnings.push(`process ${t.label()}: no probe: ${t.probe.message}`);
    }
  }
  for (const why of target.proc.unavailable.values()) warnings.push(why);
  const host = await hostInfo();
  const container = containerMeta(target.container);
  return buildProfile(assembler.finish(), {
    host,
    target: { pid: id.pid, runtime: id.runtime, runtimeVersion: id.runtimeVersion ?? null, command: id.argv.join(' '), attach },
    startMs,
    load: loadSummary,
    targetExited: exited,
    warnings,
    container,
  });
}

export async function runProfile(argv: string[]): Promise<number> {
  const parsed = parseRequest(argv);
  if (!parsed) {
    process.stdout.write(HELP.profile);
    return 0;
  }
  const { req, json, html } = parsed;
  if (req.durationMs < 1000) throw errors.badDuration('--duration', `${req.durationMs}ms (at least 1s; forms: ${DURATION_FORMS})`);
  const doc = await profile(req);
  if (html) writeFileSync(html, renderHtml(doc));
  process.stdout.write(
    json ? `${JSON.stringify(doc, null, 2)}\n` : renderText(doc, { color: process.stdout.isTTY === true, width: process.stdout.columns }),
  );
  if (html) logLine(`HTML report written to ${html}`);
  return 0;
}
