"""The probe's config: from start()'s dict or the RTPROF_* environment (taken out of it)."""

import os
import unittest

import probe_package  # noqa: F401  (loads rtprof_probe)
from rtprof_probe.config import GIVE_UP_S, read_config

ENV_KEYS = ("RTPROF_SOCKET", "RTPROF_TOKEN", "RTPROF_INTERVAL_MS", "RTPROF_ATTACH", "RTPROF_HTTP", "RTPROF_GC")


class ReadConfig(unittest.TestCase):
    def setUp(self):
        saved = {k: os.environ.get(k) for k in ENV_KEYS}

        def restore():
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

        self.addCleanup(restore)

    def test_no_agent_no_config(self):
        self.assertIsNone(read_config({"socket": "/s"}))
        self.assertIsNone(read_config({"token": "t"}))

    def test_defaults_and_bounds(self):
        c = read_config({"socket": "/s", "token": "t", "attach": "ptrace?"})
        self.assertEqual(c["intervalMs"], 1000)
        self.assertEqual(c["attach"], "preload")
        self.assertEqual(c["giveUpS"], GIVE_UP_S)
        self.assertTrue(c["http"] and c["gc"])
        self.assertEqual(read_config({"socket": "/s", "token": "t", "intervalMs": 5})["intervalMs"], 100)
        self.assertEqual(read_config({"socket": "/s", "token": "t", "intervalMs": 1e12})["intervalMs"], 3600000)
        self.assertEqual(read_config({"socket": "/s", "token": "t", "intervalMs": "x"})["intervalMs"], 1000)

    def test_off_switches(self):
        for off in (False, 0, "0"):
            c = read_config({"socket": "/s", "token": "t", "http": off, "gc": off})
            self.assertEqual((c["http"], c["gc"]), (False, False), repr(off))
        c = read_config({"socket": "/s", "token": "t", "http": True, "gc": "1", "attach": "gdb", "giveUpS": 2})
        self.assertEqual((c["http"], c["gc"], c["attach"], c["giveUpS"]), (True, True, "gdb", 2.0))

    def test_the_environment_is_read_once_and_emptied(self):
        os.environ.update(
            RTPROF_SOCKET="/a.sock", RTPROF_TOKEN="tok", RTPROF_INTERVAL_MS="250", RTPROF_HTTP="0", RTPROF_GC="0"
        )
        os.environ.pop("RTPROF_ATTACH", None)
        c = read_config(None)
        self.assertEqual(
            (c["socket"], c["token"], c["intervalMs"], c["attach"], c["http"], c["gc"]),
            ("/a.sock", "tok", 250, "preload", False, False),
        )
        # A child process the service starts must not present this pid's token.
        self.assertEqual([k for k in ENV_KEYS if k in os.environ], [])
        self.assertIsNone(read_config(None))


if __name__ == "__main__":
    unittest.main()
