"""Delay statistics: min/mean/p50/p90/p99/max of a window's samples, as the protocol sends them."""

_NS = 1e9


def delay_stats(samples_s):
    """min/mean/p50/p90/p99/max in integer nanoseconds (nearest rank; negatives read 0), or None
    for no samples."""
    if not samples_s:
        return None
    xs = sorted(samples_s)
    n = len(xs)

    def rank(q):
        return xs[min(n - 1, max(0, int(q * n + 0.999999) - 1))]

    return {
        "min": int(max(0.0, xs[0]) * _NS),
        "mean": int(max(0.0, sum(xs) / n) * _NS),
        "p50": int(max(0.0, rank(0.50)) * _NS),
        "p90": int(max(0.0, rank(0.90)) * _NS),
        "p99": int(max(0.0, rank(0.99)) * _NS),
        "max": int(max(0.0, xs[-1]) * _NS),
    }
