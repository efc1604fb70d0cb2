"""GC pauses from gc.callbacks, and the interpreter's own collection counts from gc.get_stats()."""

import gc
from time import perf_counter

from .config import MAX_GC_EVENTS


class GcMonitor:
    """Each pause from gc.callbacks (only while GC pause watching is on); the counts from
    gc.get_stats(), which the interpreter keeps since it started whether or not we watch (what the
    semantic conventions' cpython.gc.* counters report)."""

    def __init__(self, clock=perf_counter, max_events=MAX_GC_EVENTS):
        self.clock = clock
        self.max_events = max_events
        self.started = None
        self.events = []
        self.overflow = 0

    def callback(self, phase, info):
        # Runs in whichever host thread collects, with the GIL held, inside the host's allocation:
        # kept tiny, and guarded, since an exception here would be printed in the host.
        try:
            if phase == "start":
                self.started = self.clock()
                return
            t0 = self.started
            if t0 is None:
                return
            self.started = None
            if len(self.events) < self.max_events:
                gen = info.get("generation", 0)
                self.events.append((gen, self.clock() - t0, info.get("collected", 0), info.get("uncollectable", 0)))
            else:
                self.overflow += 1
        except Exception:
            pass

    def installed(self):
        return self.callback in gc.callbacks

    def install(self):
        if self.callback not in gc.callbacks:
            gc.callbacks.append(self.callback)

    def uninstall(self):
        while self.callback in gc.callbacks:
            try:
                gc.callbacks.remove(self.callback)
            except ValueError:
                break  # removed by another thread between the check and the call

    def take(self):
        """The pauses since the last take (protocol form) and how many did not fit."""
        events, self.events = self.events, []
        overflow, self.overflow = self.overflow, 0
        gc_list = [
            {"kind": "gen%d" % g, "durationS": round(d, 7), "collected": c, "uncollectable": u}
            for (g, d, c, u) in events
        ]
        return gc_list, overflow

    @staticmethod
    def totals():
        by_kind = {}
        count = collected = uncollectable = 0
        for gen, st in enumerate(gc.get_stats()):
            c, k, u = st.get("collections", 0), st.get("collected", 0), st.get("uncollectable", 0)
            by_kind["gen%d" % gen] = {"count": c, "collected": k, "uncollectable": u}
            count += c
            collected += k
            uncollectable += u
        return {"count": count, "collected": collected, "uncollectable": uncollectable, "byKind": by_kind}
