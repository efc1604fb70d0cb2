"""rtprof probe for CPython: pushes GC pauses, asyncio loop delay/utilization, interpreter (GIL)
delay, thread count and in-flight work to the rtprof agent over its unix socket (docs/PROTOCOL.md).

Compatibility floor: CPython 3.8 (gc.callbacks, os.register_at_fork, asyncio.events._set_running_loop
all exist there); tested on 3.8-3.13, written for 3.14. Standard library only.

The module is the same whether sitecustomize loads it at start or an attacher injects it: the
injected code only imports it from a path (as sys.modules['rtprof_probe']) and calls start(config).
All work happens in one daemon thread; the hooks it installs in the host (gc callback, a few
wrapped stdlib methods) only record numbers and always call through, whatever happens to the probe.
"""

import gc
import os
import sys
import threading
import time

PROBE_VERSION = "0.1.0"
PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 64 * 1024
MAX_QUEUED_LINES = 64
MAX_GC_EVENTS = 1000
# The probe thread wakes (and takes the GIL) every tick, for the interpreter delay and to poke each
# asyncio loop; each wake costs the service CPU (a paired benchmark, two services sharing one CPU,
# CPU per request: +3.1 % at 50 wakes/s, +1.8 % at 5/s, +1.25 % with a thread that never wakes).
# A loop blocked 100 ms is first poked up to one tick into the block, so a poke alone reads it as
# 100 ms minus up to a tick; where the loop has a Python selector the longest stretch between two
# selects (timed_select) gives the maximum exactly, and the pokes only sample the distribution
# (and the interpreter delay): 100 ms then, the fewest wakes whose 10 samples a second still give
# the loop's and the interpreter's typical delay. A loop without one (uvloop) keeps the thread at
# 20 ms (its max reads 80-100 ms). One poke in flight per loop at a time.
TICK_S = 0.100
TICK_FAST_S = 0.020
FIRST_SNAPSHOT_S = 0.2
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0
GIVE_UP_S = 600.0
MAX_EARLIER_AGENTS = 4  # agents a probe goes back to when the one that took it over leaves
LOOP_RESCAN_S = 5.0
HOOK_RESCAN_S = 1.0

_clock = time.perf_counter

_lock = threading.Lock()
_probe = None  # the one running _Probe of this process (module-level singleton)


def start(config=None):
    """Starts the probe, or re-points a running one at a new socket/token (no second copy).

    config: None reads RTPROF_SOCKET, RTPROF_TOKEN, RTPROF_INTERVAL_MS, RTPROF_ATTACH, RTPROF_HTTP
    from the environment; a dict may hold the keys socket, token, intervalMs, attach, http (and
    attachMarker: a file named rtprof-* the probe deletes once it has connected, so an attacher can
    tell). A running probe takes the new config whole, its HTTP setting too.
    Returns True when a probe thread runs after the call. Never raises.
    """
    global _probe
    try:
        cfg = _read_config(config)
        if cfg is None:
            return False
        with _lock:
            if _probe is not None and _probe.retarget(cfg):
                return True
            _probe = _Probe(cfg)
            _probe.launch()
            return True
    except Exception:
        return False


def stop():
    """Stops the probe for good (as a `bye` from the agent does). Never raises."""
    try:
        with _lock:
            p = _probe
        if p is not None:
            p.request_stop()
            p.thread.join(2.0)
    except Exception:
        pass


def _read_config(config):
    if config is None:
        # Taken out of the environment, as the Node probe does: a child process the service
        # starts would otherwise present this pid's token, be refused, and retry for minutes.
        env = os.environ
        config = {
            "socket": env.pop("RTPROF_SOCKET", None),
            "token": env.pop("RTPROF_TOKEN", None),
            "intervalMs": env.pop("RTPROF_INTERVAL_MS", None),
            "attach": env.pop("RTPROF_ATTACH", None) or "preload",
            "http": env.pop("RTPROF_HTTP", None),
            "gc": env.pop("RTPROF_GC", None),
        }
    sock = config.get("socket")
    token = config.get("token")
    if not sock or not token:
        return None
    try:
        interval_ms = int(float(config.get("intervalMs") or 1000))
    except (TypeError, ValueError):
        interval_ms = 1000
    attach = config.get("attach") or "preload"
    if attach not in ("preload", "inspector", "gdb", "remote_exec"):
        attach = "preload"
    return {
        "socket": str(sock),
        "token": str(token),
        "intervalMs": max(100, min(interval_ms, 3600000)),
        "attach": attach,
        "attachMarker": config.get("attachMarker"),
        "giveUpS": float(config.get("giveUpS") or GIVE_UP_S),
        # False, 0 or "0": no HTTP server hooks (the agent's default unless `--http`): no request counts
        # or busy time. Absent: hooks on (a preload by hand, a profile).
        "http": config.get("http") not in (False, 0, "0"),
        # False, 0 or "0": no GC pause watching (`--no-gc-pauses`): no gc.callbacks entry, no GC series.
        "gc": config.get("gc") not in (False, 0, "0"),
    }


# --------------------------------------------------------------------------------------------
# Statistics


def _delay_stats(samples_s):
    """min/mean/p50/p90/p99/max in integer nanoseconds (nearest rank), or None."""
    if not samples_s:
        return None
    xs = sorted(samples_s)
    n = len(xs)

    def rank(q):
        return xs[min(n - 1, max(0, int(q * n + 0.999999) - 1))]

    ns = 1e9
    return {
        "min": int(max(0.0, xs[0]) * ns),
        "mean": int(max(0.0, sum(xs) / n) * ns),
        "p50": int(max(0.0, rank(0.50)) * ns),
        "p90": int(max(0.0, rank(0.90)) * ns),
        "p99": int(max(0.0, rank(0.99)) * ns),
        "max": int(max(0.0, xs[-1]) * ns),
    }


# --------------------------------------------------------------------------------------------
# GC pauses (gc.callbacks runs in whichever thread collects, with the GIL held: keep it tiny)


class _GcMonitor:
    """Each pause from gc.callbacks (only while GC pause watching is on); the counts from
    gc.get_stats(), which the interpreter keeps since it started whether or not we watch (what the
    semantic conventions' cpython.gc.* counters report)."""

    def __init__(self):
        self.started = None
        self.events = []
        self.overflow = 0

    def callback(self, phase, info):
        try:
            if phase == "start":
                self.started = _clock()
                return
            t0 = self.started
            if t0 is None:
                return
            self.started = None
            if len(self.events) < MAX_GC_EVENTS:
                gen = info.get("generation", 0)
                self.events.append((gen, _clock() - t0, info.get("collected", 0), info.get("uncollectable", 0)))
            else:
                self.overflow += 1
        except Exception:
            pass

    def install(self):
        if self.callback not in gc.callbacks:
            gc.callbacks.append(self.callback)

    def uninstall(self):
        try:
            while self.callback in gc.callbacks:
                gc.callbacks.remove(self.callback)
        except Exception:
            pass

    def take(self):
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
        try:
            stats = gc.get_stats()
        except Exception:
            return None
        for gen, st in enumerate(stats):
            c, k, u = st.get("collections", 0), st.get("collected", 0), st.get("uncollectable", 0)
            by_kind["gen%d" % gen] = {"count": c, "collected": k, "uncollectable": u}
            count += c
            collected += k
            uncollectable += u
        return {"count": count, "collected": collected, "uncollectable": uncollectable, "byKind": by_kind}


# --------------------------------------------------------------------------------------------
# asyncio loops: delay by a call_soon_threadsafe poke timed when it runs; utilization by timing
# the loop's Python selector.select (uvloop and other loops without one: delay only)


class _LoopMonitor:
    def __init__(self, loop, weakref_mod):
        self.loop_ref = weakref_mod.ref(loop)
        self.thread_id = getattr(loop, "_thread_id", None)
        self.pending_since = None  # perf_counter when the poke in flight was scheduled
        self.samples = []
        self.selector = None
        self.selector_cls = None
        self.idle_s = 0.0
        self.select_since = None
        self.select_end = None  # when the last select returned
        self.stretch_max = 0.0  # the longest time between two selects (the loop never polled)
        self.tracked_since = _clock()
        self.active_base = 0.0
        self.last_active = 0.0
        self.last_idle = 0.0
        self.run_callback = self._ran  # one bound method, reused for every poke

    def _ran(self, scheduled):
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
        # by unwrap_selector). An instance attribute shadowing select (the probe's earlier way)
        # cost the service ~2 % CPU per request on a loaded hello-world, far more than the wrapper's
        # own ~0.2 us per select: the method shadowed on the instance defeats CPython's attribute
        # caches. The subclass keeps them: measured, it costs no more than not timing select at all.
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
            monitor.select_since = t0
            try:
                return select(self, timeout)
            finally:
                t1 = _clock()
                monitor.select_since = None
                monitor.select_end = t1
                monitor.idle_s += t1 - t0

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
            sel.__class__ = timed  # TypeError where the layouts differ: delay only then
        except Exception:
            return
        self.selector = sel
        self.selector_cls = cls
        self.tracked_since = _clock()
        self.idle_s = 0.0

    def unwrap_selector(self):
        sel, self.selector = self.selector, None
        try:
            cls = type(sel)
            if sel is not None and getattr(cls, "_rtprof_timed", False) and cls.__bases__[0] is self.selector_cls:
                sel.__class__ = self.selector_cls
        except Exception:
            pass

    def take(self, now, interval_s, tick_s):
        samples, self.samples = self.samples, []
        if self.pending_since is not None and now - self.pending_since > interval_s:
            # A loop blocked for longer than a whole interval shows it now, not only when it
            # unblocks. A shorter block is reported whole, in the interval where it ends.
            samples.append(now - self.pending_since)
        out = {"resolutionNs": int(tick_s * 1e9)}  # pokes go out once per probe tick
        # A stretch still going on is reported whole when it ends, like a block seen by a poke.
        stretch, self.stretch_max = self.stretch_max, 0.0
        stats = _delay_stats(samples)
        if stats is not None:
            if self.selector is not None and stretch * 1e9 > stats["max"]:
                stats["max"] = int(stretch * 1e9)
            out["delayNs"] = stats
        if self.selector is not None:
            idle = self.idle_s
            since = self.select_since
            if since is not None:
                idle += max(0.0, now - since)
            active = max(0.0, (now - self.tracked_since) - idle)
            d_active = active - self.last_active
            d_idle = idle - self.last_idle
            self.last_active, self.last_idle = active, idle
            if d_active + d_idle > 0:
                out["utilization"] = round(min(1.0, max(0.0, d_active / (d_active + d_idle))), 4)
            out["activeS"] = round(active, 6)
            out["idleS"] = round(idle, 6)
        return out


class _Loops:
    """The asyncio loops of this process: those started after the hook (events._set_running_loop
    is called by every BaseEventLoop.run_forever), plus a scan of the threads' current frames for
    loops already running. We scan frames rather than gc.get_objects(): it costs a few frames per
    thread, not a walk of the whole heap with the GIL held."""

    FRAME_NAMES = ("run_forever", "_run_once", "run_until_complete", "run")

    def __init__(self, weakref_mod):
        self.weakref = weakref_mod
        self.monitors = {}  # id(loop) -> _LoopMonitor
        self.tick_s = TICK_S  # TICK_FAST_S while a loop has no Python selector to time
        self.new_loops = []
        self.orig_set_running_loop = None
        self.events_mod = None
        self.last_scan = 0.0

    def hook(self, active):
        if self.events_mod is not None or not _imported("asyncio.events") or not _imported("asyncio.base_events"):
            return
        events = sys.modules["asyncio.events"]
        orig = getattr(events, "_set_running_loop", None)
        if orig is None:
            return
        new_loops = self.new_loops

        def _set_running_loop(loop):
            orig(loop)
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
        try:
            if events is not None and getattr(events._set_running_loop, "_rtprof", False):
                events._set_running_loop = self.orig_set_running_loop
        except Exception:
            pass
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
            m = _LoopMonitor(loop, self.weakref)
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
        for key, m in list(self.monitors.items()):
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
                # Closed between our check and the call: forget it at the next refresh.
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


# --------------------------------------------------------------------------------------------
# In-flight work, where the probe can see it cheaply:
# - http.server / wsgiref (socketserver + BaseHTTPRequestHandler): one request from parse_request
#   (the request line has arrived) to the end of handle_one_request (or of finish_request, for
#   wsgiref's handler, which does not use handle_one_request); keep-alive waits are not work.
# - other socketserver servers: one unit per finish_request call.
# - asyncio streams servers (asyncio.start_server): a connection is busy from the data that
#   arrives while it was idle until its handler waits for more data (StreamReader._wait_for_data).
# - uvicorn (ASGI; its h11 and httptools protocols): one request per RequestResponseCycle.run_asgi,
#   the task uvicorn starts once a request's head is parsed, until the app has answered (or failed).
# Not covered: servers with their own protocols/loops (hypercorn, aiohttp, gunicorn's sync workers,
# waitress, twisted, tornado): `work` is only sent once a hook has seen a request, so a service
# we cannot see is not reported as idle.


def _imported(name):
    """In sys.modules and done importing (a module mid-import has half its names)."""
    module = sys.modules.get(name)
    spec = getattr(module, "__spec__", None)
    return module is not None and not getattr(spec, "_initializing", False)


class _Work:
    """In-flight work of every source. busy_s is the wall time during which at least one unit was
    busy: a request of a threaded source (begin/end, under the lock), or a loop thread with at least
    one asyncio streams request in flight (enter/leave, called by that thread only when its count
    goes 0 -> 1 -> 0). The per-request counts of streams live in _StreamCounts, one per loop
    thread, written by that thread alone without a lock; report() adds them up."""

    MAX_STREAM_THREADS = 256

    def __init__(self):
        self.lock = threading.Lock()
        self.units = 0
        self.in_flight = 0
        self.completed = 0
        self.busy_s = 0.0
        self.busy_since = None
        self.seen = False
        self.streams = {}  # thread ident -> _StreamCounts
        self.retired_done = 0  # completed requests of idle counts dropped to bound self.streams

    def _enter(self):
        if self.units == 0:
            self.busy_since = _clock()
        self.units += 1
        self.seen = True

    def _leave(self):
        if self.units <= 0:
            return
        self.units -= 1
        if self.units == 0 and self.busy_since is not None:
            self.busy_s += _clock() - self.busy_since
            self.busy_since = None

    def begin(self):
        with self.lock:
            self._enter()
            self.in_flight += 1

    def end(self):
        with self.lock:
            if self.in_flight <= 0:
                return
            self.in_flight -= 1
            self.completed += 1
            self._leave()

    def enter(self):
        with self.lock:
            self._enter()

    def leave(self):
        with self.lock:
            self._leave()

    def stream_counts(self):
        """The counts of the calling (loop) thread; once per connection."""
        tid = threading.get_ident()
        with self.lock:
            counts = self.streams.get(tid)
            if counts is None:
                if len(self.streams) >= self.MAX_STREAM_THREADS:
                    for key, c in list(self.streams.items()):
                        if c.n == 0:
                            self.retired_done += c.done
                            c.done = 0
                            del self.streams[key]
                counts = self.streams[tid] = _StreamCounts()
            self.seen = True
            return counts

    def report(self, now):
        if not self.seen:
            return None
        with self.lock:
            busy = self.busy_s
            if self.units > 0 and self.busy_since is not None:
                busy += now - self.busy_since
            in_flight = self.in_flight
            completed = self.completed + self.retired_done
            for c in self.streams.values():
                in_flight += max(0, c.n)
                completed += c.done
            return {"inFlight": in_flight, "completed": completed, "busyS": round(busy, 6)}


class _StreamCounts:
    """asyncio streams requests of one loop thread: n in flight, done completed."""

    __slots__ = ("n", "done")

    def __init__(self):
        self.n = 0
        self.done = 0


class _Conn:
    """What the probe knows of one asyncio StreamReader (stored on it as _rtprof_conn): which probe
    hooks classified it, the counts of its loop thread (None: not a server connection, ignored),
    and whether a request is in flight on it."""

    __slots__ = ("owner", "counts", "busy")

    def __init__(self, owner, counts):
        self.owner = owner
        self.counts = counts
        self.busy = False


class _Patches:
    """Wraps stdlib methods (each at most once) and restores them on stop when still ours."""

    def __init__(self):
        self.done = []  # (owner, name, original)

    def wrap(self, owner, name, make):
        orig = owner.__dict__.get(name)
        if orig is None or getattr(orig, "_rtprof", False):
            return
        fn = make(orig)
        fn._rtprof = True
        try:
            fn.__name__ = getattr(orig, "__name__", name)
            fn.__doc__ = getattr(orig, "__doc__", None)
            fn.__wrapped__ = orig
        except Exception:
            pass
        setattr(owner, name, fn)
        self.done.append((owner, name, orig))

    def restore(self):
        while self.done:
            owner, name, orig = self.done.pop()
            try:
                if getattr(owner.__dict__.get(name), "_rtprof", False):
                    setattr(owner, name, orig)
            except Exception:
                pass


class _WorkHooks:
    def __init__(self, work, active, weakref_mod):
        self.work = work
        self.active = active
        self.patches = _Patches()
        self.local = threading.local()
        self.hooked = set()

    def refresh(self):
        for name, hook in (
            ("socketserver", self._hook_socketserver),
            ("http.server", self._hook_http),
            ("asyncio.streams", self._hook_streams),
            ("uvicorn.protocols.http.h11_impl", self._hook_uvicorn),
            ("uvicorn.protocols.http.httptools_impl", self._hook_uvicorn),
        ):
            if name not in self.hooked and _imported(name):
                self.hooked.add(name)
                try:
                    hook(sys.modules[name])
                except Exception:
                    pass

    def unhook(self):
        self.patches.restore()
        self.hooked.clear()

    def _begin_http(self):
        local = self.local
        # Only inside a hooked handle_one_request / finish_request (scopes > 0): a keep-alive
        # connection whose thread sat in the original handle_one_request when the hooks went in
        # would never reach our end, and its request would stay in flight for good. Such a request
        # is not counted; the connection's next one is.
        if not getattr(local, "open", False) and getattr(local, "scopes", 0) > 0:
            local.open = True
            self.work.begin()

    def _scope(self, delta):
        local = self.local
        local.scopes = getattr(local, "scopes", 0) + delta

    def _end_http(self):
        local = self.local
        if getattr(local, "open", False):
            local.open = False
            self.work.end()

    def _hook_socketserver(self, socketserver):
        hooks = self
        active = self.active

        def is_http(server):
            http = sys.modules.get("http.server")
            cls = getattr(server, "RequestHandlerClass", None)
            try:
                return http is not None and issubclass(cls, http.BaseHTTPRequestHandler)
            except TypeError:
                return False

        def make(orig):
            def finish_request(self, request, client_address):
                if not active():
                    return orig(self, request, client_address)
                scoped = False
                try:
                    http = is_http(self)
                    if http:
                        hooks._scope(1)
                        scoped = True
                    else:
                        hooks.work.begin()
                except Exception:
                    http = True  # unsure: only our thread's own open request may be ended
                try:
                    return orig(self, request, client_address)
                finally:
                    try:
                        if scoped:
                            hooks._scope(-1)
                        if http:
                            hooks._end_http()  # a request the handler left open (wsgiref)
                        else:
                            hooks.work.end()
                    except Exception:
                        pass

            return finish_request

        self.patches.wrap(socketserver.BaseServer, "finish_request", make)

    def _hook_http(self, http_server):
        hooks = self
        active = self.active

        def make_parse(orig):
            def parse_request(self):
                try:
                    if active():
                        hooks._begin_http()
                except Exception:
                    pass
                return orig(self)

            return parse_request

        def make_one(orig):
            def handle_one_request(self):
                scoped = False
                try:
                    hooks._scope(1)
                    scoped = True
                except Exception:
                    pass
                try:
                    return orig(self)
                finally:
                    try:
                        if scoped:
                            hooks._scope(-1)
                        hooks._end_http()
                    except Exception:
                        pass

            return handle_one_request

        cls = http_server.BaseHTTPRequestHandler
        self.patches.wrap(cls, "parse_request", make_parse)
        self.patches.wrap(cls, "handle_one_request", make_one)

    def _hook_streams(self, streams):
        # Per request on the loop thread, so the least work we can: no lock, no clock, no dict.
        # StreamReader.feed_data (the protocol's data_received) starts a request on a connection
        # that was idle; StreamReader._wait_for_data (the handler waits for more) ends it. The
        # state of a reader is one _Conn object in one attribute: a new attribute in the same
        # place on every reader keeps the instances' shared-key dicts (reading reader.__dict__
        # would materialize a dict per reader and slow every attribute access of asyncio's own
        # code on it). Its loop thread's counts are only touched by that thread; the thread's
        # first request after idle, and its last, enter/leave the shared busy time (rare under
        # load). A reader is classified once, at its first data: a server connection
        # (asyncio.start_server's protocol, with a client_connected_cb) or not (ignored).
        work = self.work
        active = self.active
        owner = self

        def classify(reader):
            tr = reader._transport
            if tr is None:
                return None
            counts = None
            if active():
                proto = tr.get_protocol()
                if getattr(proto, "_client_connected_cb", None) is not None and getattr(proto, "_stream_reader", None) is reader:
                    counts = work.stream_counts()
            c = reader._rtprof_conn = _Conn(owner, counts)
            return c

        def make_feed(orig):
            def feed_data(self, data):
                try:
                    try:
                        c = self._rtprof_conn
                    except AttributeError:
                        c = None
                    if c is None or c.owner is not owner:
                        c = classify(self)
                    if c is not None and not c.busy:
                        counts = c.counts
                        if counts is not None:
                            c.busy = True
                            n = counts.n
                            if n == 0:
                                work.enter()
                            counts.n = n + 1
                except Exception:
                    pass
                return orig(self, data)

            return feed_data

        def end(c):
            # The request in flight on this connection, if any, is done (the handler waits for
            # the next one, or the connection went).
            if c is not None and c.busy and c.owner is owner:
                c.busy = False
                counts = c.counts
                n = counts.n - 1
                counts.n = n
                counts.done += 1
                if n == 0:
                    work.leave()

        def make_wait(orig):
            # Not async on purpose: it returns the original coroutine, so no extra frame per await.
            def _wait_for_data(self, func_name):
                try:
                    end(self._rtprof_conn)
                except Exception:
                    pass
                return orig(self, func_name)

            return _wait_for_data

        def make_lost(orig):
            # Once per connection: a request still in flight when the connection goes ends here.
            def connection_lost(self, exc):
                try:
                    end(getattr(self._stream_reader, "_rtprof_conn", None))
                except Exception:
                    pass
                return orig(self, exc)

            return connection_lost

        self.patches.wrap(streams.StreamReader, "feed_data", make_feed)
        self.patches.wrap(streams.StreamReader, "_wait_for_data", make_wait)
        self.patches.wrap(streams.StreamReaderProtocol, "connection_lost", make_lost)

    def _hook_uvicorn(self, impl):
        # uvicorn.protocols.http.{h11,httptools}_impl: the protocol creates a RequestResponseCycle
        # per request and runs cycle.run_asgi(app) as a task; it returns once the response is sent
        # (or the app failed and uvicorn answered 500). Keep-alive waits are not in it.
        work = self.work
        active = self.active

        def make(orig):
            async def run_asgi(self, app):
                counted = False
                try:
                    if active():
                        work.begin()
                        counted = True
                except Exception:
                    pass
                try:
                    return await orig(self, app)
                finally:
                    if counted:
                        try:
                            work.end()
                        except Exception:
                            pass

            return run_asgi

        cycle = getattr(impl, "RequestResponseCycle", None)
        if isinstance(cycle, type):
            self.patches.wrap(cycle, "run_asgi", make)


# --------------------------------------------------------------------------------------------
# Channel: a non-blocking unix socket, a bounded queue that drops the oldest line, reconnect with
# backoff. Only the probe thread touches it.


class _Channel:
    def __init__(self, socket_mod, errno_mod):
        self.socket_mod = socket_mod
        self.errno = errno_mod
        self.sock = None
        self.queue = []
        self.out = b""  # the line being written
        self.inbuf = b""
        self.dropped = 0
        self.backoff = BACKOFF_MIN_S
        self.next_attempt = 0.0
        self.connected_at = None

    def connect(self, path, now):
        """One non-blocking attempt; True when connected."""
        if self.sock is not None or now < self.next_attempt:
            return False
        s = self.socket_mod.socket(self.socket_mod.AF_UNIX, self.socket_mod.SOCK_STREAM)
        try:
            s.setblocking(False)
            s.connect(path)
        except OSError:
            s.close()
            self.next_attempt = now + self.backoff
            self.backoff = min(BACKOFF_MAX_S, self.backoff * 2)
            return False
        self.sock = s
        self.connected_at = now
        self.out = b""
        self.inbuf = b""
        return True

    def close(self, now, retry=True):
        s, self.sock = self.sock, None
        if s is not None:
            try:
                s.close()
            except OSError:
                pass
        if retry:
            # A connection that died young (e.g. the agent refused our hello) does not reset backoff.
            if self.connected_at is not None and now - self.connected_at >= 5.0:
                self.backoff = BACKOFF_MIN_S
            self.next_attempt = now + self.backoff
            self.backoff = min(BACKOFF_MAX_S, self.backoff * 2)
        self.connected_at = None
        self.out = b""

    def push(self, line, first=False):
        if len(line) > MAX_LINE_BYTES:
            self.dropped += 1
            return
        if first:
            self.queue.insert(0, line)
        else:
            self.queue.append(line)
        while len(self.queue) > MAX_QUEUED_LINES:
            self.queue.pop(1 if first else 0)
            self.dropped += 1

    def wants_write(self):
        return self.sock is not None and (self.out or self.queue)

    def flush(self, now):
        """Writes what the socket takes without blocking; False when the connection broke."""
        while self.sock is not None:
            if not self.out:
                if not self.queue:
                    return True
                self.out = self.queue.pop(0)
            try:
                n = self.sock.send(self.out)
            except OSError as e:
                if e.errno in (self.errno.EAGAIN, self.errno.EWOULDBLOCK):
                    return True
                return False
            self.out = self.out[n:]
        return True

    def read_lines(self):
        """Lines the agent sent; None when the connection is closed."""
        try:
            data = self.sock.recv(65536)
        except OSError as e:
            if e.errno in (self.errno.EAGAIN, self.errno.EWOULDBLOCK):
                return []
            return None
        if not data:
            return None
        buf = self.inbuf + data
        lines = buf.split(b"\n")
        self.inbuf = lines.pop()
        if len(self.inbuf) > MAX_LINE_BYTES:
            self.inbuf = b""
        return lines


# --------------------------------------------------------------------------------------------
# The probe thread


class _Probe:
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

    def _leave_agent(self):
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
        try:
            self._setup()
            try:
                self._loop()
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
        import errno
        import json
        import select
        import socket
        import weakref

        self.json = json
        self.select = select
        self.own_tid = threading.get_ident()
        self.main_tid = threading.main_thread().ident
        self.started_at_ms = int(time.time() * 1000)
        self.channel = _Channel(socket, errno)
        self.gc = _GcMonitor()
        self.loops = _Loops(weakref)
        self.work = _Work()
        self.hooks = _WorkHooks(self.work, self.active, weakref)
        self.interp_samples = []
        self.seq = 0
        self._follow_gc_config()
        try:
            os.register_at_fork(after_in_child=self._after_fork)
        except Exception:
            pass

    def _after_fork(self):
        # The child is another pid with no probe thread: its hooks go quiet (they check active()).
        self.active_flag = False
        self.stopping = True
        try:
            self.gc.uninstall()
        except Exception:
            pass

    def _teardown(self):
        self.active_flag = False
        self.gc.uninstall()
        self.loops.unhook()
        self.hooks.unhook()
        self.channel.close(_clock(), retry=False)

    def _refresh_hooks(self, now):
        if self.cfg.get("http", True):
            self.hooks.refresh()
        elif self.hooks.hooked:
            self.hooks.unhook()
        self.loops.hook(self.active)
        self.loops.refresh(now, self.own_tid)
        self._follow_gc_config()

    def _follow_gc_config(self):
        # GC pause watching follows the current agent's config (a new attach may switch it).
        if self.cfg.get("gc", True):
            self.gc.install()
        elif self.gc.callback in gc.callbacks:
            self.gc.uninstall()
            self.gc.take()  # forget the pauses seen: none are sent while off

    def _loop(self):
        select = self.select.select
        # Hooks and loops first, and the first poke right away: an attached probe often arrives
        # when an idle target next runs Python, which may be a callback that blocks the loop.
        try:
            self._refresh_hooks(_clock())
        except Exception:
            pass
        now = _clock()
        next_tick = now
        next_snapshot = now + FIRST_SNAPSHOT_S
        next_hooks = now + HOOK_RESCAN_S
        cfg_version = -1
        last_alive = now
        while not self.stopping:
            cfg = self.cfg
            if cfg_version != self.cfg_version:
                cfg_version = self.cfg_version
                self.channel.close(now, retry=False)
                self.channel.backoff = BACKOFF_MIN_S
                self.channel.next_attempt = 0.0
                last_alive = now
                next_hooks = now  # a new config may switch the HTTP hooks: apply it now
            ch = self.channel
            if ch.sock is None and ch.connect(cfg["socket"], now):
                ch.push(self._hello(cfg), first=True)
            if ch.sock is not None:
                last_alive = now
            elif now - last_alive > cfg["giveUpS"] and not self._leave_agent():
                return  # no agent for 10 minutes and none to go back to: stop for good
            timeout = max(0.0, next_tick - _clock())
            rl = [ch.sock] if ch.sock is not None else []
            wl = [ch.sock] if ch.wants_write() else []
            try:
                if rl or wl:
                    readable, writable, _ = select(rl, wl, [], timeout)
                else:
                    time.sleep(timeout)
                    readable = writable = ()
            except (OSError, ValueError):
                readable = writable = ()
                ch.close(_clock())
            now = _clock()
            if now >= next_tick:
                # How late this thread woke beyond its sleep: mostly waiting for the GIL.
                self.interp_samples.append(now - next_tick)
                tick_s = self.loops.tick_s
                next_tick += tick_s
                if next_tick <= now:
                    next_tick = now + tick_s
                self.loops.poke(now)
            if readable and ch.sock is not None:
                self._read(ch, now)
            if ch.sock is not None and (writable or ch.wants_write()):
                if not ch.flush(now):
                    ch.close(now)
            if ch.connected_at is not None and cfg.get("attachMarker"):
                self._clear_marker(cfg)
            # A failure here costs one snapshot or one hook, never the thread.
            if now >= next_hooks:
                next_hooks = now + HOOK_RESCAN_S
                try:
                    self._refresh_hooks(now)
                except Exception:
                    pass
            if now >= next_snapshot:
                next_snapshot = now + cfg["intervalMs"] / 1000.0
                try:
                    self._snapshot(cfg, now)
                except Exception:
                    self.channel.dropped += 1

    def _read(self, ch, now):
        lines = ch.read_lines()
        if lines is None:
            ch.close(now)
            return
        for line in lines:
            try:
                msg = self.json.loads(line.decode("utf-8"))
            except Exception:
                continue
            if isinstance(msg, dict) and msg.get("type") == "bye":
                self._leave_agent()  # the agent detaches: back to the one before, or stop for good
                return

    def _clear_marker(self, cfg):
        marker = cfg.get("attachMarker")
        cfg["attachMarker"] = None
        try:
            if os.path.basename(marker).startswith("rtprof-"):
                os.unlink(marker)
        except Exception:
            pass

    def _hello(self, cfg):
        v = sys.version_info
        msg = {
            "v": PROTOCOL_VERSION,
            "type": "hello",
            "pid": os.getpid(),
            "token": cfg["token"],
            "runtime": "cpython",
            "runtimeVersion": "%d.%d.%d" % (v[0], v[1], v[2]),
            "probeVersion": PROBE_VERSION,
            "attach": cfg["attach"],
            "intervalMs": cfg["intervalMs"],
            "startedAt": self.started_at_ms,
        }
        return self._encode(msg)

    def _encode(self, msg):
        return (self.json.dumps(msg, separators=(",", ":")) + "\n").encode("utf-8")

    def _snapshot(self, cfg, now):
        try:
            self._refresh_hooks(now)
        except Exception:
            pass
        interval_s = cfg["intervalMs"] / 1000.0
        self.seq += 1
        snap = {
            "v": PROTOCOL_VERSION,
            "type": "snapshot",
            "pid": os.getpid(),
            "seq": self.seq,
            "t": int(time.time() * 1000),
            "intervalMs": cfg["intervalMs"],
        }
        loop = self.loops.report(now, interval_s, self.main_tid)
        if loop is not None:
            snap["eventLoop"] = loop
        gc_list, overflow = self.gc.take()
        if gc_list and cfg.get("gc", True):
            snap["gc"] = gc_list
        totals = self.gc.totals()  # always: the interpreter's counts cost nothing to read
        if totals is not None:
            snap["gcTotals"] = totals
        samples, self.interp_samples = self.interp_samples, []
        stats = _delay_stats(samples)
        if stats is not None:
            snap["interpreter"] = {"delayNs": stats}
        snap["threads"] = max(0, len(sys._current_frames()) - 1)  # Python threads, not the probe's
        work = self.work.report(now)
        if work is not None:
            snap["work"] = work
        ch = self.channel
        ch.dropped += overflow
        snap["dropped"] = ch.dropped
        line = self._encode(snap)
        while len(line) > MAX_LINE_BYTES and snap.get("gc"):
            # Keep under the line limit: the pauses beyond it survive only in gcTotals.
            cut = max(1, len(snap["gc"]) // 4)
            del snap["gc"][-cut:]
            ch.dropped += cut
            snap["dropped"] = ch.dropped
            line = self._encode(snap)
        ch.push(line)
