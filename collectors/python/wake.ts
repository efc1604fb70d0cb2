// Waking a parked gunicorn worker so the probe load queued in it runs now. CPython runs a queued
// load when its main thread next runs Python code; a gunicorn sync worker with no traffic sits in
// select() for half its --timeout (15 s by default) between runs. gunicorn's workers take SIGWINCH
// as a no-op (Worker.handle_winch only logs "worker: SIGWINCH ignored." at debug level), and their
// wakeup fd makes the select() return: the handler is Python code, so the queued load runs with it.
//
// Only a process that is recognisably a gunicorn worker is signalled. Its gunicorn master must never
// be: there SIGWINCH stops the workers of a daemonized master. The worker's signal handlers tell
// them apart (Worker.init_signals: QUIT, TERM, INT, WINCH, USR1, ABRT; the Arbiter also catches HUP
// and CHLD, and no ABRT), and the parent must be a gunicorn process too.
import { isSameProcess, readCmdline, readSignalMasks, readStartTime, readStat } from '../proc/procfs';

const bit = (signal: number): bigint => 1n << BigInt(signal - 1);
const SIGHUP = 1;
const SIGABRT = 6;
const SIGCHLD = 17;
const SIGWINCH = 28;

const mentionsGunicorn = (pid: number): boolean => {
  try {
    return readCmdline(pid).some((arg) => /(^|[/ ])gunicorn\b/.test(arg));
  } catch {
    return false;
  }
};

/** Whether pid is a gunicorn worker whose SIGWINCH handler is gunicorn's worker's (a no-op). */
export function isGunicornWorker(pid: number): boolean {
  try {
    const { caught, ignored } = readSignalMasks(pid);
    const handles = (s: number): boolean => (caught & bit(s)) !== 0n && (ignored & bit(s)) === 0n;
    if (!handles(SIGWINCH) || !handles(SIGABRT) || handles(SIGHUP) || handles(SIGCHLD)) return false;
    const ppid = readStat(pid).ppid;
    return ppid > 1 && mentionsGunicorn(pid) && mentionsGunicorn(ppid);
  } catch {
    return false; // gone, or not ours to read
  }
}

/**
 * Wakes a parked gunicorn worker (see above); false, and nothing sent, for any other process.
 * The worker is signalled only if it is still the process that was looked at.
 */
export function wakeParkedWorker(pid: number): boolean {
  const startTime = readStartTime(pid);
  if (startTime === undefined || !isGunicornWorker(pid)) return false;
  if (!isSameProcess(pid, startTime)) return false;
  try {
    process.kill(pid, 'SIGWINCH');
    return true;
  } catch {
    return false;
  }
}
