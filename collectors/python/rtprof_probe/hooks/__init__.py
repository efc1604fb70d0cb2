"""HTTP server hooks that feed Work, one module per server kind, each with TARGETS (the modules it
hooks once they are imported), install(ctx, module) and uninstall().

What each covers, where the probe can see it cheaply:
- http_server: http.server / wsgiref (socketserver + BaseHTTPRequestHandler): one request from
  parse_request to the end of handle_one_request (or of finish_request, for wsgiref's handler);
  keep-alive waits are not work. Other socketserver servers: one unit per finish_request call.
- asyncio_streams: asyncio.start_server connections: busy from the data that arrives while idle
  until the handler waits for more (StreamReader._wait_for_data).
- uvicorn_asgi: uvicorn's h11 and httptools protocols: one request per RequestResponseCycle.run_asgi.
- gunicorn_wsgi: gunicorn's sync and gthread workers: one request per handle_request.
Not covered: servers with their own protocols/loops (hypercorn, aiohttp, gunicorn's gevent and
eventlet workers, waitress, twisted, tornado): Work sends nothing until a hook has seen a request, so a service we
cannot see is not reported as idle.
"""

import sys
import threading

from ..patching import imported
from . import asyncio_streams, gunicorn_wsgi, http_server, uvicorn_asgi

HOOKS = (http_server, asyncio_streams, uvicorn_asgi, gunicorn_wsgi)


class HookContext:
    """What a hook needs of the probe: the Work it feeds and active() (False once the probe stopped
    or in a forked child: the wrappers then only call through). One per probe; stream connections
    remember it, so those classified by an earlier probe in this process are classified again."""

    def __init__(self, work, active):
        self.work = work
        self.active = active
        self.local = threading.local()  # per-thread state of the threaded servers' hooks

    def begin_request(self):
        """Counts one request in; True when it did. The probe's failure never reaches the host's request."""
        try:
            if self.active():
                self.work.begin()
                return True
        except Exception:
            pass
        return False

    def end_request(self, counted):
        if counted:
            try:
                self.work.end()
            except Exception:
                pass


class WorkHooks:
    def __init__(self, work, active):
        self.ctx = HookContext(work, active)
        self.hooked = set()  # module names whose hook ran

    def refresh(self):
        """Installs the hooks of the modules imported since the last call."""
        for hook in HOOKS:
            for name in hook.TARGETS:
                if name not in self.hooked and imported(name):
                    self.hooked.add(name)
                    try:
                        hook.install(self.ctx, sys.modules[name])
                    except Exception:
                        # Another project's module (uvicorn, or a stdlib changed under us): a
                        # version we do not know leaves that server unhooked, the rest working.
                        pass

    def unhook(self):
        for hook in HOOKS:
            hook.uninstall()
        self.hooked.clear()
