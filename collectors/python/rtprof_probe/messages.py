"""The probe's protocol messages (docs/PROTOCOL.md), encoded as NDJSON lines."""

import json
import os
import sys
import time

from .config import MAX_LINE_BYTES, PROBE_VERSION, PROTOCOL_VERSION


def encode(msg):
    return (json.dumps(msg, separators=(",", ":")) + "\n").encode("utf-8")


def hello(cfg, started_at_ms):
    v = sys.version_info
    return encode(
        {
            "v": PROTOCOL_VERSION,
            "type": "hello",
            "pid": os.getpid(),
            "token": cfg["token"],
            "runtime": "cpython",
            "runtimeVersion": "%d.%d.%d" % (v[0], v[1], v[2]),
            "probeVersion": PROBE_VERSION,
            "attach": cfg["attach"],
            "intervalMs": cfg["intervalMs"],
            "startedAt": started_at_ms,
        }
    )


def new_snapshot(cfg, seq):
    return {
        "v": PROTOCOL_VERSION,
        "type": "snapshot",
        "pid": os.getpid(),
        "seq": seq,
        "t": int(time.time() * 1000),
        "intervalMs": cfg["intervalMs"],
    }


def encode_snapshot(snap, channel, max_line_bytes=MAX_LINE_BYTES):
    """The snapshot's line, under the line limit: the GC pauses beyond it are left out (counted as
    dropped; they survive only in gcTotals)."""
    snap["dropped"] = channel.dropped
    line = encode(snap)
    while len(line) > max_line_bytes and snap.get("gc"):
        cut = max(1, len(snap["gc"]) // 4)
        del snap["gc"][-cut:]
        channel.dropped += cut
        snap["dropped"] = channel.dropped
        line = encode(snap)
    return line


def is_bye(line):
    """Whether an agent's line is a bye (anything unreadable is ignored)."""
    try:
        msg = json.loads(line.decode("utf-8"))
    except (ValueError, RecursionError):  # not UTF-8, not JSON, or nested deeper than json parses
        return False
    return isinstance(msg, dict) and msg.get("type") == "bye"
