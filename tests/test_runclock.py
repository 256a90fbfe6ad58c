import unittest

from orchestra.clock import iso
from orchestra.runclock import RunClock
from orchestra.task import Task
from orchestra.transitions import launched

NOW = 1_790_000_000.0


class Clocks:
    def __init__(self):
        self.wall, self.mono = NOW, 500.0

    def step(self, wall=0.0, mono=0.0):
        self.wall += wall
        self.mono += mono


class RunClockTest(unittest.TestCase):
    def setUp(self):
        self.c = Clocks()
        self.clock = RunClock(lambda: self.c.wall, lambda: self.c.mono)

    def test_a_run_lasts_by_the_monotonic_clock_whatever_the_wall_clock_does(self):
        t = launched(Task.new("task_1790000000000_abcdef", "a", "p", NOW, timeout=60),
                     pid=1, pid_start="x", now=NOW)
        self.clock.launched(t)
        self.c.step(wall=3600, mono=6)
        self.assertEqual(self.clock.elapsed(t, self.c.wall), 6)
        self.assertEqual(self.clock.next_deadline([t], self.c.wall), self.c.wall + 54)

    def test_a_run_first_seen_counts_from_its_started_at(self):
        t = launched(Task.new("task_1790000000000_abcdef", "a", "p", NOW), pid=1,
                     pid_start="x", now=NOW - 10)
        self.assertEqual(self.clock.elapsed(t, NOW), 10)
        self.c.step(wall=-3600, mono=2)
        self.assertEqual(self.clock.elapsed(t, self.c.wall), 12)

    def test_a_backoff_set_now_ends_by_the_monotonic_clock_a_limit_by_the_wall(self):
        t = Task.new("task_1790000000000_abcdef", "a", "p", NOW)
        t.update(not_before=iso(NOW + 4), reason="exit")
        self.clock.settled(t, NOW)
        self.c.step(wall=-3600, mono=1)
        self.assertAlmostEqual(self.clock.ready_at(t) - self.c.wall, 3, places=3)
        t.update(reason="limit")
        self.assertEqual(self.clock.ready_at(t), t.ready_at())


if __name__ == "__main__":
    unittest.main()
