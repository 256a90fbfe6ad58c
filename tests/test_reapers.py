"""The supervisor's reaper threads, with stand-in children."""

import queue
import threading
import unittest

from orchestra.reapers import Reapers


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
        got = dict(exits.get(timeout=10) for _ in children)
        self.assertEqual(got, {"t0": 0, "t1": 1, "t2": 2, "t3": 3})

    def test_a_thread_done_with_one_child_takes_the_next(self):
        exits = queue.Queue()
        reapers = Reapers(exits)
        before = threading.active_count()
        for i in range(10):
            child = Child(0)
            reapers.watch(f"t{i}", child)
            child.released.set()
            self.assertEqual(exits.get(timeout=10), (f"t{i}", 0))
        # Children that run one after another need one thread, not one each.
        self.assertEqual(threading.active_count() - before, 1)


if __name__ == "__main__":
    unittest.main()
