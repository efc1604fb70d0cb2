"""The probe thread's loop: connect (with backoff) and say hello, wait on the socket until the next
tick, sample the interpreter delay and poke the loops at each tick, read the agent's lines, flush the
queue, refresh the hooks and send a snapshot when due; leave the agent on bye or after giveUpS."""

import select as select_mod
import time
from time import perf_counter as _clock

from .config import FIRST_SNAPSHOT_S, HOOK_RESCAN_S
from .messages import hello, is_bye


def run(probe):
    select = select_mod.select
    now = _clock()
    next_tick = now
    next_snapshot = now + FIRST_SNAPSHOT_S
    next_hooks = now + HOOK_RESCAN_S
    cfg_version = -1
    last_alive = now
    while not probe.stopping:
        cfg = probe.cfg
        ch = probe.channel
        if cfg_version != probe.cfg_version:
            cfg_version = probe.cfg_version
            ch.close(now, retry=False)
            ch.reset_backoff()
            last_alive = now
            next_hooks = now  # a new config may switch the HTTP hooks: apply it now
        if ch.sock is None and ch.connect(cfg["socket"], now):
            ch.push(hello(cfg, probe.started_at_ms), first=True)
        if ch.sock is not None:
            last_alive = now
        elif now - last_alive > cfg["giveUpS"] and not probe.leave_agent():
            return  # no agent for giveUpS and none to go back to: stop for good
        timeout = max(0.0, next_tick - _clock())
        rl = [ch.sock] if ch.sock is not None else []
        wl = [ch.sock] if ch.wants_write() else []
        try:
            if rl or wl:
                readable, writable, _ = select(rl, wl, [], timeout)
            else:
                time.sleep(timeout)
                readable = writable = ()
        except (OSError, ValueError):
            readable = writable = ()
            ch.close(_clock())
        now = _clock()
        if now >= next_tick:
            # How late this thread woke beyond its sleep: mostly waiting for the GIL.
            probe.interpreter.woke(now - next_tick)
            tick_s = probe.loops.tick_s
            next_tick += tick_s
            if next_tick <= now:
                next_tick = now + tick_s
            probe.loops.poke(now)
        if readable and ch.sock is not None:
            _read(probe, ch, now)
        if ch.sock is not None and (writable or ch.wants_write()):
            if not ch.flush(now):
                ch.close(now)
        if ch.connected_at is not None and cfg.get("attachMarker"):
            probe.clear_marker(cfg)
        # A failure here costs one snapshot or one hook refresh, never the thread.
        if now >= next_hooks:
            next_hooks = now + HOOK_RESCAN_S
            try:
                probe.refresh_hooks(now)
            except Exception:
                pass
        if now >= next_snapshot:
            next_snapshot = now + cfg["intervalMs"] / 1000.0
            try:
                probe.snapshot(cfg, now)
            except Exception:
                ch.dropped += 1


def _read(probe, ch, now):
    lines = ch.read_lines()
    if lines is None:
        ch.close(now)
        return
    for line in lines:
        if is_bye(line):
            probe.leave_agent()  # the agent detaches: back to the one before, or stop for good
            return
