"""One asyncio loop: its delay, by a call_soon_threadsafe poke timed when it runs, and its
utilization, by timing the loop's Python selector.select (loops without one, such as uvloop:
delay only)."""

import weakref
from time import perf_counter as _clock

from .stats import delay_stats


class LoopMonitor:
    def __init__(self, loop, work=None):
        self.loop_ref = weakref.ref(loop)
        # The process's in-flight work (work.Work): the loop's idle time while some work was in
        # flight is its waiting on that work's I/O, measured select by select (idle_busy_s).
        self.work = work
        self.thread_id = getattr(loop, "_thread_id", None)
        self.pending_since = None  # perf_counter when the poke in flight was scheduled
        self.samples = []
        self.selector = None
        self.selector_cls = None
        self.idle_s = 0.0
        self.idle_busy_s = 0.0
        self.select_busy0 = 0.0  # the work's busy clock when the select in progress began
        self.select_since = None
        self.select_end = None  # when the last select returned
        self.stretch_max = 0.0  # the longest time between two selects (the loop never polled)
        self.tracked_since = _clock()
        self.last_active = 0.0
        self.last_idle = 0.0
        self.run_callback = self._ran  # one bound method, reused for every poke

    def _ran(self, scheduled):
        # A callback on the host's loop: an exception would reach its exception handler and logs.
        try:
            now = _clock()
            if self.select_end is None:
                # On the loop thread outside select: stretches are timed from here until the first
                # timed select returns (a selector wrapped while the loop sat in the original one).
                self.select_end = now
            if self.pending_since == scheduled:
                self.samples.append(now - scheduled)
                self.pending_since = None
        except Exception:
            pass

    def poke(self, loop, now):
        if self.pending_since is not None:
            return
        self.pending_since = now
        loop.call_soon_threadsafe(self.run_callback, now)

    def wrap_selector(self, loop):
        # The selector's class is swapped for a subclass whose select is timed (and swapped back
        # by unwrap_selector). An instance attribute shadowing select would defeat CPython's
        # attribute caches and cost the service CPU on every attribute access of the selector;
        # the subclass keeps them.
        sel = getattr(loop, "_selector", None)
        cls = type(sel)
        select = getattr(cls, "select", None)
        if sel is None or select is None or not hasattr(sel, "__dict__"):
            return
        if getattr(cls, "_rtprof_timed", False) or "select" in sel.__dict__:
            return  # timed already, or someone shadows select on the instance: do not stack
        monitor = self

        def timed_select(self, timeout=None):
            t0 = _clock()
            end = monitor.select_end
            if end is not None and t0 - end > monitor.stretch_max:
                monitor.stretch_max = t0 - end
            work = monitor.work
            if work is not None:
                monitor.select_busy0 = work.busy_clock(t0)
            monitor.select_since = t0
            try:
                return select(self, timeout)
            finally:
                t1 = _clock()
                monitor.select_since = None
                monitor.select_end = t1
                monitor.idle_s += t1 - t0
                if work is not None:
                    # How much of this select had work in flight: the busy clock's advance across it.
                    overlap = work.busy_clock(t1) - monitor.select_busy0
                    if overlap > 0:
                        monitor.idle_busy_s += overlap if overlap < t1 - t0 else t1 - t0

        try:
            timed = type(
                cls.__name__,
                (cls,),
                {
                    "__slots__": (),
                    "select": timed_select,
                    "_rtprof_timed": True,
                    "__module__": cls.__module__,
                    "__qualname__": cls.__qualname__,
                },
            )
            sel.__class__ = timed  # TypeError where the layouts differ
        except Exception:
            # The selector class may be anyone's (a metaclass, a final or native type): whatever
            # subclassing it raises, it stays untouched and the loop gets delay only.
            return
        self.selector = sel
        self.selector_cls = cls
        self.tracked_since = _clock()
        self.idle_s = 0.0
        self.idle_busy_s = 0.0

    def unwrap_selector(self):
        sel, self.selector = self.selector, None
        cls = type(sel)
        if sel is not None and getattr(cls, "_rtprof_timed", False) and cls.__bases__[0] is self.selector_cls:
            try:
                sel.__class__ = self.selector_cls
            except TypeError:
                pass  # cannot happen for a class we derived; never worth failing a stop over

    def take(self, now, interval_s, tick_s):
        """The loop's part of a snapshot: delay stats, utilization, active/idle seconds."""
        samples, self.samples = self.samples, []
        if self.pending_since is not None and now - self.pending_since > interval_s:
            # A loop blocked for longer than a whole interval shows it now, not only when it
            # unblocks. A shorter block is reported whole, in the interval where it ends.
            samples.append(now - self.pending_since)
        out = {"resolutionNs": int(tick_s * 1e9)}  # pokes go out once per probe tick
        # A stretch still going on is reported whole when it ends, like a block seen by a poke.
        stretch, self.stretch_max = self.stretch_max, 0.0
        stats = delay_stats(samples)
        if stats is not None:
            if self.selector is not None and stretch * 1e9 > stats["max"]:
                stats["max"] = int(stretch * 1e9)
            out["delayNs"] = stats
        if self.selector is not None:
            idle = self.idle_s
            idle_busy = self.idle_busy_s
            since = self.select_since
            if since is not None:
                idle += max(0.0, now - since)
                if self.work is not None:
                    idle_busy += min(max(0.0, self.work.busy_clock(now) - self.select_busy0), max(0.0, now - since))
            active = max(0.0, (now - self.tracked_since) - idle)
            d_active = active - self.last_active
            d_idle = idle - self.last_idle
            self.last_active, self.last_idle = active, idle
            if d_active + d_idle > 0:
                out["utilization"] = round(min(1.0, max(0.0, d_active / (d_active + d_idle))), 4)
            out["activeS"] = round(active, 6)
            out["idleS"] = round(idle, 6)
            if self.work is not None and self.work.seen:
                out["idleBusyS"] = round(min(idle, idle_busy), 6)
        return out
