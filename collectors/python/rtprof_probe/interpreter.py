"""Interpreter delay (how late the probe thread wakes: mostly waiting for the GIL) and thread count."""

import sys

from .stats import delay_stats


class InterpreterDelay:
    def __init__(self):
        self.samples = []

    def woke(self, late_s):
        """The probe thread woke late_s after its planned tick."""
        self.samples.append(late_s)

    def take(self):
        """{"delayNs": stats} of the samples since the last take, or None."""
        samples, self.samples = self.samples, []
        stats = delay_stats(samples)
        return None if stats is None else {"delayNs": stats}


def python_threads():
    """The process's Python threads, not counting the probe's own."""
    return max(0, len(sys._current_frames()) - 1)
