#!/usr/bin/env python3
"""The Python sample service as a WSGI app on gunicorn's sync workers (Debian's `gunicorn`): a
master that forks WORKERS workers (default 2) sharing one listening socket, each serving one
request at a time. The routes are threaded_app.py's (same code, same downstream pool), so the
answers are the same as every other app's.

Same config as the other apps (PORT, HOST, DOWNSTREAM_URL or --port/--host/--downstream), plus
WORKERS or --workers N. gunicorn runs in this process, so the master's pid is this script's; it
prints one line once the socket is bound and the workers are being forked (a connection that
arrives before a worker is up waits in the listen backlog):
READY pid=<master pid> port=<port> runtime=cpython. SIGTERM: gunicorn's graceful stop (in-flight
requests get up to 3 s), exit 0. Sync workers close every connection after its response (no
keep-alive): that is how gunicorn's sync worker works. Without gunicorn: one line on stderr, exit 2.
"""
import sys
from urllib.parse import parse_qs

try:
    from gunicorn.app.base import BaseApplication
except ImportError as _err:
    sys.stderr.write("sample-apps/python/gunicorn_app.py needs gunicorn (%s): apt-get install gunicorn\n" % (_err,))
    sys.exit(2)

import sample_common as common
import threaded_app

CFG = threaded_app.CFG
SHUTDOWN_GRACE_S = 3
JSON_HEADERS = [("Content-Type", "application/json; charset=utf-8")]
REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 500: "Internal Server Error", 502: "Bad Gateway"}


def app(environ, start_response):
    """WSGI entry: threaded_app.route() on the request, its errors mapped as the other apps map them."""
    if environ.get("REQUEST_METHOD") != "GET":
        status, body = 404, {"error": "not found"}
    else:
        try:
            status, body = threaded_app.route(environ.get("PATH_INFO", ""),
                                              parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True))
        except common.HttpError as err:
            status, body = err.status, {"error": err.message}
        except Exception as err:
            status, body = 500, {"error": str(err)}
    if not isinstance(body, bytes):
        body = common.dumps(body).encode("utf-8")
    start_response("%d %s" % (status, REASONS.get(status, "")),
                   JSON_HEADERS + [("Content-Length", str(len(body)))])
    return [body]


def workers():
    return common.worker_count("sample-apps/python/gunicorn_app.py")


def when_ready(server):
    # Port 0: the bound port is known only once gunicorn created the listener.
    common.ready(server.LISTENERS[0].getsockname()[1])


class Gunicorn(BaseApplication):
    def __init__(self, n):
        self.n = n
        BaseApplication.__init__(self)

    def load_config(self):
        host = CFG["host"]
        bind = "[%s]:%d" % (host, CFG["port"]) if ":" in host else "%s:%d" % (host, CFG["port"])
        for key, value in (("bind", [bind]), ("workers", self.n), ("worker_class", "sync"),
                           ("graceful_timeout", SHUTDOWN_GRACE_S), ("backlog", 2048),
                           ("accesslog", None), ("loglevel", "warning"), ("when_ready", when_ready)):
            self.cfg.set(key, value)

    def load(self):
        return app


if __name__ == "__main__":
    n = workers()
    sys.argv = sys.argv[:1]  # gunicorn parses no command line here: the config above is all of it
    Gunicorn(n).run()
