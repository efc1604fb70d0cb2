"""The asyncio loops of this process: found by a hook on asyncio.events._set_running_loop (called by
every BaseEventLoop.run_forever) and by a scan of the threads' current frames for loops already
running; each gets a LoopMonitor."""

import sys

from .config import LOOP_RESCAN_S, TICK_FAST_S, TICK_S
from .loop_monitor import LoopMonitor
from .patching import imported


class Loops:
    """We scan frames rather than gc.get_objects(): it costs a few frames per thread, not a walk
    of the whole heap with the GIL held."""

    FRAME_NAMES = ("run_forever", "_run_once", "run_until_complete", "run")

    def __init__(self, work=None):
        self.work = work  # the process's in-flight work, for each loop's idle time while busy
        self.monitors = {}  # id(loop) -> LoopMonitor
        self.tick_s = TICK_S  # TICK_FAST_S while a loop has no Python selector to time
        self.new_loops = []
        self.orig_set_running_loop = None
        self.events_mod = None
        self.last_scan = 0.0

    def hook(self, active):
        if self.events_mod is not None or not imported("asyncio.events") or not imported("asyncio.base_events"):
            return
        events = sys.modules["asyncio.events"]
        orig = getattr(events, "_set_running_loop", None)
        if orig is None:
            return
        new_loops = self.new_loops

        def _set_running_loop(loop):
            orig(loop)
            # In the host's run_forever: whatever happens here must not reach it.
            if loop is not None and active():
                try:
                    new_loops.append(loop)
                except Exception:
                    pass

        _set_running_loop._rtprof = True
        events._set_running_loop = _set_running_loop
        self.events_mod = events
        self.orig_set_running_loop = orig
        self.last_scan = 0.0  # hooked: scan now for loops that were running before

    def unhook(self):
        events, self.events_mod = self.events_mod, None
        if events is not None and getattr(getattr(events, "_set_running_loop", None), "_rtprof", False):
            events._set_running_loop = self.orig_set_running_loop
        for m in list(self.monitors.values()):
            m.unwrap_selector()
        self.monitors.clear()

    def scan_frames(self, own_thread_id):
        base = sys.modules.get("asyncio.events")
        if base is None:
            return
        loop_cls = base.AbstractEventLoop
        names = self.FRAME_NAMES
        for tid, frame in list(sys._current_frames().items()):
            if tid == own_thread_id:
                continue
            depth = 0
            while frame is not None and depth < 200:
                if frame.f_code.co_name in names:
                    # f_locals of another thread's frame: on <= 3.12 this snapshots the frame's
                    # locals into its dict (read only); 3.13+ returns a proxy.
                    local = frame.f_locals
                    for name in ("self", "loop"):
                        v = local.get(name)
                        if not isinstance(v, loop_cls):
                            v = getattr(v, "_loop", None)  # asyncio.Runner (3.11+) holds its loop
                        if isinstance(v, loop_cls):
                            self.new_loops.append(v)
                frame = frame.f_back
                depth += 1

    def refresh(self, now, own_thread_id):
        if self.events_mod is not None and now - self.last_scan >= LOOP_RESCAN_S:
            self.last_scan = now
            self.scan_frames(own_thread_id)
        new = []
        while self.new_loops:
            new.append(self.new_loops.pop())  # list.pop is atomic; the loop thread may append
        for loop in new:
            key = id(loop)
            m = self.monitors.get(key)
            if m is not None and m.loop_ref() is loop:
                continue
            m = LoopMonitor(loop, self.work)
            m.wrap_selector(loop)
            self.monitors[key] = m
        for key, m in list(self.monitors.items()):
            loop = m.loop_ref()
            if loop is None or loop.is_closed():
                m.unwrap_selector()
                del self.monitors[key]
        fast = any(m.selector is None for m in self.monitors.values())
        self.tick_s = TICK_FAST_S if fast else TICK_S

    def poke(self, now):
        for m in list(self.monitors.values()):
            loop = m.loop_ref()
            if loop is None:
                continue
            try:
                if loop.is_running():
                    m.poke(loop, now)
                else:
                    m.pending_since = None
                    m.select_end = None  # a stopped loop's pause is not a stretch without select
            except Exception:
                # Someone else's loop (closed between our check and the call: RuntimeError; a
                # third-party loop may raise anything): it costs this poke, never the probe thread.
                m.pending_since = None

    def report(self, now, interval_s, main_thread_id):
        """The loop on the main thread if there is one, else the first loop seen (one eventLoop per
        snapshot in protocol v1)."""
        chosen = None
        for m in self.monitors.values():
            loop = m.loop_ref()
            if loop is None:
                continue
            tid = getattr(loop, "_thread_id", None)
            if chosen is None or tid == main_thread_id:
                chosen = m
        for m in self.monitors.values():
            if m is not chosen:
                m.take(now, interval_s, self.tick_s)  # keep their windows aligned; not reported
        return chosen.take(now, interval_s, self.tick_s) if chosen is not None else None
