"""Runs inside gdb (`gdb -p PID -batch -x gdb_inject.py`), not in the target: asks a CPython 3.8-3.13
to run the probe loader at its next safe point, via Py_AddPendingCall(PyRun_SimpleString, code).

Safety rules (after memray's attach, and pyrasite's hang reports):
- What runs in the target is only mmap (a page for the code string, so malloc is never entered
  from a stopped thread) and Py_AddPendingCall (a lock and an array slot). The Python code itself
  runs later, in the main thread, at an eval-breaker check, with the GIL held.
- Nothing is called on a thread stopped in the middle of native code. We call on a thread that is
  stopped inside a system call: there it holds no lock our two calls take (CPython never makes a
  system call while holding its pending-calls lock; a thread waiting for that lock, or for the
  GIL, is waiting, not holding). Such a thread is usually there at attach (a parked main thread,
  threads waiting for the GIL); if none is, the target runs a few milliseconds at a time, stopped
  by a SIGURG that gdb swallows, until one is (a loaded service spends a good share of its time in
  recv/send/epoll_wait).
- Only a target that never enters a system call in that time (pure Python on one thread) is let
  run to the entry of a function that is only entered outside malloc and outside the pending-call
  machinery (PyObject_Malloc, PyEval_SaveThread, PyEval_RestoreThread) and injected there. Those
  are software breakpoints: they write int3 into the interpreter's text, whose page stays a
  private copy after the breakpoint is removed. Measured on the asyncio sample app (paired runs
  beside a plain twin, 12 rounds): a bare break/continue/delete/detach left it ~1-1.5 points more
  CPU per request, three runs out of three, so the system-call path above comes first and writes
  nothing into the text: our calls return to address 0, and the fault that stops them is
  swallowed by gdb (no breakpoint at the return address).
- If the agent's wait runs out (it then sends SIGURG, which gdb stops on and never delivers), the
  process is parked: we inject only on a thread that is parked in a system call.
- Scheduler-locking stays off: every thread runs while our calls run, so none can wait on a lock
  that a stopped thread holds. No PyGILState_Ensure/PyRun_SimpleString on a stopped thread.
- The calls are made by writing general registers only. gdb 13's own `call` also rewrites the
  whole x87/SSE/AVX state, which the kernel refuses on CPUs with AMX ("Couldn't write extended
  state status") and leaves the interrupted system call un-restartable (errno 514 in the
  target). The functions we call take integer arguments and do not use vector registers.
- Every register we change is put back, whatever happens, before gdb detaches. SIGSEGV stays
  "nopass" until gdb is gone: our own return fault is never delivered, and a real fault of another
  thread in that window happens again when it runs (a fault repeats; nothing is lost).

Parameters come as JSON in the file named by $RTPROF_GDB_PARAMS: codePath, codeBytes.
Markers on stdout (RTPROF-...) tell attach.ts what happened.
"""

import json
import os
import subprocess
import time

import gdb  # noqa: F401  (provided by gdb)

SAFE_POINTS = ("PyObject_Malloc", "PyEval_SaveThread", "PyEval_RestoreThread")
NEEDED = ("Py_AddPendingCall", "PyRun_SimpleString", "mmap")
SAVED_REGS = ("rip", "rsp", "rax", "rdi", "rsi", "rdx", "rcx", "r8", "r9", "r10", "r11", "orig_rax")
ARG_REGS = ("rdi", "rsi", "rdx", "rcx", "r8", "r9")
SIGTRAP = 5
SIGSEGV = 11
SIGURG = 23
# How long the target may run, a few ms at a time, until a thread is in a system call.
SYSCALL_SEARCH_S = 0.3
KICK_AFTER_S = 0.003


def say(marker, detail=""):
    gdb.write("RTPROF-%s %s\n" % (marker, detail))
    gdb.flush()


def run(cmd):
    return gdb.execute(cmd, to_string=True)


def reg(name):
    return int(gdb.parse_and_eval("(long)$" + name))


def set_reg(name, value):
    run("set $%s = %d" % (name, value))


def address_of(symbol):
    try:
        return int(gdb.parse_and_eval("(long)&" + symbol))
    except gdb.error:
        return None


def save_regs():
    saved = {name: reg(name) for name in SAVED_REGS}
    saved["eflags"] = int(gdb.parse_and_eval("$eflags"))
    return saved


def restore_regs(saved):
    # rip first: gdb clears orig_rax when the pc is written, so orig_rax must come after it for an
    # interrupted system call to be restarted by the kernel as if nothing happened.
    for name in SAVED_REGS:
        set_reg(name, saved[name])
    set_reg("eflags", saved["eflags"])


def call(thread_num, saved, fn, args):
    """Calls fn(*args) on the selected thread. It returns to address 0: the fault stops it there
    (gdb stops on SIGSEGV and does not deliver it), so no breakpoint is written into the target's
    text. Other stops on the way (a late SIGURG, another thread's fault) are resumed."""
    sp = ((saved["rsp"] - 1024) & ~0xF) - 8  # below the red zone, ABI-aligned at entry
    run("set *(unsigned long *)%d = 0" % sp)
    set_reg("rip", fn)
    set_reg("rsp", sp)
    for name, value in zip(ARG_REGS, args):
        set_reg(name, value)
    set_reg("rax", 0)
    for _ in range(100):
        run("continue")
        thread = gdb.selected_thread()
        if thread is not None and thread.num == thread_num and stop_signal() == SIGSEGV and reg("rip") == 0 and reg("rsp") == sp + 8:
            return reg("rax")
    raise gdb.error("our call did not return")


def stop_signal():
    try:
        return int(gdb.parse_and_eval("$_siginfo.si_signo"))
    except gdb.error:
        return 0


def inject(thread, params):
    # Our calls return to address 0: that fault must stop gdb and never reach the target, until gdb
    # has detached (so this is never undone).
    run("handle SIGSEGV stop print nopass")
    thread.switch()
    thread_num = thread.num
    saved = save_regs()
    try:
        page = call(thread_num, saved, address_of("mmap"), [0, params["codeBytes"], 3, 0x22, -1, 0])
        if page <= 0 or page >= 2**63:
            raise gdb.error("mmap failed in the target")
        run("restore %s binary %d" % (params["codePath"], page))
        pyrun = address_of("PyRun_SimpleString")
        rc = call(thread_num, saved, address_of("Py_AddPendingCall"), [pyrun, page]) & 0xFFFFFFFF
        rc = rc - 2**32 if rc >= 2**31 else rc  # int return value, -1: the queue was full
    finally:
        run("thread %d" % thread_num)
        restore_regs(saved)
    return rc


def parked_thread(pid):
    """The main thread if it sits in a system call, else any thread that does, else None."""
    threads = sorted(gdb.selected_inferior().threads(), key=lambda t: (t.ptid[1] != pid, t.num))
    for t in threads:
        t.switch()
        if reg("orig_rax") >= 0:
            return t
    return None


def thread_in_syscall(pid):
    """A thread stopped in a system call: found at attach, or after letting the target run a few
    ms at a time, stopped each time by a SIGURG (sent by a helper while gdb waits, stopped and
    swallowed by gdb). Returns (thread, kicks), or (None, kicks) when the search time ran out."""
    deadline = time.monotonic() + SYSCALL_SEARCH_S
    kicks = 0
    while True:
        thread = parked_thread(pid)
        if thread is not None or time.monotonic() >= deadline or not os.path.exists("/bin/sh"):
            return thread, kicks  # (no shell to send the kicks: the safe-point breakpoints then)
        kicks += 1
        helper = subprocess.Popen(["/bin/sh", "-c", "sleep %.3f; kill -s URG %d" % (KICK_AFTER_S, pid)])
        try:
            run("continue")
        finally:
            helper.wait()
        if stop_signal() != SIGURG:
            return None, kicks  # not our kick (cannot happen with no breakpoints set): be careful


def main():
    params = json.load(open(os.environ["RTPROF_GDB_PARAMS"]))
    for setting in (
        "pagination off",
        "confirm off",
        "breakpoint pending off",
        "print thread-events off",
        "scheduler-locking off",
    ):
        run("set " + setting)
    # Signals the target gets meanwhile go straight through; SIGURG is the agent's "stop waiting".
    run("handle all nostop noprint pass")
    run("handle SIGINT nostop noprint pass")
    run("handle SIGURG stop print nopass")
    for lib in ("libc\\.", "libpython"):
        run("sharedlibrary " + lib)
    say("ATTACHED")
    missing = [s for s in NEEDED + SAFE_POINTS if address_of(s) is None]
    if missing:
        say("NOSYMBOLS", ",".join(missing))
        return
    pid = gdb.selected_inferior().pid
    thread, kicks = thread_in_syscall(pid)
    if thread is not None:
        thread.switch()
        say("SYSCALL", "%d %d %d" % (thread.ptid[1], reg("orig_rax"), kicks))
    else:
        for fn in SAFE_POINTS:
            run("break *%d" % address_of(fn))
        say("WAITING")
        run("continue")
        signo = stop_signal()
        run("delete breakpoints")
        if signo == SIGTRAP:
            thread = gdb.selected_thread()
            pc = reg("rip")
            where = [fn for fn in SAFE_POINTS if address_of(fn) == pc]
            say("SAFEPOINT", where[0] if where else hex(pc))
        else:
            thread = parked_thread(pid)
            if thread is None:
                say("BUSY")
                return
            say("IDLE", str(thread.ptid[1]))
    rc = inject(thread, params)
    say("QUEUED", str(rc))


try:
    main()
except Exception as exc:  # gdb then detaches on quit; registers were restored by inject()
    say("ERROR", str(exc).replace("\n", " "))
