"""The probe thread: one per process (start() re-points a running one), it connects to the agent,
ticks for the interpreter and loop delays, refreshes the hooks, and sends a snapshot per interval.

Every module the probe uses, the standard library's socket, select and json among them, is imported
by the loader in the caller's thread (the host's start-up, or the injected call), never by the probe
thread: a broken copy fails where the attacher hears of it, and the probe thread never imports while
the host does. Two threads importing the same standard modules at once is a race CPython 3.13 loses
(the host's own `import asyncio` or the probe's `import socket` can fail with "cannot import name
'Mapping' from 'collections.abc'"); it costs a preloaded host a few ms of start-up instead.
"""

import os
import threading
import time
from time import perf_counter as _clock

from .agent_loop import run as _agent_loop
from .channel import Channel
from .config import MAX_EARLIER_AGENTS, read_config
from .gcpauses import GcMonitor
from .hooks import WorkHooks
from .interpreter import InterpreterDelay, python_threads
from .loops import Loops
from .messages import encode_snapshot, new_snapshot
from .work import Work

_lock = threading.Lock()
_probe = None  # the one running Probe of this process


def start(config=None):
    """Starts the probe, or re-points a running one at a new socket/token (no second copy).

    config: None reads the RTPROF_* environment; else a dict (config.read_config). A running probe
    takes the new config whole, its HTTP and GC settings too. Returns True when a probe thread runs
    after the call.
    """
    global _probe
    # Called from the host's start-up (sitecustomize) or an injected pending call: never raises.
    try:
        cfg = read_config(config)
        if cfg is None:
            return False
        with _lock:
            if _probe is not None and _probe.retarget(cfg):
                return True
            _probe = Probe(cfg)
            _probe.launch()
            return True
    except Exception:
        return False


def stop():
    """Stops the probe for good (as a `bye` from the agent does). Never raises: the host calls it."""
    try:
        with _lock:
            p = _probe
        if p is not None:
            p.request_stop()
            p.thread.join(2.0)
    except Exception:
        pass


class Probe:
    def __init__(self, cfg):
        self.cfg = cfg
        self.cfg_version = 0
        # The agents this probe was taken over from (newest last, one per socket): a bye from the
        # current one returns the probe to the one before (a `rtprof profile` run on a process a
        # sidecar agent watches gives it back when it ends).
        self.earlier = []
        self.stopping = False
        self.active_flag = True
        self.thread = threading.Thread(target=self._run, name="rtprof-probe", daemon=True)

    def active(self):
        return self.active_flag

    def launch(self):
        self.thread.start()

    def retarget(self, cfg):
        """Called with _lock held: True when this running probe took the new config."""
        if self.stopping or not self.thread.is_alive():
            return False
        current = self.cfg
        # An agent restarted at the same socket supersedes its earlier self (its old token is dead).
        self.earlier = [c for c in self.earlier if c["socket"] not in (cfg["socket"], current["socket"])]
        if current["socket"] != cfg["socket"]:
            self.earlier.append(current)
        del self.earlier[:-MAX_EARLIER_AGENTS]
        self.cfg = cfg
        self.cfg_version += 1
        return True

    def leave_agent(self):
        """The current agent said bye, or has been gone for giveUpS: back to the one before, if
        any (True), else stop for good (False)."""
        with _lock:
            if not self.earlier:
                self.stopping = True
                return False
            self.cfg = self.earlier.pop()
            self.cfg_version += 1
            return True

    def request_stop(self):
        self.stopping = True

    def _run(self):
        # The thread's last guard: whatever fails, the probe ends quietly and the host goes on.
        try:
            self._setup()
            try:
                self._first_look()
                _agent_loop(self)
            finally:
                self._teardown()
        except Exception:
            if os.environ.get("RTPROF_PROBE_DEBUG"):
                import traceback

                traceback.print_exc()
        finally:
            global _probe
            with _lock:
                if _probe is self:
                    _probe = None

    def _setup(self):
        _name_os_thread(b"rtprof-probe")
        self.own_tid = threading.get_ident()
        self.main_tid = threading.main_thread().ident
        self.started_at_ms = int(time.time() * 1000)
        self.channel = None
        self.gc = GcMonitor()
        self.work = Work()
        self.loops = Loops(self.work)
        self.hooks = WorkHooks(self.work, self.active)
        self.interpreter = InterpreterDelay()
        self.seq = 0
        self.follow_gc_config()
        try:
            os.register_at_fork(after_in_child=self._after_fork)
        except AttributeError:
            pass  # CPython 3.6 (preloaded): no fork hook; a forked child's probe thread is gone anyway

    def _first_look(self):
        # Hooks and loops first, and the first poke right away, before anything slower: an attached
        # probe often arrives when an idle target next runs Python, which may be a callback that
        # blocks the loop; a poke in flight when the block starts measures it whole.
        try:
            self.refresh_hooks(_clock())
            self.loops.poke(_clock())
        except Exception:
            pass  # hooks touch the host's modules and loops: a failure costs this look, not the thread
        self.channel = Channel()

    def _after_fork(self):
        # The child is another pid with no probe thread: its hooks go quiet (they check active()).
        # Runs in the host's child right after fork, where an exception would be printed: guarded.
        self.active_flag = False
        self.stopping = True
        try:
            self.gc.uninstall()
        except Exception:
            pass
        # The parent's wrappers (a gunicorn master's, inherited by every worker it forks) would make
        # a probe attached to this child skip wrapping "ours already" and never see a request.
        try:
            self.hooks.unhook()
        except Exception:
            pass
        # Nor does it keep the parent's connection to the agent open (a gunicorn worker would hold
        # its master's for its whole life).
        try:
            if self.channel is not None:
                self.channel.forget_after_fork()
        except Exception:
            pass

    def _teardown(self):
        self.active_flag = False
        self.gc.uninstall()
        self.loops.unhook()
        self.hooks.unhook()
        if self.channel is not None:
            self.channel.close(_clock(), retry=False)

    def refresh_hooks(self, now):
        if self.cfg.get("http", True):
            self.hooks.refresh()
        elif self.hooks.hooked:
            self.hooks.unhook()
        self.loops.hook(self.active)
        self.loops.refresh(now, self.own_tid)
        self.follow_gc_config()

    def follow_gc_config(self):
        # GC pause watching follows the current agent's config (a new attach may switch it).
        if self.cfg.get("gc", True):
            self.gc.install()
        elif self.gc.installed():
            self.gc.uninstall()
            self.gc.take()  # forget the pauses seen: none are sent while off

    def clear_marker(self, cfg):
        """Deletes the attacher's marker file (only a file named rtprof-*): the attach arrived."""
        marker = cfg.get("attachMarker")
        cfg["attachMarker"] = None
        try:
            if os.path.basename(marker).startswith("rtprof-"):
                os.unlink(marker)
        except (OSError, TypeError):  # gone already, not ours to delete, or not a path
            pass

    def snapshot(self, cfg, now):
        try:
            self.refresh_hooks(now)
        except Exception:
            pass  # as in the loop: a failed refresh costs this refresh, not the snapshot
        interval_s = cfg["intervalMs"] / 1000.0
        self.seq += 1
        snap = new_snapshot(cfg, self.seq)
        loop = self.loops.report(now, interval_s, self.main_tid)
        if loop is not None:
            snap["eventLoop"] = loop
        gc_list, overflow = self.gc.take()
        if gc_list and cfg.get("gc", True):
            snap["gc"] = gc_list
        snap["gcTotals"] = self.gc.totals()  # always: the interpreter's counts cost nothing to read
        interp = self.interpreter.take()
        if interp is not None:
            snap["interpreter"] = interp
        snap["threads"] = python_threads()
        work = self.work.report(now)
        if work is not None:
            snap["work"] = work
        ch = self.channel
        ch.dropped += overflow
        ch.push(encode_snapshot(snap, ch))



def _name_os_thread(name):
    """Names this OS thread, so the agent's thread sampler can tell the probe's own thread from the
    service's: CPython before 3.14 leaves every thread the process's name. Written to
    /proc/self/task/TID/comm (what prctl PR_SET_NAME sets) rather than through ctypes, whose import
    here would be an import in the probe thread (see the module's docstring). Best effort: without it
    the probe thread is only harder to tell apart; 3.6 and 3.7 have no native thread id."""
    try:
        with open("/proc/self/task/%d/comm" % threading.get_native_id(), "wb") as f:
            f.write(name)
    except Exception:
        pass
