"""asyncio streams servers (asyncio.start_server): a connection is busy from the data that arrives
while it was idle until its handler waits for more data (StreamReader._wait_for_data), or until
the connection goes. Wrappers run on the host's loop thread and always call through; each probe
step in them is guarded so a probe failure never reaches the host's protocol."""

from ..patching import Patches

TARGETS = ("asyncio.streams",)

_patches = Patches()


class Conn:
    """What the probe knows of one StreamReader (stored on it as _rtprof_conn): which probe's hooks
    classified it (owner), the counts of its loop thread (None: not a server connection, ignored),
    and whether a request is in flight on it."""

    __slots__ = ("owner", "counts", "busy")

    def __init__(self, owner, counts):
        self.owner = owner
        self.counts = counts
        self.busy = False


def install(ctx, streams):
    # Per request on the loop thread, so the least work we can: no lock, no clock, no dict.
    # StreamReader.feed_data (the protocol's data_received) starts a request on a connection
    # that was idle; StreamReader._wait_for_data (the handler waits for more) ends it. The
    # state of a reader is one Conn object in one attribute: a new attribute in the same
    # place on every reader keeps the instances' shared-key dicts (reading reader.__dict__
    # would materialize a dict per reader and slow every attribute access of asyncio's own
    # code on it). Its loop thread's counts are only touched by that thread; the thread's
    # first request after idle, and its last, enter/leave the shared busy time (rare under
    # load). A reader is classified once, at its first data: a server connection
    # (asyncio.start_server's protocol, with a client_connected_cb) or not (ignored).
    work = ctx.work
    active = ctx.active
    owner = ctx

    def classify(reader):
        tr = reader._transport
        if tr is None:
            return None
        counts = None
        if active():
            proto = tr.get_protocol()
            if getattr(proto, "_client_connected_cb", None) is not None and getattr(proto, "_stream_reader", None) is reader:
                counts = work.stream_counts()
        c = reader._rtprof_conn = Conn(owner, counts)
        return c

    def make_feed(orig):
        def feed_data(self, data):
            try:
                try:
                    c = self._rtprof_conn
                except AttributeError:
                    c = None
                if c is None or c.owner is not owner:
                    c = classify(self)
                if c is not None and not c.busy:
                    counts = c.counts
                    if counts is not None:
                        c.busy = True
                        n = counts.n
                        if n == 0:
                            work.enter()
                        counts.n = n + 1
            except Exception:
                pass
            return orig(self, data)

        return feed_data

    def end(c):
        # The request in flight on this connection, if any, is done (the handler waits for
        # the next one, or the connection went).
        if c is not None and c.busy and c.owner is owner:
            c.busy = False
            counts = c.counts
            n = counts.n - 1
            counts.n = n
            counts.done += 1
            if n == 0:
                work.leave()

    def make_wait(orig):
        # Not async on purpose: it returns the original coroutine, so no extra frame per await.
        def _wait_for_data(self, func_name):
            try:
                end(self._rtprof_conn)
            except Exception:
                pass
            return orig(self, func_name)

        return _wait_for_data

    def make_lost(orig):
        # Once per connection: a request still in flight when the connection goes ends here.
        def connection_lost(self, exc):
            try:
                end(getattr(self._stream_reader, "_rtprof_conn", None))
            except Exception:
                pass
            return orig(self, exc)

        return connection_lost

    _patches.wrap(streams.StreamReader, "feed_data", make_feed)
    _patches.wrap(streams.StreamReader, "_wait_for_data", make_wait)
    _patches.wrap(streams.StreamReaderProtocol, "connection_lost", make_lost)


def uninstall():
    _patches.restore()
