import unittest

from orchestra import dependencies, scheduler
from orchestra.clock import iso
from orchestra.task import Task

NOW = 1_790_000_000.0


def task(n, status="pending", deps=(), agent="a", priority=0):
    t = Task.new(f"task_{1790000000000 + n}_abcdef", agent, f"p{n}", NOW + n, priority=priority,
                 depends_on=[f"task_{1790000000000 + d}_abcdef" for d in deps])
    t.update(status=status)
    return t


def ids(tasks):
    return [int(t.id[5:18]) - 1790000000000 for t in tasks]


class DoomedTest(unittest.TestCase):
    def test_failed_or_cancelled_dependency_dooms_dependents_recursively(self):
        tasks = [task(1, "failed"), task(2, deps=[1]), task(3, deps=[2]), task(4, "cancelled"),
                 task(5, deps=[4]), task(6, deps=[7]), task(7, "running")]
        doomed = dependencies.doomed(tasks)
        self.assertEqual(sorted(ids(t for t, _, _ in doomed)), [2, 3, 5])
        messages = {ids([t])[0]: m for t, _, m in doomed}
        self.assertIn("failed", messages[2])
        self.assertIn("cancelled", messages[5])
        self.assertIn("task_1790000000002_abcdef failed", messages[3])

    def test_missing_dependency_dooms(self):
        (t, culprit, message), = dependencies.doomed([task(2, deps=[1])])
        self.assertIn("no longer exists", message)

    def test_pending_dependency_in_retry_keeps_waiting(self):
        self.assertEqual(dependencies.doomed([task(1, "pending"), task(2, deps=[1])]), [])


class GraphTest(unittest.TestCase):
    def test_descendants_nearest_first(self):
        tasks = [task(1), task(2, deps=[1]), task(3, deps=[1]), task(4, deps=[2, 3]), task(5)]
        self.assertEqual(ids([t for t in tasks if t.id in dependencies.descendants(tasks[0].id, tasks)]),
                         [2, 3, 4])
        self.assertEqual(dependencies.descendants(tasks[0].id, tasks)[-1], tasks[3].id)

    def test_problems_finds_missing_and_cycles(self):
        tasks = [task(1, deps=[3]), task(2, deps=[1]), task(3, deps=[2]), task(4, deps=[9])]
        found = dependencies.problems(tasks)
        self.assertTrue(any("does not exist" in p for p in found))
        self.assertTrue(any(p.startswith("cycle:") for p in found))
        self.assertEqual(dependencies.problems([task(1), task(2, deps=[1])]), [])


class SchedulerLimitsTest(unittest.TestCase):
    def test_dependencies_must_have_completed(self):
        tasks = [task(1, "running"), task(2, deps=[1]), task(3, "completed"), task(4, deps=[3])]
        self.assertEqual(ids(scheduler.pick(tasks, 5, NOW + 100)), [4])

    def test_diamond_order(self):
        a, b, c, d = task(1), task(2, deps=[1]), task(3, deps=[1]), task(4, deps=[2, 3])
        self.assertEqual(ids(scheduler.pick([a, b, c, d], 4, NOW + 100)), [1])
        a.update(status="completed")
        self.assertEqual(ids(scheduler.pick([a, b, c, d], 4, NOW + 100)), [2, 3])
        b.update(status="completed")
        self.assertEqual(ids(scheduler.pick([a, b, c, d], 4, NOW + 100)), [3])
        c.update(status="completed")
        self.assertEqual(ids(scheduler.pick([a, b, c, d], 4, NOW + 100)), [4])

    def test_agent_limit_counts_running_and_busy(self):
        tasks = [task(1, "running", agent="claude"), task(2, agent="claude"),
                 task(3, agent="claude"), task(4, agent="codex")]
        picked = scheduler.pick(tasks, 5, NOW + 100, agent_limits={"claude": 2})
        self.assertEqual(ids(picked), [2, 4])
        dying = task(5, "failed", agent="claude")
        picked = scheduler.pick(tasks + [dying], 5, NOW + 100, busy={dying.id},
                                agent_limits={"claude": 2})
        self.assertEqual(ids(picked), [4])

    def test_a_limited_agent_does_not_hold_back_others(self):
        tasks = [task(1, agent="claude", priority=5), task(2, agent="claude", priority=5),
                 task(3, agent="codex")]
        self.assertEqual(ids(scheduler.pick(tasks, 2, NOW + 100, agent_limits={"claude": 1})),
                         [1, 3])


if __name__ == "__main__":
    unittest.main()


class LimitedAgentTest(unittest.TestCase):
    def test_an_agent_waiting_out_a_limit_starts_nothing(self):
        parked = task(1, agent="claude")
        parked.update(reason="limit", not_before=iso(NOW + 200))
        tasks = [parked, task(2, agent="claude"), task(3, agent="codex")]
        self.assertEqual(ids(scheduler.pick(tasks, 5, NOW + 100)), [3])
        self.assertEqual(ids(scheduler.pick(tasks, 5, NOW + 300)), [1, 2, 3])
