"""uvicorn (ASGI): the protocol creates a RequestResponseCycle per request and runs
cycle.run_asgi(app) as a task; it returns once the response is sent (or the app failed and uvicorn
answered 500). Keep-alive waits are not in it."""

from ..patching import Patches

TARGETS = ("uvicorn.protocols.http.h11_impl", "uvicorn.protocols.http.httptools_impl")

_patches = Patches()


def install(ctx, impl):
    def make(orig):
        async def run_asgi(self, app):
            counted = ctx.begin_request()
            try:
                return await orig(self, app)
            finally:
                ctx.end_request(counted)

        return run_asgi

    cycle = getattr(impl, "RequestResponseCycle", None)
    if isinstance(cycle, type):
        _patches.wrap(cycle, "run_asgi", make)


def uninstall():
    _patches.restore()
