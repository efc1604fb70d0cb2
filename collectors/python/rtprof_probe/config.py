"""The probe's limits and timings, and the config it runs with (from start()'s dict or the environment)."""

import os

PROBE_VERSION = "0.1.0"
PROTOCOL_VERSION = 1
MAX_LINE_BYTES = 64 * 1024
MAX_QUEUED_LINES = 64
MAX_GC_EVENTS = 1000
# The probe thread wakes (and takes the GIL) every tick, for the interpreter delay and to poke each
# asyncio loop; each wake costs the service CPU (docs/BENCHMARKS.md: fewer wakes cost less).
# A loop blocked 100 ms is first poked up to one tick into the block, so a poke alone reads it as
# 100 ms minus up to a tick; where the loop has a Python selector the longest stretch between two
# selects (timed_select) gives the maximum exactly, and the pokes only sample the distribution
# (and the interpreter delay): 100 ms then, the fewest wakes whose 10 samples a second still give
# the loop's and the interpreter's typical delay. A loop without one (uvloop) keeps the thread at
# 20 ms (its max reads up to a tick short). One poke in flight per loop at a time.
TICK_S = 0.100
TICK_FAST_S = 0.020
FIRST_SNAPSHOT_S = 0.2
BACKOFF_MIN_S = 0.5
BACKOFF_MAX_S = 30.0
# A connection shorter than this (e.g. the agent refused our hello) does not reset the backoff.
BACKOFF_RESET_AFTER_S = 5.0
GIVE_UP_S = 600.0
MAX_EARLIER_AGENTS = 4  # agents a probe goes back to when the one that took it over leaves
LOOP_RESCAN_S = 5.0
HOOK_RESCAN_S = 1.0

ATTACH_METHODS = ("preload", "inspector", "gdb", "remote_exec")
_OFF = (False, 0, "0")


def read_config(config):
    """The normalized config, or None when it names no agent (no socket or token).

    config: None reads RTPROF_SOCKET, RTPROF_TOKEN, RTPROF_INTERVAL_MS, RTPROF_ATTACH, RTPROF_HTTP,
    RTPROF_GC from the environment (and removes them); else a dict with the keys socket, token,
    intervalMs, attach, http, gc, giveUpS, attachMarker.
    """
    if config is None:
        # Taken out of the environment, as the Node probe does: a child process the service
        # starts would otherwise present this pid's token, be refused, and retry for minutes.
        env = os.environ
        config = {
            "socket": env.pop("RTPROF_SOCKET", None),
            "token": env.pop("RTPROF_TOKEN", None),
            "intervalMs": env.pop("RTPROF_INTERVAL_MS", None),
            "attach": env.pop("RTPROF_ATTACH", None) or "preload",
            "http": env.pop("RTPROF_HTTP", None),
            "gc": env.pop("RTPROF_GC", None),
        }
    sock = config.get("socket")
    token = config.get("token")
    if not sock or not token:
        return None
    try:
        interval_ms = int(float(config.get("intervalMs") or 1000))
    except (TypeError, ValueError, OverflowError):
        interval_ms = 1000
    attach = config.get("attach") or "preload"
    if attach not in ATTACH_METHODS:
        attach = "preload"
    try:
        give_up_s = float(config.get("giveUpS") or GIVE_UP_S)
    except (TypeError, ValueError):
        give_up_s = GIVE_UP_S
    return {
        "socket": str(sock),
        "token": str(token),
        "intervalMs": max(100, min(interval_ms, 3600000)),
        "attach": attach,
        "attachMarker": config.get("attachMarker"),
        "giveUpS": give_up_s,
        # False, 0 or "0": no HTTP server hooks (the agent's default unless `--http`): no request counts
        # or busy time. Absent: hooks on (a preload by hand, a profile).
        "http": config.get("http") not in _OFF,
        # False, 0 or "0": no GC pause watching (`--no-gc-pauses`): no gc.callbacks entry, no GC series.
        "gc": config.get("gc") not in _OFF,
    }
