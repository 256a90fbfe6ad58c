"""The archive: which tasks are due (pure), moving their files, finding them again, and the
caches that keep `status --all --json` of a long history fast."""

import importlib.util
import json
import math
import os
import shutil
import tempfile
import unittest

from orchestra import archive
from orchestra.clock import iso
from orchestra.files import indented
from orchestra.errors import NotFound, OrchestraError
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.task import Task

NOW = 1_790_000_000.0
DAY = 86400.0
WEEK, FORTNIGHT = 7 * DAY, 14 * DAY


def make(n, status="completed", ended_days_ago=30.0, depends_on=()):
    task = Task.new(f"task_{1780000000000 + n}_abcdef", "a", f"p{n}", NOW - 40 * DAY + n,
                    depends_on=depends_on)
    if status not in ("pending", "running"):
        task.update(status=status, finished_at=iso(NOW - ended_days_ago * DAY))
    else:
        task.update(status=status)
    return task


def ids(tasks):
    return [t.id for t in tasks]


class DueTest(unittest.TestCase):
    def due(self, tasks, completed=WEEK, failed=FORTNIGHT, protected=None):
        if protected is None:
            protected = archive.protected(tasks)
        return ids(archive.due(tasks, NOW, completed, failed, protected))

    def test_retention_per_status(self):
        done_old, done_new = make(1, "completed", 7.01), make(2, "completed", 6.99)
        failed_old, failed_new = make(3, "failed", 14.01), make(4, "failed", 13)
        cancelled_old, cancelled_new = make(5, "cancelled", 15), make(6, "cancelled", 8)
        tasks = [done_old, done_new, failed_old, failed_new, cancelled_old, cancelled_new]
        self.assertEqual(sorted(self.due(tasks)), sorted(ids([done_old, failed_old, cancelled_old])))

    def test_exactly_the_retention_is_due(self):
        self.assertEqual(len(self.due([make(1, "completed", 7)])), 1)

    def test_zero_retention_means_never(self):
        tasks = [make(1, "completed", 300), make(2, "failed", 300), make(3, "cancelled", 300)]
        self.assertEqual(self.due(tasks, completed=0), ids(tasks[1:]))
        self.assertEqual(self.due(tasks, failed=0), ids(tasks[:1]))
        self.assertEqual(self.due(tasks, completed=0, failed=0), [])

    def test_active_tasks_never(self):
        pending, running = make(1, "pending"), make(2, "running")
        # A retried task keeps the finished_at of its last attempt: still never archived.
        pending.update(finished_at=iso(NOW - 300 * DAY))
        running.update(finished_at=iso(NOW - 300 * DAY))
        self.assertEqual(self.due([pending, running], completed=1, failed=1), [])

    def test_without_finished_at_the_creation_time_counts(self):
        task = make(1, "completed")
        task.update(finished_at=None)  # created 40 days ago
        self.assertEqual(self.due([task]), [task.id])

    def test_oldest_first(self):
        tasks = [make(1, "completed", 10), make(2, "failed", 30), make(3, "completed", 20)]
        self.assertEqual(self.due(tasks), ids([tasks[1], tasks[2], tasks[0]]))

    def test_dependencies_of_active_tasks_are_kept_with_theirs(self):
        root = make(1, "completed")
        middle = make(2, "completed", depends_on=[root.id])
        waiting = make(3, "pending", depends_on=[middle.id])
        lone = make(4, "completed")
        finished_child = make(5, "completed", depends_on=[lone.id])
        tasks = [root, middle, waiting, lone, finished_child]
        self.assertEqual(archive.protected(tasks), {root.id, middle.id})
        self.assertEqual(sorted(self.due(tasks)), sorted([lone.id, finished_child.id]))
        self.assertEqual(self.due(tasks, protected={lone.id}),
                         sorted([root.id, middle.id, finished_child.id]))

    def test_a_running_dependent_protects_too_and_missing_ids_are_fine(self):
        dep = make(1, "failed")
        running = make(2, "running", depends_on=[dep.id, "task_1700000000000_abcdef"])
        self.assertEqual(self.due([dep, running]), [])


class ArchiveCase(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)
        self.layout = Layout(self.root)
        self.store = Store(self.layout)

    def add(self, n, status="completed", ended_days_ago=30.0, files=True, **kw):
        task = make(n, status, ended_days_ago, **kw)
        self.store.create(task)
        if files:
            for kind in ("done", "exit"):
                self.store.write_sentinel(task.id, kind, "0")
            for path in (self.layout.log_file(task.id), self.layout.plan_file(task.id)):
                with open(path, "w") as f:
                    f.write(f"{os.path.basename(path)}\n")
        return task

    def on_disk(self, layout, task_id):
        """Names of the task's files present under `layout`."""
        return sorted(os.path.basename(p) for p in layout.files_of(task_id) if os.path.exists(p))

    def age(self, directory):
        # As if the last change were a minute ago: caches may then trust the mtime.
        past = os.stat(directory).st_mtime - 60
        os.utime(directory, (past, past))


class MoveTest(ArchiveCase):
    def test_every_file_moves_and_nothing_is_left(self):
        task = self.add(1)
        before = self.on_disk(self.layout, task.id)
        self.assertEqual(len(before), 5)  # json, log, plan, .done, .exit
        with self.store.locked():
            self.assertEqual(archive.archive(self.store, [task]), 1)
        self.assertEqual(self.on_disk(self.layout, task.id), [])
        self.assertEqual(self.on_disk(self.layout.archived(), task.id), before)
        self.assertEqual(self.store.scan().tasks, {})
        old = Store(self.layout.archived()).scan()
        self.assertEqual(list(old.tasks), [task.id])
        self.assertTrue(old.has(task.id, "done"))
        with open(self.layout.archived().log_file(task.id)) as f:
            self.assertEqual(f.read(), f"{task.id}.log\n")

    def test_the_archive_layout_keeps_names_and_lock(self):
        old = self.layout.archived()
        self.assertEqual(old.tasks, os.path.join(self.root, ".orchestra", "archive", "tasks"))
        self.assertEqual(old.logs, os.path.join(self.root, ".orchestra", "archive", "logs"))
        self.assertEqual(old.plans, os.path.join(self.root, ".orchestra", "archive", "plans"))
        self.assertEqual(old.scan_cache, os.path.join(self.root, ".orchestra", "archive", "scan.cache"))
        self.assertEqual(old.lock, self.layout.lock)
        self.assertEqual(os.path.basename(old.plan_file("task_1780000000000_abcdef")),
                         os.path.basename(self.layout.plan_file("task_1780000000000_abcdef")))
        self.assertEqual(self.layout.tasks, os.path.join(self.root, ".orchestra", "tasks"))

    def test_sweep_moves_only_what_is_due(self):
        old, recent, pending = self.add(1), self.add(2, ended_days_ago=1), self.add(3, "pending")
        moved, problems = archive.sweep(self.store, NOW, WEEK, FORTNIGHT)
        self.assertEqual((ids(moved), problems), ([old.id], []))
        self.assertEqual(sorted(self.store.scan().tasks), sorted([recent.id, pending.id]))
        self.assertEqual(list(Store(self.layout.archived()).scan().tasks), [old.id])

    def test_dry_run_moves_nothing(self):
        task = self.add(1)
        before = sorted(os.listdir(self.layout.tasks))
        moved, _ = archive.sweep(self.store, NOW, WEEK, FORTNIGHT, dry_run=True)
        self.assertEqual(ids(moved), [task.id])
        self.assertEqual(sorted(os.listdir(self.layout.tasks)), before)
        self.assertFalse(os.path.exists(self.layout.archive))

    def test_nothing_due_creates_nothing(self):
        self.add(1, ended_days_ago=1)
        self.assertEqual(archive.sweep(self.store, NOW, WEEK, FORTNIGHT)[0], [])
        self.assertFalse(os.path.exists(self.layout.archive))

    def test_archive_due_uses_the_default_retentions(self):
        due = [self.add(1, "completed", 8), self.add(2, "cancelled", 15)]
        self.add(3, "failed", 8)  # failed and cancelled tasks are kept 14 days
        self.add(4, "completed", 6)
        self.assertEqual(archive.archive_due(self.layout, NOW), 2)
        self.assertEqual(sorted(Store(self.layout.archived()).scan().tasks), sorted(ids(due)))
        self.assertEqual(archive.archive_due(self.layout, NOW), 0)

    @unittest.skipUnless(importlib.util.find_spec("orchestra.settings"), "no settings module")
    def test_archive_due_follows_the_settings(self):
        self.add(1, "completed", 300)
        self.add(2, "failed", 300)
        os.makedirs(self.layout.state, exist_ok=True)
        with open(os.path.join(self.layout.state, "config.json"), "w") as f:
            json.dump({"retention_completed": 0}, f)
        self.assertEqual(archive.retentions(self.layout), (0, FORTNIGHT))
        self.assertEqual(archive.archive_due(self.layout, NOW), 1)
        self.assertEqual(archive.archive_due(self.layout, NOW), 0)


class CrashTest(ArchiveCase):
    """A move interrupted part-way: the task file is in one place, its other files in either."""

    def test_interrupted_before_the_task_file_moved(self):
        task = self.add(1)
        live, old = self.layout, self.layout.archived()
        Store(old).ensure()
        # Everything moved but the task file (it goes last), then the process died.
        for src, dst in list(zip(live.files_of(task.id), old.files_of(task.id)))[1:]:
            if os.path.exists(src):
                os.replace(src, dst)
        found, archived = archive.find(self.store, task.id)
        self.assertEqual((found.id, archived), (task.id, False))
        self.assertEqual(archive.where(live, task.id, False, Layout.log_file), old.log_file(task.id))
        self.assertEqual(archive.where(live, task.id, False, Layout.plan_file), old.plan_file(task.id))
        # The next archive finishes the move.
        moved, _ = archive.sweep(self.store, NOW, WEEK, FORTNIGHT)
        self.assertEqual(ids(moved), [task.id])
        self.assertEqual(self.on_disk(live, task.id), [])
        self.assertEqual(len(self.on_disk(old, task.id)), 5)
        self.assertEqual(archive.find(self.store, task.id)[1], True)

    def test_task_file_archived_with_files_left_behind(self):
        task = self.add(1)
        live, old = self.layout, self.layout.archived()
        Store(old).ensure()
        os.replace(live.task_file(task.id), old.task_file(task.id))
        found, archived = archive.find(self.store, task.id)
        self.assertEqual((found.id, archived), (task.id, True))
        self.assertEqual(archive.where(live, task.id, True, Layout.log_file), live.log_file(task.id))
        # Never in both places, never in neither.
        self.assertFalse(os.path.exists(live.task_file(task.id)))
        self.assertEqual(self.store.scan().tasks, {})

    def test_a_missing_file_is_looked_for_beside_the_task_file(self):
        task = self.add(1, files=False)
        self.assertEqual(archive.where(self.layout, task.id, False, Layout.log_file),
                         self.layout.log_file(task.id))
        self.assertEqual(archive.where(self.layout, task.id, True, Layout.log_file),
                         self.layout.archived().log_file(task.id))

    def test_find_unknown_and_invalid_ids(self):
        with self.assertRaises(NotFound):
            archive.find(self.store, "task_1780000000000_000000")
        with self.assertRaises(OrchestraError) as e:
            archive.find(self.store, "../../etc/passwd")
        self.assertEqual(e.exception.code, 2)


class ArchiveStoreTest(ArchiveCase):
    def test_its_scan_cache_is_its_own(self):
        self.add(1)
        self.add(2, ended_days_ago=1)
        archive.sweep(self.store, NOW, WEEK, FORTNIGHT)
        old = self.layout.archived()
        self.age(old.tasks)
        self.age(self.layout.tasks)
        live = Store(self.layout, persist_cache=True).scan()
        past = Store(old, persist_cache=True).scan()
        self.assertTrue(os.path.exists(os.path.join(self.layout.archive, "scan.cache")))
        self.assertTrue(os.path.exists(os.path.join(self.layout.state, "scan.cache")))
        self.assertEqual(len(live.tasks), 1)
        self.assertEqual(len(past.tasks), 1)
        again = Store(old, persist_cache=True).scan()  # from the cache
        self.assertEqual(sorted(again.tasks), sorted(past.tasks))
        self.assertEqual(again.names, past.names)

    def test_problems_name_the_archive_file(self):
        old = self.layout.archived()
        Store(old).ensure()
        with open(os.path.join(old.tasks, "task_1780000000099_abcdef.json"), "w") as f:
            f.write("{")
        problems = Store(old).scan().problems
        self.assertEqual(len(problems), 1)
        self.assertIn(os.path.join(".orchestra", "archive", "tasks", "task_1780000000099_abcdef.json"),
                      problems[0])


class RenderedTest(ArchiveCase):
    def setUp(self):
        super().setUp()
        self.rendered = []

    def render(self, tasks):
        self.rendered += [t.id for t in tasks]
        return [f"<{t.id} {t.prompt}>" for t in tasks]

    def texts(self, version=1):
        items, problems = archive.rendered(self.layout, self.render, version)
        return sorted(item[2] for item in items), problems

    def archive_one(self, n):
        task = self.add(n)
        archive.sweep(self.store, NOW, WEEK, FORTNIGHT)
        self.age(self.layout.archived().tasks)
        return task

    def test_only_new_and_changed_files_are_rendered(self):
        self.assertEqual(archive.rendered(self.layout, self.render, 1), ([], []))
        first = self.archive_one(1)
        items, problems = archive.rendered(self.layout, self.render, 1)
        self.assertEqual((items, problems), ([(first.created_at, first.id, f"<{first.id} p1>")], []))
        self.assertEqual(self.texts(), ([f"<{first.id} p1>"], []))
        self.assertEqual(self.rendered, [first.id])  # the second time, from the cache alone
        self.texts(version=2)  # another format: not the cached text
        self.assertEqual(self.rendered, [first.id, first.id])

        second = self.archive_one(2)
        self.assertEqual(self.texts(version=2)[0], [f"<{first.id} p1>", f"<{second.id} p2>"])
        self.assertEqual(self.rendered[2:], [second.id])

        # A hand edit (a new file in its place) is noticed.
        path = self.layout.archived().task_file(first.id)
        with open(path) as f:
            data = json.load(f)
        data["prompt"] = "edited"
        with open(path + ".new", "w") as f:
            json.dump(data, f)
        os.replace(path + ".new", path)
        self.age(self.layout.archived().tasks)
        self.assertEqual(self.texts(version=2)[0], [f"<{first.id} edited>", f"<{second.id} p2>"])
        self.assertEqual(self.rendered[3:], [first.id])

    def test_a_fresh_directory_is_not_trusted(self):
        task = self.add(1)
        archive.sweep(self.store, NOW, WEEK, FORTNIGHT)
        self.texts()
        self.texts()
        self.assertEqual(self.rendered, [task.id, task.id])

    def test_unreadable_files_are_reported_every_time(self):
        self.archive_one(1)
        with open(os.path.join(self.layout.archived().tasks, "task_1780000000099_abcdef.json"), "w") as f:
            f.write("{")
        self.age(self.layout.archived().tasks)
        for _ in range(2):
            texts, problems = self.texts()
            self.assertEqual(len(texts), 1)
            self.assertEqual(len(problems), 1)
            self.assertIn(os.path.join("archive", "tasks", "task_1780000000099_abcdef.json"),
                          problems[0])


class JsonObjectsTest(unittest.TestCase):
    def test_the_same_text_as_json_dumps(self):
        task = make(1, "failed", depends_on=["task_1780000000000_abcdef"]).to_dict()
        dicts = [
            make(2).to_dict(),
            task,
            dict(make(3).to_dict(), timeout=1800.0, prompt='quote " backslash \\ newline \n é ☃ \x00',
                 extra={"nested": [1, 2.5, None, {"k": []}], "%s": "%d"}, archived=True),
            {"id": "x", "weird": [float("inf"), float("nan"), -0.0, 10 ** 30, True, False]},
            {"%(a)s": 1, "100%": "%"},
            {1: "non-string key"},
            {},
        ]
        for d in dicts:
            expected = json.dumps([d], indent=2, ensure_ascii=False)
            self.assertEqual("[\n" + ",\n".join(indented([d], 1)) + "\n]", expected)
            self.assertEqual(indented([d])[0], json.dumps(d, indent=2, ensure_ascii=False))
        expected = json.dumps(dicts, indent=2, ensure_ascii=False)
        self.assertEqual("[\n" + ",\n".join(indented(dicts, 1)) + "\n]", expected)
        self.assertTrue(math.isnan(json.loads(expected)[3]["weird"][1]))


class WaitTest(unittest.TestCase):
    """`wait` on a task that was archived reports its outcome, in-process."""

    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)
        layout = Layout(self.root)
        Store(layout).ensure()
        archived = Store(layout.archived())
        self.done, self.failed = make(1, "completed"), make(2, "failed")
        self.failed.update(reason="exit", error="exited 3", exit_code=3)
        for task in (self.done, self.failed):
            archived.create(task)

    def wait(self, *ids):
        import contextlib
        import io
        from orchestra import cli
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["--root", self.root, "wait", *ids])
        return code, err.getvalue()

    def test_an_archived_task_s_outcome_is_its_exit_status(self):
        self.assertEqual(self.wait(self.done.id), (0, ""))
        code, err = self.wait(self.done.id, self.failed.id)
        self.assertEqual(code, 1)
        self.assertIn(f"{self.failed.id} failed (exit): exited 3", err)

    def test_a_task_in_neither_place_is_still_unknown(self):
        code, err = self.wait("task_1780000000999_abcdef")
        self.assertEqual(code, 2, err)


if __name__ == "__main__":
    unittest.main()
