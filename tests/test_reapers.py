"""The supervisor's reaper threads, with stand-in children."""

import queue
import threading
import time
import unittest

from orchestra.reapers import Reapers
from tests.helpers import wait_until


class Child:
    def __init__(self, code):
        self.code = code
        self.released = threading.Event()

    def wait(self):
        self.released.wait()
        return self.code


class ReapersTest(unittest.TestCase):
    def test_every_exit_is_reported_with_its_status(self):
        exits = queue.Queue()
        reapers = Reapers(exits)
        children = {f"t{i}": Child(i) for i in range(4)}
        for tid, child in children.items():
            reapers.watch(tid, child)
        for child in children.values():
            child.released.set()
        got = [exits.get(timeout=10) for _ in children]
        self.assertEqual({tid: code for tid, code, _ in got}, {"t0": 0, "t1": 1, "t2": 2, "t3": 3})

    def test_the_exit_time_is_when_the_wait_returned_not_when_it_is_read(self):
        exits = queue.Queue()
        child = Child(0)
        Reapers(exits).watch("t", child)
        released = time.time()
        child.released.set()
        wait_until(lambda: not exits.empty(), message="the exit")
        seen = time.time()
        tid, code, ended_at = exits.get_nowait()
        self.assertEqual((tid, code), ("t", 0))
        self.assertTrue(released <= ended_at <= seen, (released, ended_at, seen))

    def test_a_thread_done_with_one_child_takes_the_next(self):
        exits = queue.Queue()
        reapers = Reapers(exits)
        before = threading.active_count()
        for i in range(10):
            child = Child(0)
            reapers.watch(f"t{i}", child)
            child.released.set()
            self.assertEqual(exits.get(timeout=10)[:2], (f"t{i}", 0))
        # Children that run one after another need one thread, not one each.
        self.assertEqual(threading.active_count() - before, 1)


if __name__ == "__main__":
    unittest.main()
