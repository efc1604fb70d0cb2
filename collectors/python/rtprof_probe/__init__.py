"""rtprof probe for CPython: pushes GC pauses, asyncio loop delay/utilization, interpreter (GIL)
delay, thread count and in-flight work to the rtprof agent over its unix socket (docs/PROTOCOL.md).

Compatibility floor: CPython 3.8 (attaching refuses older; preloaded, it also runs on 3.6 and 3.7,
so no syntax newer than 3.6 is used here). Standard library only. The package is self-contained:
it works from any directory it is copied to, loaded by _loader.py under the name rtprof_probe.

All work happens in one daemon thread; the hooks it installs in the host (a gc callback, a few
wrapped stdlib methods) only record numbers and always call through, whatever happens to the probe.
"""

from .config import PROBE_VERSION
from .probe import start, stop

__all__ = ["PROBE_VERSION", "start", "stop"]
