"""Threaded servers: http.server / wsgiref (socketserver + BaseHTTPRequestHandler) count one request
from parse_request (the request line has arrived) to the end of handle_one_request, or of
finish_request for wsgiref's handler, which does not use handle_one_request; other socketserver
servers count one unit per finish_request call. Every wrapper runs in the host's request thread and
always calls through: each probe step in it is guarded so a probe failure never reaches a request."""

import sys

from ..patching import Patches

TARGETS = ("socketserver", "http.server")

_patches = Patches()


def _begin_http(ctx):
    local = ctx.local
    # Only inside a hooked handle_one_request / finish_request (scopes > 0): a keep-alive
    # connection whose thread sat in the original handle_one_request when the hooks went in
    # would never reach our end, and its request would stay in flight for good. Such a request
    # is not counted; the connection's next one is.
    if not getattr(local, "open", False) and getattr(local, "scopes", 0) > 0:
        local.open = True
        ctx.work.begin()


def _scope(ctx, delta):
    local = ctx.local
    local.scopes = getattr(local, "scopes", 0) + delta


def _end_http(ctx):
    local = ctx.local
    if getattr(local, "open", False):
        local.open = False
        ctx.work.end()


def _is_http(server):
    http = sys.modules.get("http.server")
    cls = getattr(server, "RequestHandlerClass", None)
    try:
        return http is not None and issubclass(cls, http.BaseHTTPRequestHandler)
    except TypeError:
        return False


def _install_socketserver(ctx, socketserver):
    active = ctx.active

    def make(orig):
        def finish_request(self, request, client_address):
            if not active():
                return orig(self, request, client_address)
            scoped = False
            try:
                http = _is_http(self)
                if http:
                    _scope(ctx, 1)
                    scoped = True
                else:
                    ctx.work.begin()
            except Exception:
                http = True  # unsure: only our thread's own open request may be ended
            try:
                return orig(self, request, client_address)
            finally:
                try:
                    if scoped:
                        _scope(ctx, -1)
                    if http:
                        _end_http(ctx)  # a request the handler left open (wsgiref)
                    else:
                        ctx.work.end()
                except Exception:
                    pass

        return finish_request

    _patches.wrap(socketserver.BaseServer, "finish_request", make)


def _install_http_server(ctx, http_server):
    active = ctx.active

    def make_parse(orig):
        def parse_request(self):
            try:
                if active():
                    _begin_http(ctx)
            except Exception:
                pass
            return orig(self)

        return parse_request

    def make_one(orig):
        def handle_one_request(self):
            scoped = False
            try:
                _scope(ctx, 1)
                scoped = True
            except Exception:
                pass
            try:
                return orig(self)
            finally:
                try:
                    if scoped:
                        _scope(ctx, -1)
                    _end_http(ctx)
                except Exception:
                    pass

        return handle_one_request

    cls = http_server.BaseHTTPRequestHandler
    _patches.wrap(cls, "parse_request", make_parse)
    _patches.wrap(cls, "handle_one_request", make_one)


def install(ctx, module):
    if module.__name__ == "socketserver":
        _install_socketserver(ctx, module)
    else:
        _install_http_server(ctx, module)


def uninstall():
    _patches.restore()
