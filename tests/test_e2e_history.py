"""End-to-end: `archive`, `show`, and finding archived tasks with `status --all` and `logs`,
through `python -m orchestra` in a throw-away project (tests/helpers.py)."""

import json
import os
import time

from orchestra.clock import iso
from tests.helpers import ProjectCase, row_of

DAY = 86400


class HistoryTest(ProjectCase):
    def path(self, *parts):
        return os.path.join(self.root, ".orchestra", *parts)

    def set_finished(self, task_id, when):
        path = self.path("tasks", task_id + ".json")
        with open(path) as f:
            data = json.load(f)
        data["finished_at"] = iso(when)
        # Replaced, not rewritten in place, as orchestra writes: the scan caches notice a
        # change by the directory's mtime.
        with open(path + ".tmp", "w") as f:
            json.dump(data, f, indent=2)
        os.replace(path + ".tmp", path)

    def tree(self):
        """Every file under .orchestra/ but the caches and the lock files."""
        out = set()
        for dirpath, _, names in os.walk(self.path()):
            for name in names:
                if not name.endswith((".cache", "lock")) and not name.startswith("supervisor"):
                    out.add(os.path.relpath(os.path.join(dirpath, name), self.path()))
        return out

    def test_archive_show_logs_status(self):
        self.old_done = self.start("echo=old-output done")
        self.old_failed = self.start("echo=it-broke exit=3")
        self.recent = self.start("done")
        r = self.run_cli("run", "--wait", "--parallel", "3")
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)  # one of them failed
        for task_id in (self.old_done, self.old_failed):
            self.set_finished(task_id, time.time() - 30 * DAY)
        self.pending = self.start("done")  # never run: it stays live whatever its age
        self.assertEqual(self.task(self.old_done)["status"], "completed")
        self.assertEqual(self.task(self.old_failed)["status"], "failed")
        old = {self.old_done, self.old_failed}

        before = self.tree()
        out = self.ok("archive", "--dry-run")
        self.assertEqual(self.tree(), before)
        self.assertIn(f"would move {self.old_done}", out)
        self.assertIn(f"would move {self.old_failed}", out)
        self.assertIn("would archive 2 tasks", out)
        self.assertNotIn(self.recent, out)

        out = self.ok("archive")
        self.assertIn("archived 2 tasks", out)
        after = self.tree()
        for task_id in old:
            mine = {f for f in before if task_id in f}
            self.assertIn(f"tasks/{task_id}.json", mine)
            self.assertIn(f"logs/{task_id}.log", mine)
            self.assertIn(f"tasks/{task_id}.exit", mine)
            self.assertEqual({f for f in after if task_id in f}, {"archive/" + f for f in mine})
        self.assertEqual({f for f in after if not f.startswith("archive/")},
                         {f for f in before if not any(t in f for t in old)})
        self.assertIn("archived 0 tasks", self.ok("archive"))

        # status shows live tasks only; --all the archive too, marked.
        out = self.ok("status")
        self.assertIsNotNone(row_of(self.recent, out), out)
        self.assertIsNotNone(row_of(self.pending, out), out)
        for task_id in old:
            self.assertIsNone(row_of(task_id, out), out)
        out = self.ok("status", "--all")
        for task_id in old | {self.recent, self.pending}:
            self.assertIsNotNone(row_of(task_id, out), out)
        self.assertIn("2 of them archived", out)
        listed = {t["id"]: t for t in json.loads(self.ok("status", "--all", "--json"))}
        self.assertEqual(set(listed), old | {self.recent, self.pending})
        self.assertEqual({i for i, t in listed.items() if t.get("archived")}, old)
        self.assertEqual(listed[self.old_failed]["status"], "failed")
        self.assertEqual(listed[self.old_failed]["exit_code"], 3)
        self.assertEqual([t["id"] for t in json.loads(self.ok("status", "--json"))],
                         [self.recent, self.pending])

        # show and logs find archived tasks.
        out = self.ok("show", self.old_failed)
        self.assertIn("(archived)", out)
        self.assertIn("exit_code    3", out)
        self.assertIn("sentinels    .exit", out)
        self.assertIn(os.path.join(".orchestra", "archive", "logs", self.old_failed + ".log"), out)
        shown = json.loads(self.ok("show", "--json", self.old_done))
        self.assertEqual((shown["id"], shown["status"], shown["archived"]),
                         (self.old_done, "completed", True))
        live = json.loads(self.ok("show", "--json", self.recent))
        self.assertNotIn("archived", live)
        self.assertIn("archived     no", self.ok("show", self.recent))
        self.assertIn("old-output", self.ok("logs", self.old_done))
        self.assertIn("it-broke", self.ok("logs", self.old_failed))

    def test_show_unknown_or_invalid_id_is_exit_2(self):
        for bad in ("task_1700000000000_abcdef", "../../etc/passwd"):
            r = self.run_cli("show", bad)
            self.assertEqual(r.returncode, 2, r.stderr)
            self.assertTrue(r.stderr.startswith("orchestra: "), r.stderr)
            self.assertEqual(r.stdout, "")
        r = self.run_cli("logs", "task_1700000000000_abcdef")
        self.assertEqual(r.returncode, 2, r.stderr)

    def test_show_a_live_task_in_full(self):
        out = self.ok("show", self.start("done"))
        for field in ("id", "agent", "prompt", "status", "created_at", "depends_on"):
            self.assertIn(f"\n  {field} ", out)
        self.assertIn("sentinels    none", out)
        self.assertIn("(absent)", out)  # it has no log yet
