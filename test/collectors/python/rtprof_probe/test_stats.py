"""Delay statistics (nearest-rank percentiles in integer ns) and the GC pause monitor."""

import gc
import unittest

import probe_package  # noqa: F401  (loads rtprof_probe)
from rtprof_probe.gcpauses import GcMonitor
from rtprof_probe.stats import delay_stats

MS = 1000000  # ns


class DelayStats(unittest.TestCase):
    def test_none_without_samples(self):
        self.assertIsNone(delay_stats([]))

    def test_nearest_rank_of_1_to_100_ms(self):
        samples = [i / 1000.0 for i in range(100, 0, -1)]  # unsorted on purpose
        s = delay_stats(samples)
        # Integer ns from float seconds: within 1 ns of the exact value.
        for key, want in (("min", 1), ("p50", 50), ("p90", 90), ("p99", 99), ("max", 100)):
            self.assertAlmostEqual(s[key], want * MS, delta=1, msg=key)
        self.assertAlmostEqual(s["mean"], 50.5 * MS, delta=1)
        self.assertTrue(all(isinstance(v, int) for v in s.values()))

    def test_p99_boundary(self):
        # 1000 samples: p99 is the 990th smallest. 10 outliers leave it at the base value, 11 reach it.
        self.assertEqual(delay_stats([0.001] * 990 + [0.1] * 10)["p99"], 1 * MS)
        self.assertEqual(delay_stats([0.001] * 989 + [0.1] * 11)["p99"], 100 * MS)
        self.assertEqual(delay_stats([0.001] * 989 + [0.1] * 11)["p90"], 1 * MS)

    def test_one_sample_is_every_statistic(self):
        s = delay_stats([0.0375])
        self.assertEqual(set(s), {"min", "mean", "p50", "p90", "p99", "max"})
        self.assertEqual(len(set(s.values())), 1)
        self.assertAlmostEqual(s["max"], 37.5 * MS, delta=1)

    def test_negative_reads_zero(self):
        s = delay_stats([-0.002, -0.001])
        self.assertEqual(s, {"min": 0, "mean": 0, "p50": 0, "p90": 0, "p99": 0, "max": 0})


class GcPauses(unittest.TestCase):
    def setUp(self):
        self.mon = GcMonitor()
        self.mon.install()
        self.addCleanup(self.mon.uninstall)

    def test_each_collection_is_one_pause_of_its_generation(self):
        self.mon.take()
        for gen in (0, 1, 2):
            gc.collect(gen)
        events, overflow = self.mon.take()
        self.assertEqual(overflow, 0)
        mine = [e["kind"] for e in events]
        # Our three forced collections, in order (an automatic one may come between them).
        it = iter(mine)
        self.assertTrue(all(k in it for k in ("gen0", "gen1", "gen2")), mine)
        self.assertTrue(all(e["durationS"] >= 0 and e["durationS"] < 5 for e in events))
        self.assertEqual(self.mon.take(), ([], 0))

    def test_bounded_and_counts_the_overflow(self):
        mon = GcMonitor(max_events=3)
        mon.install()
        self.addCleanup(mon.uninstall)
        for _ in range(10):
            gc.collect(0)
        events, overflow = mon.take()
        self.assertEqual(len(events), 3)
        self.assertGreaterEqual(overflow, 7)

    def test_install_once_uninstall_all(self):
        self.mon.install()
        self.assertEqual(gc.callbacks.count(self.mon.callback), 1)
        self.mon.uninstall()
        self.assertFalse(self.mon.installed())
        self.mon.uninstall()  # twice is fine

    def test_totals_are_the_interpreters_counts(self):
        before = GcMonitor.totals()
        gc.collect(2)
        after = GcMonitor.totals()
        self.assertGreaterEqual(after["byKind"]["gen2"]["count"] - before["byKind"]["gen2"]["count"], 1)
        self.assertEqual(after["count"], sum(k["count"] for k in after["byKind"].values()))
        self.assertEqual(after["byKind"]["gen2"]["count"], gc.get_stats()[2]["collections"])


if __name__ == "__main__":
    unittest.main()
