"""The channel to the agent over a real unix socket: NDJSON framing, the bounded queue, dropping
instead of blocking when the agent does not read, reading the agent's lines, reconnect backoff."""

import json
import os
import shutil
import socket
import tempfile
import time
import unittest

import probe_package  # noqa: F401  (loads rtprof_probe)
from rtprof_probe import config, messages
from rtprof_probe.channel import Channel


def line(obj):
    return messages.encode(obj)


class Agent:
    """A listening unix socket in a temp dir, as the agent's."""

    def __init__(self, test):
        self.dir = tempfile.mkdtemp(prefix="rtprof-pyunit-")
        test.addCleanup(shutil.rmtree, self.dir, True)
        self.path = os.path.join(self.dir, "agent.sock")
        self.server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        test.addCleanup(self.server.close)
        self.server.bind(self.path)
        self.server.listen(4)
        self.server.settimeout(5)
        self.conn = None

    def accept(self, test):
        self.conn, _ = self.server.accept()
        self.conn.settimeout(5)
        test.addCleanup(self.conn.close)
        return self.conn

    def read_until_quiet(self, quiet_s=0.2):
        data = b""
        self.conn.settimeout(quiet_s)
        while True:
            try:
                chunk = self.conn.recv(1 << 20)
            except socket.timeout:
                return data
            if not chunk:
                return data
            data += chunk


def connected(test, **kw):
    agent = Agent(test)
    ch = Channel(**kw)
    test.addCleanup(ch.close, 0.0, False)
    test.assertTrue(ch.connect(agent.path, 0.0))
    agent.accept(test)
    return agent, ch


class Fork(unittest.TestCase):
    @unittest.skipUnless(hasattr(os, "fork"), "needs fork")
    def test_a_forked_child_lets_go_of_the_connection_and_the_parent_keeps_it(self):
        agent, ch = connected(self)
        fd = ch.sock.fileno()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                ch.forget_after_fork()
                try:
                    os.fstat(fd)
                except OSError:
                    code = 0 if ch.sock is None and not ch.wants_write() else 2
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        self.assertEqual(os.WEXITSTATUS(status), 0, "the child closed its copy of the fd")
        ch.push(line({"type": "snapshot", "seq": 1}))
        self.assertTrue(ch.flush(0.0))
        self.assertIn(b'"seq":1', agent.read_until_quiet())


class Framing(unittest.TestCase):
    def test_lines_arrive_whole_in_order_hello_first(self):
        agent, ch = connected(self)
        for i in range(5):
            ch.push(line({"type": "snapshot", "seq": i}))
        ch.push(line({"type": "hello"}), first=True)
        self.assertTrue(ch.flush(0.0))
        self.assertFalse(ch.wants_write())
        data = agent.read_until_quiet()
        self.assertTrue(data.endswith(b"\n"))
        msgs = [json.loads(x) for x in data.decode("utf-8").split("\n")[:-1]]
        self.assertEqual([m["type"] for m in msgs], ["hello"] + ["snapshot"] * 5)
        self.assertEqual([m.get("seq") for m in msgs[1:]], [0, 1, 2, 3, 4])
        self.assertEqual(ch.dropped, 0)

    def test_encode_is_one_compact_utf8_line(self):
        b = line({"a": "é", "n": [1, 2]})
        self.assertEqual(b, '{"a":"\\u00e9","n":[1,2]}\n'.encode("utf-8"))
        self.assertEqual(b.count(b"\n"), 1)

    def test_line_over_the_limit_is_dropped_not_sent(self):
        ch = Channel(max_line_bytes=100)
        ch.push(b"x" * 100)
        ch.push(b"y" * 101)
        self.assertEqual(ch.queue, [b"x" * 100])
        self.assertEqual(ch.dropped, 1)

    def test_snapshot_over_the_limit_loses_gc_pauses_first(self):
        ch = Channel()
        snap = {"type": "snapshot", "gc": [{"kind": "gen0", "durationS": 0.0001234}] * 400}
        full = len(messages.encode(dict(snap, dropped=0)))
        b = messages.encode_snapshot(snap, ch, max_line_bytes=full // 2)
        self.assertLessEqual(len(b), full // 2)
        kept = len(json.loads(b)["gc"])
        self.assertGreater(kept, 0)
        self.assertEqual(ch.dropped, 400 - kept)
        self.assertEqual(json.loads(b)["dropped"], 400 - kept)

    def test_bye_and_what_is_not(self):
        self.assertTrue(messages.is_bye(b'{"v":1,"type":"bye"}'))
        self.assertFalse(messages.is_bye(b'{"type":"ack"}'))
        self.assertFalse(messages.is_bye(b'["bye"]'))
        self.assertFalse(messages.is_bye(b"\xff\xfe"))
        self.assertFalse(messages.is_bye(b"{nope"))
        self.assertFalse(messages.is_bye(b"[" * 100000))  # deeper than json parses: ignored, not raised


class BoundedQueue(unittest.TestCase):
    def test_oldest_go_first_and_are_counted(self):
        ch = Channel(max_queued=4)
        for i in range(10):
            ch.push(b"%d\n" % i)
        self.assertEqual(ch.queue, [b"6\n", b"7\n", b"8\n", b"9\n"])
        self.assertEqual(ch.dropped, 6)

    def test_a_line_pushed_first_stays_first(self):
        ch = Channel(max_queued=3)
        for i in range(3):
            ch.push(b"%d\n" % i)
        ch.push(b"hello\n", first=True)
        self.assertEqual(ch.queue, [b"hello\n", b"1\n", b"2\n"])
        self.assertEqual(ch.dropped, 1)

    def test_an_agent_that_does_not_read_costs_lines_never_a_block(self):
        agent, ch = connected(self, max_queued=8)
        payload = b"z" * 60000
        pushed = 0
        slowest = 0.0
        for i in range(200):  # 12 MB: far beyond what the socket buffers hold
            ch.push(line({"seq": i, "pad": payload.decode()}))
            pushed += 1
            t0 = time.perf_counter()
            self.assertTrue(ch.flush(0.0), "a full socket is not a broken connection")
            slowest = max(slowest, time.perf_counter() - t0)
        self.assertLess(slowest, 0.5, "flush never waits for the agent")
        self.assertLessEqual(len(ch.queue), 8)
        self.assertGreater(ch.dropped, 100)
        # Now the agent reads: every line it gets is whole, in order, and none is lost uncounted.
        for _ in range(50):
            ch.flush(0.0)
        data = agent.read_until_quiet()
        while ch.wants_write():
            ch.flush(0.0)
            data += agent.read_until_quiet(0.05)
        seqs = [json.loads(x)["seq"] for x in data.split(b"\n")[:-1]]
        self.assertEqual(seqs, sorted(seqs))
        self.assertEqual(len(seqs) + ch.dropped, pushed)
        self.assertEqual(seqs[-1], 199)

    def test_flush_reports_a_connection_the_agent_closed(self):
        agent, ch = connected(self)
        agent.conn.close()
        ok = True
        for _ in range(20):  # the first send after the close may still be accepted
            ch.push(b"x\n")
            ok = ch.flush(0.0)
            if not ok:
                break
        self.assertFalse(ok)


class Reading(unittest.TestCase):
    def test_partial_lines_wait_for_their_newline(self):
        agent, ch = connected(self, max_line_bytes=64)
        self.assertEqual(ch.read_lines(), [])  # nothing yet: EAGAIN
        agent.conn.sendall(b'{"type":"ack"}\n{"ty')
        time.sleep(0.05)
        self.assertEqual(ch.read_lines(), [b'{"type":"ack"}'])
        agent.conn.sendall(b'pe":"bye"}\n')
        time.sleep(0.05)
        self.assertEqual(ch.read_lines(), [b'{"type":"bye"}'])

    def test_an_endless_line_is_thrown_away(self):
        agent, ch = connected(self, max_line_bytes=64)
        agent.conn.sendall(b"q" * 200)
        time.sleep(0.05)
        self.assertEqual(ch.read_lines(), [])
        self.assertEqual(ch.inbuf, b"")
        agent.conn.sendall(b"tail\nok\n")
        time.sleep(0.05)
        self.assertEqual(ch.read_lines(), [b"tail", b"ok"])

    def test_closed_by_the_agent_reads_none(self):
        agent, ch = connected(self)
        agent.conn.close()
        time.sleep(0.05)
        self.assertIsNone(ch.read_lines())


class Backoff(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="rtprof-pyunit-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.missing = os.path.join(self.dir, "none.sock")

    def test_doubles_from_min_to_max(self):
        ch = Channel()
        now = 0.0
        waits = []
        for _ in range(10):
            self.assertFalse(ch.connect(self.missing, now))
            waits.append(ch.next_attempt - now)
            now = ch.next_attempt
        self.assertEqual(waits, [0.5, 1.0, 2.0, 4.0, 8.0, 16.0, 30.0, 30.0, 30.0, 30.0])
        self.assertEqual((config.BACKOFF_MIN_S, config.BACKOFF_MAX_S), (0.5, 30.0))

    def test_no_attempt_before_its_time(self):
        ch = Channel()
        self.assertFalse(ch.connect(self.missing, 10.0))
        self.assertEqual(ch.next_attempt, 10.5)
        # Even with an agent there now, no attempt until 10.5 (and no backoff step spent).
        agent = Agent(self)
        self.assertFalse(ch.connect(agent.path, 10.4))
        self.assertEqual((ch.next_attempt, ch.backoff), (10.5, 1.0))
        self.assertTrue(ch.connect(agent.path, 10.5))
        ch.close(10.5, retry=False)

    def test_a_short_connection_keeps_backing_off_a_long_one_resets(self):
        agent = Agent(self)
        ch = Channel()
        ch.backoff = 8.0
        self.assertTrue(ch.connect(agent.path, 100.0))
        ch.close(101.0)  # refused soon after connecting (the hello was rejected)
        self.assertEqual((ch.next_attempt, ch.backoff), (109.0, 16.0))
        self.assertTrue(ch.connect(agent.path, 109.0))
        ch.close(109.0 + config.BACKOFF_RESET_AFTER_S)  # a connection that lived: start over
        self.assertEqual(ch.next_attempt, 114.5)
        self.assertEqual(ch.backoff, 1.0)

    def test_close_without_retry_and_reset(self):
        agent = Agent(self)
        ch = Channel()
        ch.connect(self.missing, 0.0)
        self.assertTrue(ch.connect(agent.path, 0.5))
        ch.close(0.6, retry=False)
        self.assertIsNone(ch.sock)
        self.assertEqual(ch.next_attempt, 0.5)  # unchanged: a new config reconnects at once
        ch.reset_backoff()
        self.assertEqual((ch.backoff, ch.next_attempt), (0.5, 0.0))


if __name__ == "__main__":
    unittest.main()
