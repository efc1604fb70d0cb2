"""gunicorn's sync and gthread workers: handle_request runs one WSGI request, from the parsed
request to the response sent, in the thread that serves it (the worker's main thread for sync,
a pool thread for gthread). Waiting for the next connection is not in it."""

from ..patching import Patches

TARGETS = ("gunicorn.workers.sync", "gunicorn.workers.gthread")

_patches = Patches()


def install(ctx, module):
    work = ctx.work
    active = ctx.active

    def make(orig):
        # Each guard below keeps the probe's failure out of the host's request.
        def handle_request(self, *args, **kwargs):
            counted = False
            try:
                if active():
                    work.begin()
                    counted = True
            except Exception:
                pass
            try:
                return orig(self, *args, **kwargs)
            finally:
                if counted:
                    try:
                        work.end()
                    except Exception:
                        pass

        return handle_request

    for name in ("SyncWorker", "ThreadWorker"):
        cls = getattr(module, name, None)
        if isinstance(cls, type) and "handle_request" in vars(cls):
            _patches.wrap(cls, "handle_request", make)


def uninstall():
    _patches.restore()
