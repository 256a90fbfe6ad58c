"""The default `status` read from the scan cache's columns (statusview.py) must show exactly what
the full path (a Task for every task) shows: fixtures of every kind, at several sizes."""

import io
import json
import os
import shutil
import tempfile
import time
import unittest
import unittest.mock

from orchestra import lease
from orchestra.cli import Console
from orchestra.clock import iso
from orchestra.commands import status
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.table import Style
from orchestra.task import Task

SIZES = ((None, None, None), (80, 24, None), (40, 12, None), (200, 60, None),
         (100, 30, "every 2s"), (60, 8, "every 2s"))


class GlanceTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-glance-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.layout = Layout(self.root)
        Store(self.layout).ensure()
        self.now = time.time()
        self.n = 0

    def add(self, status="pending", age=60.0, hex_part=None, **fields):
        """A task file created `age` seconds ago, written as it is."""
        self.n += 1
        created = self.now - age
        tid = f"task_{int(created * 1000):013d}_{hex_part or f'{self.n:06x}'}"
        task = Task.new(tid, fields.pop("agent", "demo"), fields.pop("prompt", f"do {self.n}"),
                        created, priority=fields.pop("priority", 0))
        if status != "pending":
            task.update(status=status, attempt=1, started_at=iso(created + 1))
        if status not in ("pending", "running"):
            took = fields.pop("took", 5.0)
            task.update(finished_at=iso(created + 1 + took) if took is not None else None)
        task.update(**fields)
        with open(self.layout.task_file(tid), "w", encoding="utf-8") as f:
            json.dump(task.to_dict(), f)
        return tid

    def trust(self):
        """Age the tasks directory and write the scan cache, as a quiet project has them."""
        past = time.time() - 60
        os.utime(self.layout.tasks, (past, past))
        Store(self.layout, persist_cache=True).scan()

    def frames(self, sizes=SIZES):
        """(fast, full) lines and warnings at each size, at the same time."""
        out = []
        for width, height, footer in sizes:
            both = []
            for quick in (True, False):
                err = io.StringIO()
                console = Console(io.StringIO(), err, Style(), width or 80, False, height or 24)
                store = Store(self.layout, persist_cache=True)
                view = status._glance(store, self.layout, console, self.now) if quick else None
                if quick:
                    self.assertIsNotNone(view, "the fast path was not taken")
                try:
                    lines = status._lines(view, store, None, self.layout, console, (), False,
                                          None, width, height, footer, self.now)
                finally:
                    if view is not None:
                        view.close()
                both.append((lines, err.getvalue()))
            out.append(both)
        return out

    def assert_same(self):
        for (fast, full), size in zip(self.frames(), SIZES):
            self.assertEqual(fast, full, size)

    def mixed(self):
        """Every kind of task, more than fit, ids that share their first characters."""
        done = self.add("completed", age=3000, hex_part="abcd01")
        failed = self.add("failed", age=2900, hex_part="abcd02", reason="exit", error="boom")
        cancelled = self.add("cancelled", age=2800, took=None)
        self.add("pending", age=50, depends_on=[done], labels=["docs", "urgent"])
        self.add("pending", age=49, depends_on=[done, failed])  # doomed
        self.add("pending", age=48, depends_on=[cancelled, "task_1700000000000_000000"])
        first = self.add("pending", age=47, priority=5)
        self.add("pending", age=46, depends_on=[first])  # waits on a pending one
        self.add("pending", age=45, not_before=iso(self.now + 600), reason="scheduled")
        self.add("pending", age=44, not_before=iso(self.now + 30), retries=1, max_retries=2,
                 reason="exit")
        self.add("running", age=400, hex_part="beef11")  # an archived id shares its start
        self.add("running", age=300, prompt="サインアップフォームに入力検証を追加する")
        self.add("completed", age=90_000)  # older than a day: hidden
        self.add("completed", age=86_000)  # finished just within the day
        self.add("failed", age=100_000, reason="timeout")
        self.add("completed", age=1000, isolation="worktree", branch="orchestra/x",
                 base="0" * 40, changes=[2, 12, 3], cost_usd=0.25, tokens_in=1000,
                 tokens_out=200)
        self.add("completed", age=900, cost_usd=1.5, tokens_out=14_000, labels=["ops"])
        for n in range(60):
            # finished in another order than they were created
            self.add("completed" if n % 3 else "failed", age=2000 - n * 10,
                     took=float(n * 37 % 200),
                     reason=None if n % 3 else "exit")
        for n in range(30):
            self.add("pending", age=40 - n, priority=n % 3)
        with open(os.path.join(self.layout.tasks, "task_1790000000099_abcdef.json"), "w") as f:
            f.write("{")  # a problem, warned on both paths
        os.makedirs(self.layout.archive, exist_ok=True)
        with open(os.path.join(self.layout.archive, "ids"), "w") as f:
            f.write("task_1700000000001_abcd03\ntask_1700000000002_beef22\n")

    def test_every_kind_of_task_is_shown_alike_with_a_supervisor(self):
        self.mixed()
        self.trust()
        with unittest.mock.patch.object(lease, "supervisor_alive", return_value=True):
            self.assert_same()

    def test_a_queue_of_finished_and_pending_tasks_is_shown_alike(self):
        for n in range(150):
            self.add(("completed", "failed", "pending")[n % 3], age=5000 - n * 7,
                     took=float(n % 5), priority=n % 2)
        self.trust()
        self.assert_same()

    def test_few_tasks_and_no_tasks_are_shown_alike(self):
        self.trust()
        self.assert_same()
        self.add("completed", age=200_000)
        self.trust()
        self.assert_same()  # only hidden ones
        self.add("pending", age=10)
        self.add("completed", age=20, took=None)
        self.trust()
        self.assert_same()

    def test_what_is_left_to_settle_takes_the_full_path(self):
        self.add("running", age=10)
        self.trust()
        console = Console(io.StringIO(), io.StringIO(), Style(), 80, False, 24)
        store = Store(self.layout, persist_cache=True)
        self.assertIsNone(status._glance(store, self.layout, console, self.now))  # running
        os.unlink(self.layout.task_file(sorted(store.scan().tasks)[0]))
        failed = self.add("failed", age=30)
        self.add("pending", age=20, depends_on=[failed])  # doomed
        self.trust()
        self.assertIsNone(status._glance(store, self.layout, console, self.now))
        with unittest.mock.patch.object(lease, "supervisor_alive", return_value=True):
            view = status._glance(store, self.layout, console, self.now)
            self.assertIsNotNone(view)  # the supervisor settles them
            view.close()

    def test_a_recent_change_takes_the_full_path(self):
        self.add("pending")
        self.trust()
        self.add("pending")  # the directory changed: the cache no longer says what it holds
        console = Console(io.StringIO(), io.StringIO(), Style(), 80, False, 24)
        self.assertIsNone(status._glance(Store(self.layout, persist_cache=True), self.layout,
                                         console, self.now))


if __name__ == "__main__":
    unittest.main()
