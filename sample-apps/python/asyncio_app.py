#!/usr/bin/env python3
"""The Python sample service on stdlib asyncio: asyncio.start_server, a minimal HTTP/1.1 parser
with keep-alive (and pipelining), downstream calls over pooled keep-alive connections opened with
asyncio.open_connection. Same endpoints and response shapes as node/server.js:

  GET /json  /io?ms=N  /cpu?ms=N  /mixed?cpu_ms=C&io_ms=I  /healthz

PORT (default 3001; 0 = free port), HOST (default 127.0.0.1), DOWNSTREAM_URL (default
http://127.0.0.1:3999), or --port/--host/--downstream. Prints one line when ready:
READY pid=<pid> port=<port> runtime=cpython. SIGTERM/SIGINT: close and exit 0. CPython 3.8+.
"""
import asyncio
import signal
import sys
import time

import sample_common as common

CFG = common.config(3001)
IDLE_TIMEOUT_S = 75.0
MAX_HEADER_BYTES = 64 * 1024
MAX_POOLED = 256
SHUTDOWN_GRACE_S = 3.0

REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 411: "Length Required", 413: "Payload Too Large",
           500: "Internal Server Error", 501: "Not Implemented", 502: "Bad Gateway"}


class DownstreamPool:
    """Idle keep-alive connections to the downstream, reused LIFO; one is opened per concurrent call."""

    def __init__(self, host, port):
        self.host = host
        self.port = port
        self.idle = []

    async def _once(self, path, conn):
        reader, writer = conn
        writer.write(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nConnection: keep-alive\r\n\r\n"
                      % (path, self.host, self.port)).encode("latin-1"))
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        lines = head.decode("latin-1").split("\r\n")
        status = int(lines[0].split(" ", 2)[1])
        length = 0
        keep = True
        for line in lines[1:]:
            name, _, value = line.partition(":")
            name = name.strip().lower()
            if name == "content-length":
                length = int(value.strip())
            elif name == "connection" and value.strip().lower() == "close":
                keep = False
        body = await reader.readexactly(length) if length else b""
        return status, body, keep

    async def get(self, path):
        reused = bool(self.idle)
        conn = self.idle.pop() if reused else await asyncio.open_connection(self.host, self.port)
        try:
            status, body, keep = await self._once(path, conn)
        except (ConnectionError, asyncio.IncompleteReadError) as err:
            conn[1].close()
            if not reused:
                raise
            # A pooled connection the downstream had closed: retry once on a fresh one.
            conn = await asyncio.open_connection(self.host, self.port)
            status, body, keep = await self._once(path, conn)
        except BaseException:
            conn[1].close()
            raise
        if keep and len(self.idle) < MAX_POOLED:
            self.idle.append(conn)
        else:
            conn[1].close()
        return status, body

    def close(self):
        for _, writer in self.idle:
            writer.close()
        self.idle = []


POOL = DownstreamPool(CFG["downstream_host"], CFG["downstream_port"])


async def downstream_delay(ms):
    try:
        status, _ = await POOL.get("/delay?ms=%d" % ms)
    except (OSError, asyncio.IncompleteReadError, ValueError) as err:
        raise common.HttpError(502, "downstream: %s" % (err,))
    if status != 200:
        raise common.HttpError(502, "downstream: downstream answered %d" % status)


async def route(method, target):
    """Returns (status, body bytes)."""
    path, query = common.parse_target(target)
    if method != "GET":
        raise common.HttpError(404, "not found")
    if path == "/json":
        return 200, common.json_round_trip()
    if path == "/io":
        ms = common.ms_param(query, "ms", 50)
        t0 = time.perf_counter()
        await downstream_delay(ms)
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
        await downstream_delay(io_ms)
        return 200, common.work_result("mixed", cpu_ms, io_ms, iterations, t0)
    if path == "/healthz":
        return 200, common.health()
    raise common.HttpError(404, "not found")


def response(status, body, keep_alive):
    if not isinstance(body, bytes):
        body = common.dumps(body).encode("utf-8")
    head = ("HTTP/1.1 %d %s\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: %d\r\n"
            "Connection: %s\r\n\r\n" % (status, REASONS.get(status, "Unknown"), len(body),
                                        "keep-alive" if keep_alive else "close"))
    return head.encode("latin-1") + body


CONNECTIONS = {}  # writer -> True while a request on it is being handled
STOPPING = []


async def handle_connection(reader, writer):
    CONNECTIONS[writer] = False
    try:
        while not STOPPING:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), IDLE_TIMEOUT_S)
            except (asyncio.IncompleteReadError, asyncio.TimeoutError, ConnectionError):
                return
            except asyncio.LimitOverrunError:
                writer.write(response(413, {"error": "request head too large"}, False))
                return
            try:
                lines = head.decode("latin-1").split("\r\n")
                method, target, version = lines[0].split(" ")
            except ValueError:
                writer.write(response(400, {"error": "bad request line"}, False))
                return
            headers = {}
            for line in lines[1:]:
                if line:
                    name, _, value = line.partition(":")
                    headers[name.strip().lower()] = value.strip()
            conn_hdr = headers.get("connection", "").lower()
            if version == "HTTP/1.1":
                keep_alive = "close" not in conn_hdr
            else:
                keep_alive = "keep-alive" in conn_hdr
            if "transfer-encoding" in headers:
                writer.write(response(501, {"error": "chunked request bodies are not supported"}, False))
                return
            length = headers.get("content-length", "0")
            if not length.isdigit():
                writer.write(response(400, {"error": "bad content-length"}, False))
                return
            CONNECTIONS[writer] = True
            if int(length):
                await reader.readexactly(int(length))  # request bodies are ignored
            try:
                status, body = await route(method, target)
            except common.HttpError as err:
                status, body = err.status, {"error": err.message}
            except Exception as err:  # never let one request kill the connection handler silently
                status, body = 500, {"error": str(err)}
            keep_alive = keep_alive and not STOPPING
            writer.write(response(status, body, keep_alive))
            await writer.drain()
            CONNECTIONS[writer] = False
            if not keep_alive:
                return
    except (ConnectionError, asyncio.IncompleteReadError):
        pass
    except asyncio.CancelledError:
        pass  # shutdown after the grace period: the connection just closes
    finally:
        CONNECTIONS.pop(writer, None)
        writer.close()


async def main():
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    server = await asyncio.start_server(handle_connection, CFG["host"], CFG["port"], limit=MAX_HEADER_BYTES,
                                        reuse_address=True)
    common.ready(server.sockets[0].getsockname()[1])
    await stop.wait()
    # Stop accepting, close idle keep-alive connections, give in-flight requests up to
    # SHUTDOWN_GRACE_S to finish (as the Node app does), then close the rest.
    STOPPING.append(True)
    server.close()
    deadline = loop.time() + SHUTDOWN_GRACE_S
    while True:
        for writer, busy in list(CONNECTIONS.items()):
            if not busy:
                writer.close()
        if not any(CONNECTIONS.values()) or loop.time() >= deadline:
            break
        await asyncio.sleep(0.02)
    for writer in list(CONNECTIONS):
        writer.close()
    POOL.close()
    try:
        await asyncio.wait_for(server.wait_closed(), 2.0)
    except asyncio.TimeoutError:
        pass


if __name__ == "__main__":
    try:
        asyncio.run(main())
    except OSError as err:
        sys.stderr.write("sample-apps/python/asyncio_app.py: cannot listen on %s:%s: %s\n"
                         % (CFG["host"], CFG["port"], err))
        sys.exit(1)
    sys.exit(0)
