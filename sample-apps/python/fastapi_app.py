#!/usr/bin/env python3
"""The Python sample service on FastAPI + uvicorn (Debian's python3-fastapi and python3-uvicorn;
the h11 backend, or httptools when that is installed). Every handler is `async def`, so /cpu and
/json run on the event loop thread as in asyncio_app.py; downstream calls reuse asyncio_app.py's
pool of keep-alive asyncio.open_connection streams. Same endpoints and response shapes as
node/server.js:

  GET /json  /io?ms=N  /cpu?ms=N  /mixed?cpu_ms=C&io_ms=I  /healthz

PORT (default 3003; 0 = free port), HOST (default 127.0.0.1), DOWNSTREAM_URL (default
http://127.0.0.1:3999), or --port/--host/--downstream. The listening socket is bound here and
handed to uvicorn, so the port is known before the one line this prints when ready:
READY pid=<pid> port=<port> runtime=cpython. uvicorn's own logging is off (warnings and errors
go to stderr). SIGTERM/SIGINT: stop accepting, close idle connections, give in-flight requests
up to 3 s, exit 0. Without fastapi/uvicorn: one line on stderr, exit 2.
"""
import asyncio
import logging
import signal
import socket
import sys
import time
from urllib.parse import parse_qs

try:
    import fastapi
    import uvicorn
    from starlette.exceptions import HTTPException as StarletteHTTPException
except ImportError as _err:
    sys.stderr.write("sample-apps/python/fastapi_app.py needs FastAPI and uvicorn (%s): "
                     "apt-get install python3-fastapi python3-uvicorn\n" % (_err,))
    sys.exit(2)

import sample_common as common
# The same pooled keep-alive downstream client and /io call (asyncio_app's server only runs as
# __main__; its pool is built from the same DOWNSTREAM_URL / --downstream config).
from asyncio_app import POOL, downstream_delay

CFG = common.config(3003)
IDLE_TIMEOUT_S = 75  # keep-alive idle timeout, as asyncio_app.py (uvicorn's default is 5 s)
SHUTDOWN_GRACE_S = 3.0
JSON_TYPE = "application/json; charset=utf-8"

def reply(body, status=200):
    if not isinstance(body, bytes):
        body = common.dumps(body).encode("utf-8")
    return fastapi.Response(content=body, status_code=status, media_type=JSON_TYPE)


def query(request):
    # Raw query string, parsed as asyncio_app.py parses it (common.ms_param takes parse_qs lists).
    return parse_qs(request.scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)


app = fastapi.FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
app.router.redirect_slashes = False  # /json/ is a 404 here as in the other apps, not a redirect


@app.exception_handler(common.HttpError)
async def http_error(_request, err):
    return reply({"error": err.message}, err.status)


@app.exception_handler(StarletteHTTPException)
async def not_found(_request, _err):
    # Unknown path (404) and a method other than GET (405 in FastAPI): 404 in all the apps.
    return reply({"error": "not found"}, 404)


@app.exception_handler(Exception)
async def internal_error(_request, err):
    return reply({"error": str(err)}, 500)


@app.get("/json")
async def json_endpoint():
    return reply(common.json_round_trip())


@app.get("/io")
async def io_endpoint(request: fastapi.Request):
    ms = common.ms_param(query(request), "ms", 50)
    t0 = time.perf_counter()
    await downstream_delay(ms)
    return reply(common.work_result("io", 0, ms, 0, t0))


@app.get("/cpu")
async def cpu_endpoint(request: fastapi.Request):
    ms = common.ms_param(query(request), "ms", 10)
    t0 = time.perf_counter()
    iterations = common.burn(ms)  # on the loop thread, holding the GIL
    return reply(common.work_result("cpu", ms, 0, iterations, t0))


@app.get("/mixed")
async def mixed_endpoint(request: fastapi.Request):
    q = query(request)
    cpu_ms = common.ms_param(q, "cpu_ms", 10)
    io_ms = common.ms_param(q, "io_ms", 50)
    t0 = time.perf_counter()
    iterations = common.burn(cpu_ms)
    await downstream_delay(io_ms)
    return reply(common.work_result("mixed", cpu_ms, io_ms, iterations, t0))


@app.get("/healthz")
async def healthz():
    return reply(common.health())


class Server(uvicorn.Server):
    """uvicorn's Server with READY printed once it serves, and our own signal handling."""

    def __init__(self, config, port):
        uvicorn.Server.__init__(self, config)
        self.port = port

    def install_signal_handlers(self):
        pass  # main() installs them: uvicorn 0.17 would wait for in-flight requests without a limit

    async def startup(self, sockets=None):
        await uvicorn.Server.startup(self, sockets=sockets)
        if not self.should_exit:
            common.ready(self.port)


def listen(host, port):
    family, kind, proto, _, addr = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE)[0]
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(addr)
        sock.listen(2048)
        sock.setblocking(False)
    except BaseException:
        sock.close()
        raise
    return sock


async def main(sock):
    config = uvicorn.Config(app, loop="asyncio", ws="none", lifespan="off", log_config=None,
                            log_level="warning", access_log=False, server_header=False,
                            timeout_keep_alive=IDLE_TIMEOUT_S)
    server = Server(config, sock.getsockname()[1])
    loop = asyncio.get_running_loop()
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))

    def force():
        server.force_exit = True  # stop waiting for in-flight requests
        loop.call_later(0.5, serving.cancel)  # last resort if uvicorn still waits on something

    def stop():
        if not server.should_exit:
            server.should_exit = True  # uvicorn: stop accepting, close idle keep-alive connections
            loop.call_later(SHUTDOWN_GRACE_S, force)

    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop)
    try:
        await serving
    except asyncio.CancelledError:
        pass
    if server.force_exit:
        # Past the grace period: the remaining connections just close (as in asyncio_app.py);
        # their cancelled requests are not errors worth a traceback.
        logging.getLogger("uvicorn.error").disabled = True
        for conn in list(server.server_state.connections):
            conn.transport.close()
    POOL.close()


if __name__ == "__main__":
    try:
        listener = listen(CFG["host"], CFG["port"])
    except OSError as err:
        sys.stderr.write("sample-apps/python/fastapi_app.py: cannot listen on %s:%s: %s\n"
                         % (CFG["host"], CFG["port"], err))
        sys.exit(1)
    asyncio.run(main(listener))
    sys.exit(0)
