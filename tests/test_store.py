import json
import os
import shutil
import tempfile
import unittest
import unittest.mock

from orchestra.clock import iso
from orchestra.errors import NotFound, OrchestraError
from orchestra.paths import Layout, find_root
from orchestra.files import json_text, write_atomic
from orchestra.store import Store
from orchestra.table import fixed_cells
from orchestra.task import Task

NOW = 1_790_000_000.0


class StoreTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)
        self.store = Store(Layout(self.root))

    def new(self, n):
        task = Task.new(f"task_{1790000000000 + n}_abcdef", "a", f"p{n}", NOW + n)
        self.store.create(task)
        return task

    def test_create_scan_get(self):
        a, b = self.new(1), self.new(2)
        snap = self.store.scan()
        self.assertEqual(set(snap.tasks), {a.id, b.id})
        self.assertEqual(self.store.get(a.id).prompt, "p1")

    def test_a_task_file_is_the_text_json_gives_it(self):
        odd = Task.new("task_1780000000000_abcdef", "coder", 'a "quote" é ☃ \x00 100%s', 1e9,
                       labels=["x"], depends_on=["task_1780000000000_fedcba"])
        odd.update(error="lone \ud800 surrogate", tokens_in=12345, cost_usd=0.5)
        for task in (Task.new("task_1780000000000_abcdef", "coder", "p", 1e9), odd):
            self.store.create(task)
            with open(self.store.layout.task_file(task.id), encoding="utf-8") as f:
                self.assertEqual(f.read(), json_text(task.to_dict(), indent=2) + "\n")
            self.assertEqual(self.store.get(task.id).to_dict(), task.to_dict())
            os.unlink(self.store.layout.task_file(task.id))

    def test_create_never_overwrites(self):
        self.new(1)
        with self.assertRaises(FileExistsError):
            self.new(1)

    def test_scan_sees_updates_and_deletes(self):
        a = self.new(1)
        self.store.scan()
        changed = a.copy()
        changed.update(status="running")
        self.store.save(changed)
        self.assertEqual(self.store.scan().tasks[a.id].status, "running")
        self.store.delete(a.id)
        self.assertEqual(self.store.scan().tasks, {})

    def test_what_this_store_saved_is_not_parsed_again_but_other_writes_are(self):
        a, b = self.new(1), self.new(2)
        self.store.scan()
        mine = a.copy()
        mine.update(status="running")
        self.store.save(mine)
        theirs = b.copy()
        theirs.update(status="cancelled")
        Store(self.store.layout).save(theirs)  # another process
        parsed = []
        real = Task.from_dict

        def counting(data):
            parsed.append(data["id"])
            return real(data)

        with unittest.mock.patch.object(Task, "from_dict", side_effect=counting):
            snap = self.store.scan()
        self.assertEqual(parsed, [b.id])
        self.assertEqual((snap.tasks[a.id].status, snap.tasks[b.id].status),
                         ("running", "cancelled"))

    def test_a_save_that_does_not_wait_for_the_disk_keeps_the_durable_version(self):
        a = self.new(1)
        keep = self.store.layout.durable_copy(a.id)
        running = a.copy()
        running.update(status="running", attempt=1)
        self.store.save(running, a, durable=False)
        again = running.copy()
        again.update(pid=42)
        self.store.save(again, durable=False)
        with open(keep) as f:
            self.assertEqual(json.load(f)["status"], "pending")  # the last durable one
        self.assertEqual(self.store.get(a.id).pid, 42)
        done = again.copy()
        done.update(status="completed")
        self.store.save(done, again)
        self.assertFalse(os.path.exists(keep))
        self.assertEqual(self.store.get(a.id).status, "completed")

    def test_after_a_crash_an_unreadable_task_file_falls_back_to_its_durable_version(self):
        a, b = self.new(1), self.new(2)
        for task in (a, b):
            running = task.copy()
            running.update(status="running", attempt=1)
            self.store.save(running, task, durable=False)
        # What a crash can leave on a file system that does not order a rename after the
        # data: the new name, with nothing in it.
        open(self.store.layout.task_file(a.id), "w").close()
        self.assertEqual(self.store.get(a.id).status, "pending")
        snap = Store(self.store.layout).scan()
        self.assertEqual(snap.problems, [])
        self.assertEqual((snap.tasks[a.id].status, snap.tasks[b.id].status), ("pending", "running"))
        self.store.delete(a.id)
        self.assertFalse(os.path.exists(self.store.layout.durable_copy(a.id)))
        # Without a durable copy an unreadable file is still reported, not guessed at.
        open(self.store.layout.task_file(b.id), "w").close()
        os.unlink(self.store.layout.durable_copy(b.id))
        self.assertEqual(len(Store(self.store.layout).scan().problems), 1)
        with self.assertRaises(OrchestraError):
            self.store.get(b.id)

    def test_a_task_file_under_another_tasks_name_is_not_acted_on(self):
        a = self.new(1)
        other = "task_1111111111111_aaaaaa"
        shutil.copy(self.store.layout.task_file(a.id), self.store.layout.task_file(other))
        with self.assertRaises(OrchestraError) as caught:
            self.store.get(other)
        self.assertIn(f"its id is {a.id}", caught.exception.message)

    def test_an_event_after_a_line_cut_short_is_a_line_of_its_own(self):
        self.new(1)
        with open(self.store.layout.events, "ab") as f:
            f.write(b'{"time": "2026-11-28T00:00:00Z", "task": "task_17')  # a torn write
        b = self.new(2)
        with open(self.store.layout.events, "rb") as f:
            lines = f.read().split(b"\n")
        self.assertEqual(json.loads(lines[-2])["task"], b.id)
        self.assertEqual(lines[-1], b"")
        self.assertEqual(len(lines), 4)  # the first event, the torn line, this one, ""

    def test_corrupt_file_is_reported_and_skipped(self):
        good = self.new(1)
        bad = os.path.join(self.store.layout.tasks, "task_1790000000099_abcdef.json")
        with open(bad, "w") as f:
            f.write("{ half a task")
        snap = self.store.scan()
        self.assertEqual(list(snap.tasks), [good.id])
        self.assertEqual(len(snap.problems), 1)
        self.assertIn("task_1790000000099_abcdef.json", snap.problems[0])
        with self.assertRaises(OrchestraError):
            self.store.get("task_1790000000099_abcdef")

    def test_get_validates_ids(self):
        with self.assertRaises(OrchestraError) as e:
            self.store.get("../../etc/passwd")
        self.assertIn("invalid task id", e.exception.message)
        with self.assertRaises(NotFound):
            self.store.get("task_1790000000000_000000")

    def test_error_sentinel_formats(self):
        t = self.new(1)
        self.assertIsNone(self.store.read_error(t.id))
        for text, expected in ((json.dumps({"error": "no tests", "details": "pytest missing"}),
                                "no tests: pytest missing"),
                               ("plain words\n", "plain words"),
                               ("", "the agent wrote an empty .error file")):
            self.store.write_sentinel(t.id, "error", text)
            self.assertEqual(self.store.read_error(t.id), expected)

    def test_clear_sentinels(self):
        t = self.new(1)
        for kind in ("done", "error", "exit", "timeout", "cancelled"):
            self.store.write_sentinel(t.id, kind, "1")
        self.store.clear_sentinels(t.id)
        self.assertEqual(sorted(os.listdir(self.store.layout.tasks)), [t.id + ".json"])

    def test_atomic_write_leaves_no_temp_file_on_failure(self):
        path = os.path.join(self.root, "x.json")
        with self.assertRaises(TypeError):
            write_atomic(path, None)
        self.assertEqual(os.listdir(self.root), [])


class FindRootTest(unittest.TestCase):
    def test_nearest_marked_ancestor_then_cwd(self):
        root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, root)
        deep = os.path.join(root, "a", "b")
        os.makedirs(deep)
        self.assertEqual(find_root(cwd=deep, environ={}), deep)
        os.makedirs(os.path.join(root, ".orchestra-cli"))
        self.assertEqual(find_root(cwd=deep, environ={}), root)
        self.assertEqual(find_root(cwd=deep, environ={"ORCHESTRA_ROOT": deep}), deep)
        self.assertEqual(find_root(explicit=deep, cwd=root, environ={}), deep)
        with self.assertRaises(OrchestraError):
            find_root(explicit=os.path.join(root, "missing"), environ={})


if __name__ == "__main__":
    unittest.main()


class ScanCacheTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)
        self.layout = Layout(self.root)
        writer = Store(self.layout)
        for n in range(3):
            writer.create(Task.new(f"task_{1790000000000 + n}_abcdef", "a", f"p{n}", NOW + n))

    def age_directory(self):
        # As if the last change were a minute ago: the cache may then trust the mtime.
        past = os.stat(self.layout.tasks).st_mtime - 60
        os.utime(self.layout.tasks, (past, past))

    def test_cache_is_shared_between_processes_and_follows_changes(self):
        self.age_directory()
        first = Store(self.layout, persist_cache=True).scan()
        self.assertTrue(os.path.exists(os.path.join(self.layout.state, "scan.cache")))
        again = Store(self.layout, persist_cache=True).scan()
        self.assertEqual(sorted(again.tasks), sorted(first.tasks))
        self.assertEqual(again.names, first.names)

        writer = Store(self.layout)
        task = writer.get(sorted(first.tasks)[0])
        changed = task.copy()
        changed.update(status="cancelled")
        writer.save(changed)
        writer.write_sentinel(task.id, "cancelled", "x")
        writer.create(Task.new("task_1790000000009_abcdef", "a", "new", NOW + 9))
        snap = Store(self.layout, persist_cache=True).scan()
        self.assertEqual(snap.tasks[task.id].status, "cancelled")
        self.assertIn("task_1790000000009_abcdef", snap.tasks)
        self.assertTrue(snap.has(task.id, "cancelled"))

    def test_a_corrupt_cache_is_rebuilt(self):
        os.makedirs(self.layout.state, exist_ok=True)
        with open(os.path.join(self.layout.state, "scan.cache"), "wb") as f:
            f.write(b"\x00garbage")
        self.assertEqual(len(Store(self.layout, persist_cache=True).scan().tasks), 3)

    def test_problems_are_reported_from_the_cache_too(self):
        with open(os.path.join(self.layout.tasks, "task_1790000000099_abcdef.json"), "w") as f:
            f.write("{")
        self.age_directory()
        Store(self.layout, persist_cache=True).scan()
        snap = Store(self.layout, persist_cache=True).scan()
        self.assertEqual(len(snap.problems), 1)
        self.assertEqual(len(snap.tasks), 3)


def read_cache(path):
    """(the columns' part as a list, each task's packed contents, the keys) of a scan cache."""
    import marshal
    with open(path, "rb") as f:
        data = f.read()
    length = int.from_bytes(data[:8], "little")
    head = list(marshal.loads(data[8:8 + length]))
    ends = head[-1]
    packed = [data[8 + length + a:8 + length + b] for a, b in zip([0] + ends[:-1], ends)]
    return head, packed, marshal.loads(data[8 + length + (ends[-1] if ends else 0):])


def write_cache(path, head, packed, keys):
    """A scan cache of these parts, as scancache.save lays them out."""
    import marshal
    ends, end = [], 0
    for chunk in packed:
        end += len(chunk)
        ends.append(end)
    head = marshal.dumps(tuple(head[:-1]) + (ends,))
    with open(path, "wb") as f:
        f.write(len(head).to_bytes(8, "little") + head + b"".join(packed) + marshal.dumps(keys))


class CacheUpgradeTest(unittest.TestCase):
    def test_a_cache_from_a_version_with_fewer_fields_is_not_trusted(self):
        import marshal
        from orchestra.task import FIELDS
        root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, root)
        layout = Layout(root)
        writer = Store(layout)
        task = Task.new("task_1790000000000_abcdef", "a", "p", NOW)
        writer.create(task)
        Store(layout, persist_cache=True).scan()
        path = os.path.join(layout.state, "scan.cache")
        head, (packed,), keys = read_cache(path)
        # As an older orchestra wrote it: the last field did not exist yet.
        last = list(FIELDS)[-1]
        head[0] = tuple(part[:-1] if part == tuple(FIELDS) else part for part in head[0])
        values, derived = marshal.loads(packed)
        d = dict(zip(FIELDS, values))
        write_cache(path, head, [marshal.dumps(({f: v for f, v in d.items() if f != last},
                                                derived))], keys)
        snap = Store(layout, persist_cache=True).scan()
        self.assertEqual(set(snap.tasks[task.id].data), set(FIELDS))


class CachedCellsTest(unittest.TestCase):
    """The scan cache keeps each task's table.fixed_cells: they must be what the task file
    says now, never what it said when they were cached."""

    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.addCleanup(shutil.rmtree, self.root)
        self.layout = Layout(self.root)
        self.writer = Store(self.layout)
        self.task = Task.new("task_1790000000000_abcdef", "a", "say\n  hello", NOW)
        self.writer.create(self.task)
        past = os.stat(self.layout.tasks).st_mtime - 60
        os.utime(self.layout.tasks, (past, past))  # old enough for the cache to trust
        Store(self.layout, persist_cache=True).scan()

    def cached(self):
        return Store(self.layout, persist_cache=True).scan().tasks[self.task.id]

    def test_cells_from_the_cache_are_the_computed_ones(self):
        task = self.cached()
        self.assertEqual(task.memo(fixed_cells), fixed_cells(Task(dict(task.data))))
        self.assertEqual(task.memo(fixed_cells), ("pending", "-", "-", "say hello", None))

    def test_a_changed_task_file_gets_new_cells(self):
        done = self.task.copy()
        done.update(status="failed", reason="exit", attempt=1, started_at=iso(NOW),
                    finished_at=iso(NOW + 75))
        self.writer.save(done)
        self.assertEqual(self.cached().memo(fixed_cells),
                         ("failed: exit", "1m15s", "1", "say hello", None))

    def test_a_cache_with_cells_of_another_format_is_not_trusted(self):
        import marshal
        head, (packed,), keys = read_cache(self.layout.scan_cache)
        header = head[0]
        head[0] = header[:-1] + (header[-1] + 1,)  # as a version with other cells wrote it
        d, derived = marshal.loads(packed)
        write_cache(self.layout.scan_cache, head,
                    [marshal.dumps((d, dict(derived, fixed_cells=("stale",) * 5)))], keys)
        self.assertEqual(self.cached().memo(fixed_cells), ("pending", "-", "-", "say hello", None))
