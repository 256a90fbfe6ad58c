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

    def test_by_day_counts_a_task_on_the_day_it_finished_else_started_else_was_created(self):
        import time
        day = lambda ts: time.strftime("%Y-%m-%d", time.localtime(ts))
        tasks = [task(1, "claude", "completed", took=10, cost=0.5, tokens=1000, age=5 * 86400),
                 task(2, "codex", "failed", "exit", took=20, age=86400),
                 task(3, "codex", "pending", age=3 * 86400)]
        tasks[1].update(finished_at=iso(NOW - 2 * 86400), started_at=iso(NOW - 2 * 86400 - 20))
        running = task(4, "claude", "running", age=4 * 86400)
        running.update(started_at=iso(NOW - 86400))
        tasks.append(running)
        r = stats.by_day(tasks, NOW)
        self.assertEqual(list(r), sorted({day(NOW), day(NOW - 2 * 86400), day(NOW - 3 * 86400),
                                          day(NOW - 86400)}))
        self.assertEqual(r[day(NOW)]["agents"]["claude"]["cost_usd"], 0.5)
        self.assertEqual(r[day(NOW - 2 * 86400)]["total"]["failures"], {"exit": 1})
        self.assertEqual(r[day(NOW - 3 * 86400)]["total"]["active"], 1)
        self.assertEqual(list(r[day(NOW - 86400)]["agents"]), ["claude"])
        # The same totals as summarize: every task on exactly one day.
        total = stats.summarize(tasks, NOW)["total"]
        for key in ("tasks", "completed", "failed", "active"):
            self.assertEqual(sum(d["total"][key] for d in r.values()), total[key])

    def test_by_day_with_days_keeps_each_of_the_last_days(self):
        import time
        tasks = [task(1, "a", "completed", took=5), task(2, "a", "completed", took=5,
                                                          age=30 * 86400)]
        tasks[1].update(finished_at=iso(NOW - 30 * 86400))
        r = stats.by_day(tasks, NOW, days=3)
        self.assertEqual(len(r), 3)
        self.assertEqual(list(r)[-1], time.strftime("%Y-%m-%d", time.localtime(NOW)))
        self.assertEqual([d["total"]["tasks"] for d in r.values()], [0, 0, 1])
        self.assertEqual(list(r.values())[0]["agents"], {})

    def test_percentile(self):
        self.assertIsNone(stats.percentile([], 50))
        self.assertEqual(stats.percentile(list(range(1, 11)), 90), 9)
        self.assertEqual(stats.percentile([5], 90), 5)


class StatsByDayCommandTest(unittest.TestCase):
    def test_table_and_json(self):
        import json
        import shutil
        import tempfile
        from orchestra.paths import Layout
        from orchestra.store import Store
        from tests.helpers import main_in_process
        root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, root, True)
        now = __import__("time").time()
        t = Task.new(f"task_{int(now * 1000):013d}_abcdef", "claude", "p", now - 60)
        t.update(status="completed", started_at=iso(now - 30), finished_at=iso(now),
                 cost_usd=0.25)
        Store(Layout(root)).create(t)
        code, out, _ = main_in_process(root, "stats", "--by-day", "--since", "2d")
        self.assertEqual(code, 0)
        lines = out.splitlines()
        self.assertTrue(lines[0].startswith("DAY "))
        self.assertEqual([line.split()[1] for line in lines[1:3]], ["0", "1"])
        self.assertIn("$0.25", lines[2])
        report = json.loads(main_in_process(root, "stats", "--by-day", "--json")[1])
        (day,) = report
        self.assertEqual(report[day]["agents"]["claude"]["completed"], 1)


if __name__ == "__main__":
    unittest.main()
