"""The link to the agent: a non-blocking unix socket carrying NDJSON lines, a bounded queue that
drops the oldest line when the agent does not keep up, and reconnects with exponential backoff.
Only the probe thread touches it; it never blocks."""

import errno
import socket

from .config import BACKOFF_MAX_S, BACKOFF_MIN_S, BACKOFF_RESET_AFTER_S, MAX_LINE_BYTES, MAX_QUEUED_LINES

_WOULD_BLOCK = (errno.EAGAIN, errno.EWOULDBLOCK)


class Channel:
    def __init__(self, max_line_bytes=MAX_LINE_BYTES, max_queued=MAX_QUEUED_LINES):
        self.max_line_bytes = max_line_bytes
        self.max_queued = max_queued
        self.sock = None
        self.queue = []
        self.out = b""  # the line being written
        self.inbuf = b""
        self.dropped = 0
        self.backoff = BACKOFF_MIN_S
        self.next_attempt = 0.0
        self.connected_at = None

    def reset_backoff(self):
        self.backoff = BACKOFF_MIN_S
        self.next_attempt = 0.0

    def _back_off(self, now):
        self.next_attempt = now + self.backoff
        self.backoff = min(BACKOFF_MAX_S, self.backoff * 2)

    def connect(self, path, now):
        """One non-blocking attempt (none before the backoff allows); True when connected."""
        if self.sock is not None or now < self.next_attempt:
            return False
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            s.setblocking(False)
            s.connect(path)
        except OSError:
            s.close()
            self._back_off(now)
            return False
        self.sock = s
        self.connected_at = now
        self.out = b""
        self.inbuf = b""
        return True

    def forget_after_fork(self):
        """In a forked child: let go of the parent's connection. Closing our copy of the fd (never
        shutdown()) leaves the parent's connection as it was; the child holds nothing of it."""
        s, self.sock = self.sock, None
        self.queue = []
        self.out = b""
        if s is not None:
            try:
                s.close()
            except OSError:
                pass

    def close(self, now, retry=True):
        s, self.sock = self.sock, None
        if s is not None:
            try:
                s.close()
            except OSError:
                pass
        if retry:
            # A connection that died young (e.g. the agent refused our hello) does not reset backoff.
            if self.connected_at is not None and now - self.connected_at >= BACKOFF_RESET_AFTER_S:
                self.backoff = BACKOFF_MIN_S
            self._back_off(now)
        self.connected_at = None
        self.out = b""

    def push(self, line, first=False):
        """Queues one encoded line (first: ahead of the rest, as the hello is). Beyond the bound the
        oldest queued line goes (never the first one pushed with first=True); each loss counts in
        dropped, as does a line longer than the limit."""
        if len(line) > self.max_line_bytes:
            self.dropped += 1
            return
        if first:
            self.queue.insert(0, line)
        else:
            self.queue.append(line)
        while len(self.queue) > self.max_queued:
            self.queue.pop(1 if first else 0)
            self.dropped += 1

    def wants_write(self):
        return self.sock is not None and bool(self.out or self.queue)

    def flush(self, now):
        """Writes what the socket takes without blocking; False when the connection broke."""
        while self.sock is not None:
            if not self.out:
                if not self.queue:
                    return True
                self.out = self.queue.pop(0)
            try:
                n = self.sock.send(self.out)
            except OSError as e:
                return e.errno in _WOULD_BLOCK
            self.out = self.out[n:]
        return True

    def read_lines(self):
        """Complete lines the agent sent (without their newline); None when the connection is closed.
        A partial line longer than the limit is thrown away."""
        try:
            data = self.sock.recv(65536)
        except OSError as e:
            return [] if e.errno in _WOULD_BLOCK else None
        if not data:
            return None
        buf = self.inbuf + data
        lines = buf.split(b"\n")
        self.inbuf = lines.pop()
        if len(self.inbuf) > self.max_line_bytes:
            self.inbuf = b""
        return lines
