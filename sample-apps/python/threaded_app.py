#!/usr/bin/env python3
"""The Python sample service on http.server.ThreadingHTTPServer (a thread per connection, HTTP/1.1
keep-alive), downstream calls through a shared pool of keep-alive http.client connections. Same
endpoints and response shapes as node/server.js:

  GET /json  /io?ms=N  /cpu?ms=N  /mixed?cpu_ms=C&io_ms=I  /healthz

PORT (default 3002; 0 = free port), HOST (default 127.0.0.1), DOWNSTREAM_URL (default
http://127.0.0.1:3999), or --port/--host/--downstream. Prints one line when ready:
READY pid=<pid> port=<port> runtime=cpython. SIGTERM/SIGINT: shut down and exit 0. CPython 3.8+.
"""
import http.client
import signal
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import sample_common as common

CFG = common.config(3002)
MAX_POOLED = 256
SHUTDOWN_GRACE_S = 3.0
INFLIGHT = [0]
INFLIGHT_LOCK = threading.Lock()


class DownstreamPool:
    """Idle keep-alive http.client connections shared by all handler threads."""

    def __init__(self, host, port):
        self.host = host
        self.port = port
        self.idle = []
        self.lock = threading.Lock()

    def _once(self, conn, path):
        conn.request("GET", path)
        resp = conn.getresponse()
        resp.read()
        return resp.status, resp.will_close

    def get(self, path):
        with self.lock:
            conn = self.idle.pop() if self.idle else None
        reused = conn is not None
        if conn is None:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
        try:
            status, will_close = self._once(conn, path)
        except (http.client.RemoteDisconnected, ConnectionError, http.client.BadStatusLine):
            conn.close()
            if not reused:
                raise
            # A pooled connection the downstream had closed: retry once on a fresh one.
            conn = http.client.HTTPConnection(self.host, self.port, timeout=120)
            status, will_close = self._once(conn, path)
        except BaseException:
            conn.close()
            raise
        if will_close:
            conn.close()
        else:
            with self.lock:
                if len(self.idle) < MAX_POOLED:
                    self.idle.append(conn)
                    conn = None
            if conn is not None:
                conn.close()
        return status

    def close(self):
        with self.lock:
            idle, self.idle = self.idle, []
        for conn in idle:
            conn.close()


POOL = DownstreamPool(CFG["downstream_host"], CFG["downstream_port"])


def downstream_delay(ms):
    try:
        status = POOL.get("/delay?ms=%d" % ms)
    except (OSError, http.client.HTTPException) as err:
        raise common.HttpError(502, "downstream: %s" % (err,))
    if status != 200:
        raise common.HttpError(502, "downstream: downstream answered %d" % status)


def route(path, query):
    if path == "/json":
        return 200, common.json_round_trip()
    if path == "/io":
        ms = common.ms_param(query, "ms", 50)
        t0 = time.perf_counter()
        downstream_delay(ms)
        return 200, common.work_result("io", 0, ms, 0, t0)
    if path == "/cpu":
        ms = common.ms_param(query, "ms", 10)
        t0 = time.perf_counter()
        iterations = common.burn(ms)
        return 200, common.work_result("cpu", ms, 0, iterations, t0)
    if path == "/mixed":
        cpu_ms = common.ms_param(query, "cpu_ms", 10)
        io_ms = common.ms_param(query, "io_ms", 50)
        t0 = time.perf_counter()
        iterations = common.burn(cpu_ms)
        downstream_delay(io_ms)
        return 200, common.work_result("mixed", cpu_ms, io_ms, iterations, t0)
    if path == "/healthz":
        return 200, common.health()
    raise common.HttpError(404, "not found")


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive
    server_version = "rtprof-sample"
    sys_version = ""
    # Headers and body go out in two writes: without TCP_NODELAY, Nagle + the client's delayed ACK
    # add ~40 ms to every keep-alive response.
    disable_nagle_algorithm = True

    def _send(self, status, body):
        if not isinstance(body, bytes):
            body = common.dumps(body).encode("utf-8")
        self.send_response(status)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drain_body(self):
        length = self.headers.get("Content-Length")
        if length and length.isdigit() and int(length):
            self.rfile.read(int(length))

    def do_GET(self):
        with INFLIGHT_LOCK:
            INFLIGHT[0] += 1
        try:
            self._drain_body()
            try:
                status, body = route(*common.parse_target(self.path))
            except common.HttpError as err:
                status, body = err.status, {"error": err.message}
            except Exception as err:
                status, body = 500, {"error": str(err)}
            self._send(status, body)
        finally:
            with INFLIGHT_LOCK:
                INFLIGHT[0] -= 1

    def _not_found(self):
        self._drain_body()
        self._send(404, {"error": "not found"})

    do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = _not_found

    def log_message(self, format, *args):  # no access log
        pass


class Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 1024

    def handle_error(self, request, client_address):
        # A client that went away mid-response (load generators do at the end of a run) is not an
        # error worth a traceback; anything else still gets the default report on stderr.
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        ThreadingHTTPServer.handle_error(self, request, client_address)


def main():
    try:
        server = Server((CFG["host"], CFG["port"]), Handler)
    except OSError as err:
        sys.stderr.write("sample-apps/python/threaded_app.py: cannot listen on %s:%s: %s\n"
                         % (CFG["host"], CFG["port"], err))
        return 1
    stopping = []

    def on_signal(signum, frame):
        if not stopping:
            stopping.append(signum)
            # shutdown() waits for serve_forever() to return: call it off the main thread.
            threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    common.ready(server.server_address[1])
    server.serve_forever(poll_interval=0.5)
    server.server_close()
    # In-flight requests get up to SHUTDOWN_GRACE_S to finish (as in the Node app); idle
    # keep-alive connections are daemon threads and end with the process.
    deadline = time.monotonic() + SHUTDOWN_GRACE_S
    while INFLIGHT[0] > 0 and time.monotonic() < deadline:
        time.sleep(0.02)
    POOL.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
