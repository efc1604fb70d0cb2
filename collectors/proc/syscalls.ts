// Which off-CPU state a blocking system call means. Numbers differ per architecture: x86_64 has
// its own table, arm64 (and most newer ports) use the generic asm-generic/unistd.h numbering.
import { arch } from 'node:process';

export type WaitState = 'io' | 'lock' | 'sleep' | 'other';

/**
 * A finer reading of the same observation, for the service breakdown, which must tell a thread
 * that waits for a reply (io) from one that waits for its next job (idle):
 * - `io`: blocked moving data (read/recv/write/send/connect, or state D): work is in flight.
 * - `ready`: waiting for readiness (poll/select/epoll/accept): io while work is in flight, else idle.
 * - `lock`: a futex with a timeout or a file lock. CPython waits for the GIL with a timed
 *   condition wait, so GIL contention lands here.
 * - `wait`: a futex with no timeout: how a pool thread (Python's queue, libuv's and V8's
 *   workers) parks until it is handed work.
 */
export type WaitKind = 'io' | 'ready' | 'lock' | 'wait' | 'sleep' | 'other';

const X86_64: Record<number, WaitState> = {
  0: 'io',
  1: 'io',
  7: 'io',
  17: 'io',
  18: 'io',
  19: 'io',
  20: 'io',
  23: 'io', // read write poll pread pwrite readv writev select
  40: 'io',
  42: 'io',
  43: 'io',
  44: 'io',
  45: 'io',
  46: 'io',
  47: 'io', // sendfile connect accept sendto recvfrom sendmsg recvmsg
  232: 'io',
  270: 'io',
  271: 'io',
  281: 'io',
  288: 'io',
  295: 'io',
  296: 'io', // epoll_wait pselect6 ppoll epoll_pwait accept4 preadv pwritev
  299: 'io',
  307: 'io',
  426: 'io',
  441: 'io', // recvmmsg sendmmsg io_uring_enter epoll_pwait2
  202: 'lock',
  449: 'lock',
  72: 'lock',
  73: 'lock', // futex futex_waitv fcntl(F_SETLKW) flock
  35: 'sleep',
  230: 'sleep',
  34: 'sleep', // nanosleep clock_nanosleep pause
};

const GENERIC: Record<number, WaitState> = {
  63: 'io',
  64: 'io',
  65: 'io',
  66: 'io',
  67: 'io',
  68: 'io',
  69: 'io',
  70: 'io',
  71: 'io', // read write readv writev pread pwrite preadv pwritev sendfile
  72: 'io',
  73: 'io',
  22: 'io',
  441: 'io',
  426: 'io', // pselect6 ppoll epoll_pwait epoll_pwait2 io_uring_enter
  202: 'io',
  203: 'io',
  206: 'io',
  207: 'io',
  211: 'io',
  212: 'io',
  242: 'io',
  243: 'io',
  269: 'io', // accept connect sendto recvfrom sendmsg recvmsg accept4 recvmmsg sendmmsg
  98: 'lock',
  449: 'lock',
  32: 'lock', // futex futex_waitv flock
  101: 'sleep',
  115: 'sleep', // nanosleep clock_nanosleep
};

const TABLE = arch === 'x64' ? X86_64 : GENERIC;

// Readiness waits and futexes, which the finer reading splits out of io and lock.
const X86_64_READY = new Set([7, 23, 43, 232, 270, 271, 281, 288, 441]);
const GENERIC_READY = new Set([72, 73, 22, 441, 202, 242]);
const READY = arch === 'x64' ? X86_64_READY : GENERIC_READY;
const FUTEX = arch === 'x64' ? 202 : 98;

/** Fallback when the syscall file is unreadable: kernel wait channel names. */
function classifyWchan(wchan: string): WaitState {
  if (/poll|select|epoll|sk_wait|tcp_|unix_|inet_|pipe_|wait_woken|skb/.test(wchan)) return 'io';
  if (/futex/.test(wchan)) return 'lock';
  if (/nanosleep|hrtimer|do_nanosleep/.test(wchan)) return 'sleep';
  return 'other';
}

/**
 * Classifies one off-CPU observation. `state` is the one-letter task state from stat; `syscall`
 * the first field of /proc/PID/task/TID/syscall ("running", "-1" or a number); `wchan` optional.
 */
export function classifyWait(state: string, syscall: string | undefined, wchan?: string): WaitState {
  if (state === 'D') return 'io'; // uninterruptible sleep: disk or other kernel I/O
  if (syscall !== undefined && syscall !== 'running' && syscall !== '-1') {
    const found = TABLE[Number(syscall)];
    if (found) return found;
    return 'other';
  }
  if (wchan) return classifyWchan(wchan);
  return 'other';
}

/**
 * The finer kind of one off-CPU observation. `syscallLine` is the whole /proc/PID/task/TID/syscall
 * text: for a futex its fourth argument is the timeout pointer (0 means wait forever).
 */
export function classifyWaitKind(state: string, syscallLine: string | undefined): WaitKind {
  if (state === 'D') return 'io';
  const fields = syscallLine?.trim().split(' ');
  const nr = fields?.[0];
  const coarse = classifyWait(state, nr);
  if (nr === undefined || coarse === 'sleep' || coarse === 'other') return coarse;
  const n = Number(nr);
  if (READY.has(n)) return 'ready';
  if (n === FUTEX) return fields?.[4] === '0x0' ? 'wait' : 'lock';
  return coarse;
}
