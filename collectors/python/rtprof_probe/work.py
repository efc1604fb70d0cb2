"""In-flight work: requests in flight, completed, and the wall time with at least one in flight
(busy time), fed by the HTTP hooks (hooks/) from the host's threads."""

import threading
from time import perf_counter


class StreamCounts:
    """asyncio streams requests of one loop thread: n in flight, done completed. Written by that
    thread alone, without a lock (the cheapest per-request path); Work.report adds them up."""

    __slots__ = ("n", "done")

    def __init__(self):
        self.n = 0
        self.done = 0


class Work:
    """In-flight work of every source. busy_s is the wall time during which at least one unit was
    busy: a request of a threaded source (begin/end, under the lock), or a loop thread with at least
    one asyncio streams request in flight (enter/leave, called by that thread only when its count
    goes 0 -> 1 -> 0). report() is None until some source has been seen, so a service whose
    server no hook covers is not reported as idle."""

    MAX_STREAM_THREADS = 256

    def __init__(self, clock=perf_counter):
        self.clock = clock
        self.lock = threading.Lock()
        self.units = 0
        self.in_flight = 0
        self.completed = 0
        self.busy_s = 0.0
        self.busy_since = None
        self.seen = False
        self.streams = {}  # thread ident -> StreamCounts
        self.retired_done = 0  # completed requests of idle counts dropped to bound self.streams

    def _enter(self):
        if self.units == 0:
            self.busy_since = self.clock()
        self.units += 1
        self.seen = True

    def _leave(self):
        if self.units <= 0:
            return
        self.units -= 1
        if self.units == 0 and self.busy_since is not None:
            self.busy_s += self.clock() - self.busy_since
            self.busy_since = None

    def begin(self):
        """A request starts (threaded sources)."""
        with self.lock:
            self._enter()
            self.in_flight += 1

    def end(self):
        """A request ends; an end without a begin is ignored."""
        with self.lock:
            if self.in_flight <= 0:
                return
            self.in_flight -= 1
            self.completed += 1
            self._leave()

    def enter(self):
        """A loop thread goes from no streams request in flight to one."""
        with self.lock:
            self._enter()

    def leave(self):
        """A loop thread goes back to none in flight."""
        with self.lock:
            self._leave()

    def stream_counts(self):
        """The counts of the calling (loop) thread; once per connection. Past MAX_STREAM_THREADS
        threads, the idle ones are folded into retired_done."""
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
                counts = self.streams[tid] = StreamCounts()
            self.seen = True
            return counts

    def busy_clock(self, now):
        """Busy time since start, at `now`: it advances at wall speed while work is in flight and
        stands still otherwise, so its change across any span is the span's overlap with busy time.
        Read without the lock (it is read around every select of a loop): a read racing an update
        from another thread can be off by that update, which the caller bounds."""
        since = self.busy_since
        busy = self.busy_s
        if since is not None and now > since:
            busy += now - since
        return busy

    def report(self, now):
        """{"inFlight", "completed", "busyS"} (busy time since start, cumulative), or None."""
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
