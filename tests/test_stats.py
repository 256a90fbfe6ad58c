import unittest

from orchestra import stats
from orchestra.clock import iso
from orchestra.task import Task

NOW = 1_790_000_000.0


def task(n, agent, status, reason=None, took=None, cost=None, tokens=None, age=0):
    t = Task.new(f"task_{1790000000000 + n}_abcdef", agent, "p", NOW - age)
    t.update(status=status, reason=reason)
    if took is not None:
        t.update(started_at=iso(NOW - took), finished_at=iso(NOW))
    if cost is not None:
        t.update(cost_usd=cost, tokens_in=tokens, tokens_out=tokens // 10)
    return t


class StatsTest(unittest.TestCase):
    def test_totals_per_agent_and_overall(self):
        tasks = [task(1, "claude", "completed", took=10, cost=0.5, tokens=1000),
                 task(2, "claude", "failed", "timeout", took=30, cost=0.25, tokens=500),
                 task(3, "codex", "failed", "exit", took=20),
                 task(4, "codex", "pending"),
                 task(5, "codex", "cancelled")]
        r = stats.summarize(tasks, NOW)
        c = r["agents"]["claude"]
        self.assertEqual((c["tasks"], c["completed"], c["failed"], c["failures"]),
                         (2, 1, 1, {"timeout": 1}))
        self.assertEqual((c["tokens_in"], c["tokens_out"], c["cost_usd"]), (1500, 150, 0.75))
        self.assertEqual((c["median_seconds"], c["p90_seconds"]), (10, 30))
        x = r["agents"]["codex"]
        self.assertEqual((x["active"], x["cancelled"], x["cost_usd"]), (1, 1, None))
        self.assertEqual(r["total"]["failures"], {"exit": 1, "timeout": 1})
        self.assertEqual(r["total"]["tasks"], 5)

    def test_since_counts_recent_tasks_only(self):
        tasks = [task(1, "a", "completed", age=10), task(2, "a", "completed", age=10000)]
        self.assertEqual(stats.summarize(tasks, NOW, since=3600)["total"]["tasks"], 1)

    def test_percentile(self):
        self.assertIsNone(stats.percentile([], 50))
        self.assertEqual(stats.percentile(list(range(1, 11)), 90), 9)
        self.assertEqual(stats.percentile([5], 90), 5)


if __name__ == "__main__":
    unittest.main()
