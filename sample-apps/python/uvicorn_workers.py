#!/usr/bin/env python3
"""fastapi_app.py's service the way `uvicorn --workers N` runs it: a supervisor that binds the
listening socket and spawns WORKERS worker processes (default 2, multiprocessing "spawn", as
uvicorn does) that share it, each running the app on its own event loop. Debian's
python3-fastapi and python3-uvicorn, so run it with /usr/bin/python3.

Same config as the other apps (PORT, HOST, DOWNSTREAM_URL or --port/--host/--downstream), plus
WORKERS or --workers N. The supervisor is this process; it prints one line once the socket is bound
and the workers are started (a connection that arrives before a worker serves waits in the listen
backlog): READY pid=<supervisor pid> port=<port> runtime=cpython. SIGTERM/SIGINT: uvicorn's own
shutdown (each worker is terminated and joined). Without fastapi/uvicorn: one line, exit 2.
"""
import sys

try:
    import uvicorn
    from uvicorn.supervisors.multiprocess import Multiprocess
except ImportError as _err:
    sys.stderr.write("sample-apps/python/uvicorn_workers.py needs uvicorn (%s): "
                     "apt-get install python3-fastapi python3-uvicorn\n" % (_err,))
    sys.exit(2)

import sample_common as common


def workers():
    return common.worker_count("sample-apps/python/uvicorn_workers.py")


class Supervisor(Multiprocess):
    def startup(self):
        Multiprocess.startup(self)
        common.ready(self.sockets[0].getsockname()[1])


def main():
    cfg = common.config(3003)
    n = workers()
    # The same settings as fastapi_app.py's single process. The app is named by import string:
    # each spawned worker imports it itself (the spawn start method copies this sys.path).
    config = uvicorn.Config("fastapi_app:app", workers=n, loop="asyncio", ws="none", lifespan="off",
                            log_config=None, log_level="warning", access_log=False,
                            server_header=False, timeout_keep_alive=75)
    try:
        import fastapi_app  # noqa: F401 - fails here, once, with fastapi_app's own message if FastAPI is missing
        sock = fastapi_app.listen(cfg["host"], cfg["port"])
    except OSError as err:
        sys.stderr.write("sample-apps/python/uvicorn_workers.py: cannot listen on %s:%s: %s\n"
                         % (cfg["host"], cfg["port"], err))
        return 1
    Supervisor(config, target=uvicorn.Server(config).run, sockets=[sock]).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
