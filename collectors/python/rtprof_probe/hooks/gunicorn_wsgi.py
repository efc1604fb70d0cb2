"""gunicorn's sync and gthread workers: handle_request runs one WSGI request, from the parsed
request to the response sent, in the thread that serves it (the worker's main thread for sync,
a pool thread for gthread). Waiting for the next connection is not in it."""

from ..patching import Patches

TARGETS = ("gunicorn.workers.sync", "gunicorn.workers.gthread")

_patches = Patches()


def install(ctx, module):
    def make(orig):
        def handle_request(self, *args, **kwargs):
            counted = ctx.begin_request()
            try:
                return orig(self, *args, **kwargs)
            finally:
                ctx.end_request(counted)

        return handle_request

    for name in ("SyncWorker", "ThreadWorker"):
        cls = getattr(module, name, None)
        if isinstance(cls, type) and "handle_request" in vars(cls):
            _patches.wrap(cls, "handle_request", make)


def uninstall():
    _patches.restore()
