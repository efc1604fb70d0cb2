"""Work tracking: requests in flight, completed, busy time (wall time with at least one in flight),
by hand with a stepped clock, from real threads, and through the real HTTP hooks on loopback."""

import asyncio
import http.server
import socket
import threading
import time
import unittest
import urllib.request

import probe_package  # noqa: F401  (loads rtprof_probe)
from rtprof_probe.hooks import WorkHooks
from rtprof_probe.work import Work


class Clock:
    def __init__(self):
        self.t = 0.0

    def __call__(self):
        return self.t


class Counting(unittest.TestCase):
    def test_nothing_reported_until_a_source_is_seen(self):
        w = Work()
        self.assertIsNone(w.report(1.0))
        w.end()  # an end with no begin is ignored, and is not a sighting
        self.assertIsNone(w.report(1.0))
        w.begin()
        self.assertEqual(w.report(1.0)["inFlight"], 1)

    def test_busy_clock_advances_only_while_work_is_in_flight(self):
        # Its change across a span is the span's overlap with busy time: what a loop's timed select
        # reads around each wait to tell io (a request in flight) from idle.
        clock = Clock()
        w = Work(clock)
        self.assertEqual(w.busy_clock(5.0), 0.0)
        clock.t = 10.0
        w.begin()
        self.assertAlmostEqual(w.busy_clock(12.5), 2.5)
        clock.t = 13.0
        w.end()
        self.assertAlmostEqual(w.busy_clock(20.0), 3.0)  # stands still while nothing is in flight
        self.assertAlmostEqual(w.busy_clock(20.0) - w.busy_clock(13.0), 0.0)

    def test_busy_time_is_the_union_of_overlapping_requests(self):
        clock = Clock()
        w = Work(clock)
        w.begin()  # t=0: A
        clock.t = 1.0
        w.begin()  # t=1: B overlaps A
        clock.t = 2.0
        w.end()  # t=2
        self.assertEqual(w.report(2.5), {"inFlight": 1, "completed": 1, "busyS": 2.5})
        clock.t = 3.0
        w.end()  # t=3: busy 0..3
        clock.t = 5.0
        self.assertEqual(w.report(5.0), {"inFlight": 0, "completed": 2, "busyS": 3.0})  # idle 3..5 is not busy
        w.begin()  # t=5
        self.assertEqual(w.report(6.25), {"inFlight": 1, "completed": 2, "busyS": 4.25})  # the open one counts to now
        w.end()
        w.end()  # one too many: ignored
        self.assertEqual(w.report(9.0), {"inFlight": 0, "completed": 3, "busyS": 3.0})

    def test_streams_counts_per_loop_thread_add_up(self):
        clock = Clock()
        w = Work(clock)
        mine = w.stream_counts()
        self.assertIs(w.stream_counts(), mine)
        other = []
        t = threading.Thread(target=lambda: other.append(w.stream_counts()))
        t.start()
        t.join()
        self.assertIsNot(other[0], mine)
        w.enter()
        mine.n, other[0].n = 2, 1
        mine.done, other[0].done = 5, 7
        clock.t = 4.0
        self.assertEqual(w.report(4.0), {"inFlight": 3, "completed": 12, "busyS": 4.0})
        w.leave()
        w.leave()  # unbalanced: ignored
        self.assertEqual(w.report(10.0)["busyS"], 4.0)

    def test_idle_thread_counts_are_retired_without_losing_completions(self):
        w = Work()
        w.MAX_STREAM_THREADS = 4
        release = threading.Event()

        def loop_thread(i, registered):
            c = w.stream_counts()
            c.done += 10
            if i == 0:
                c.n = 1  # still busy: kept
            registered.set()
            release.wait(5)  # alive, so the next thread gets an ident of its own

        threads = []
        for i in range(12):
            registered = threading.Event()
            t = threading.Thread(target=loop_thread, args=(i, registered))
            t.start()
            threads.append(t)
            registered.wait(5)
        self.assertLessEqual(len(w.streams), 4)
        self.assertGreater(w.retired_done, 0)
        self.assertEqual(w.report(0.0)["completed"], 120)
        self.assertEqual(w.report(0.0)["inFlight"], 1)
        release.set()
        for t in threads:
            t.join()

    def test_threads_at_once(self):
        w = Work()
        t0 = time.perf_counter()

        def worker():
            for _ in range(50):
                w.begin()
                time.sleep(0.001)
                w.end()

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        wall = time.perf_counter() - t0
        r = w.report(time.perf_counter())
        self.assertEqual((r["inFlight"], r["completed"]), (0, 400))
        # Busy at least while one worker slept its 50 ms, never more than the wall time.
        self.assertGreaterEqual(r["busyS"], 0.05)
        self.assertLessEqual(r["busyS"], wall + 1e-6)


def settle(work, key, want, timeout_s=5.0):
    """work's key once it reads want (polled), or what it reads after timeout_s."""
    deadline = time.time() + timeout_s
    while True:
        got = (work.report(time.perf_counter()) or {}).get(key)
        if got == want or time.time() > deadline:
            return got
        time.sleep(0.01)


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    gate = None

    def do_GET(self):
        if self.path == "/slow":
            self.gate.wait(5)
        body = b"ok"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


class ThroughTheHooks(unittest.TestCase):
    def hooks(self):
        work = Work()
        hooks = WorkHooks(work, lambda: True)
        hooks.refresh()
        self.addCleanup(hooks.unhook)
        return work, hooks

    def test_http_server_requests_in_flight_and_completed(self):
        original = http.server.BaseHTTPRequestHandler.__dict__["handle_one_request"]
        work, hooks = self.hooks()
        self.assertIn("http.server", hooks.hooked)
        Handler.gate = threading.Event()
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.addCleanup(server.server_close)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        self.addCleanup(server.shutdown)
        url = "http://127.0.0.1:%d" % server.server_address[1]
        slow = [threading.Thread(target=urllib.request.urlopen, args=(url + "/slow",)) for _ in range(3)]
        for t in slow:
            t.start()
        self.assertEqual(settle(work, "inFlight", 3), 3)
        time.sleep(0.1)
        Handler.gate.set()
        for t in slow:
            t.join(5)
        for _ in range(4):
            self.assertEqual(urllib.request.urlopen(url + "/fast").read(), b"ok")
        # A request ends when its handler returns, just after the client has the response.
        settle(work, "completed", 7)
        r = work.report(time.perf_counter())
        self.assertEqual((r["inFlight"], r["completed"]), (0, 7))
        self.assertGreaterEqual(r["busyS"], 0.1)
        hooks.unhook()
        self.assertIs(http.server.BaseHTTPRequestHandler.__dict__["handle_one_request"], original)
        urllib.request.urlopen(url + "/fast").read()
        time.sleep(0.1)  # where a hooked handler would have ended its request
        self.assertEqual(work.report(time.perf_counter())["completed"], 7, "no counting once unhooked")

    def test_asyncio_streams_keep_alive_requests(self):
        import asyncio.streams  # noqa: F401  (the hook goes in once the module is imported)

        work, hooks = self.hooks()
        self.assertIn("asyncio.streams", hooks.hooked)
        seen = {}

        async def handle(reader, writer):
            while True:
                line = await reader.readline()
                if not line:
                    break
                seen["during"] = work.report(time.perf_counter())["inFlight"]
                await asyncio.sleep(0.05)
                writer.write(b"done " + line)
                await writer.drain()
            writer.close()

        async def main():
            server = await asyncio.start_server(handle, "127.0.0.1", 0)
            port = server.sockets[0].getsockname()[1]
            reader, writer = await asyncio.open_connection("127.0.0.1", port)  # a client: not counted
            for i in range(3):
                writer.write(b"r%d\n" % i)
                self.assertEqual(await reader.readline(), b"done r%d\n" % i)
            between = work.report(time.perf_counter())["inFlight"]
            writer.close()
            await asyncio.sleep(0.05)
            server.close()
            await server.wait_closed()
            return between

        between = asyncio.run(main())
        self.assertEqual(seen["during"], 1)
        self.assertEqual(between, 0, "a keep-alive wait is not a request in flight")
        r = work.report(time.perf_counter())
        self.assertEqual((r["inFlight"], r["completed"]), (0, 3))
        self.assertGreaterEqual(r["busyS"], 0.15 - 0.01)


if __name__ == "__main__":
    unittest.main()
