"""End-to-end tests of `start --batch` and `start --depends-on`, through `python -m orchestra`."""

import contextlib
import errno
import io
import json
import os
import time
import unittest
from unittest import mock

from orchestra import cli, store
from tests.helpers import ProjectCase

ID = r"task_\d{13}_[0-9a-f]{6}"
UNKNOWN = "task_1700000000000_abcdef"


class BatchCase(ProjectCase):
    def task_files(self):
        tasks = os.path.join(self.root, ".orchestra", "tasks")
        return sorted(f for f in os.listdir(tasks) if f.endswith(".json")) if os.path.isdir(tasks) else []

    def write_batch(self, text, name="batch.txt"):
        path = os.path.join(self.root, name)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)
        return path

    def fails(self, code, *args, **kw):
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, code, f"orchestra {' '.join(args)}:\n{r.stdout}{r.stderr}")
        self.assertNotIn("Traceback", r.stderr)
        for line in r.stderr.splitlines():
            self.assertTrue(line.startswith("orchestra:"), f"unexpected stderr line {line!r}")
        self.assertEqual(r.stdout, "")
        return r


class DependsOnTest(BatchCase):
    def test_depends_on_records_the_ids(self):
        a, b = self.start("echo=a"), self.start("echo=b")
        c = self.ok("start", "-q", "fake", "echo=c", "--depends-on", a, b, a).strip()
        self.assertEqual(self.task(c)["depends_on"], [a, b])
        d = self.ok("start", "-q", "fake", "--after", c, "--", "echo=d").strip()
        self.assertEqual(self.task(d)["depends_on"], [c])
        self.assertEqual(self.task(a)["depends_on"], [])
        out = self.ok("start", "fake", "echo=e", "--after", a)
        self.assertRegex(out, rf"^queued {ID} \(fake; after 1 task\)")

    def test_unknown_dependency_is_exit_2_and_creates_nothing(self):
        a = self.start("echo=a")
        r = self.fails(2, "start", "fake", "echo=x", "--depends-on", a, UNKNOWN)
        self.assertIn(f"no task {UNKNOWN}", r.stderr)
        self.assertEqual(self.task_files(), [a + ".json"])

    def test_malformed_dependency_is_exit_2_with_a_hint(self):
        for ids in (["../../etc/passwd"], ["task_x1"]):
            with self.subTest(ids=ids):
                r = self.fails(2, "start", "fake", "echo=x", "--depends-on", *ids)
                self.assertIn("invalid task id", r.stderr)
        # The prompt after the ids is taken for an id: the message says how to write it.
        a = self.start("echo=a")
        r = self.fails(2, "start", "fake", "--after", a, "echo=x")
        self.assertIn("'echo=x'", r.stderr)
        self.assertIn("--", r.stderr)
        self.assertEqual(self.task_files(), [a + ".json"])

    def test_options_before_the_prompt_still_work(self):
        tid = self.ok("start", "-q", "fake", "--priority", "3", "echo=a", "echo=b").strip()
        self.assertEqual((self.task(tid)["prompt"], self.task(tid)["priority"]), ("echo=a echo=b", 3))


class BatchTest(BatchCase):
    def test_batch_queues_every_line_in_file_order(self):
        a = self.start("echo=existing")
        path = self.write_batch(
            "# the plan\n"                                                               # 1
            "echo=one\n"                                                                 # 2
            "\n"                                                                         # 3
            '{"prompt": "echo=two", "priority": 5, "timeout": "30m", "max_retries": 2}\n'  # 4
            f'{{"prompt": "echo=three", "depends_on": ["@2", "@4", "{a}"]}}\n'          # 5
            "echo=four\n")                                                               # 6
        r = self.run_cli("start", "fake", "--batch", path, "--priority", "1", "--timeout", "90")
        self.assertEqual(r.returncode, 0, r.stderr)
        ids = r.stdout.split()
        self.assertEqual(len(ids), 4)
        for tid in ids:
            self.assertRegex(tid, rf"\A{ID}\Z")
        self.assertEqual(ids, sorted(ids))  # ids (and `ls`) sort in file order
        self.assertEqual(r.stderr.strip(), "orchestra: queued 4 tasks (fake); `orchestra run` starts them")
        tasks = [self.task(t) for t in ids]
        self.assertEqual([t["prompt"] for t in tasks], ["echo=one", "echo=two", "echo=three", "echo=four"])
        self.assertEqual([t["status"] for t in tasks], ["pending"] * 4)
        self.assertEqual([t["priority"] for t in tasks], [1, 5, 1, 1])  # the option is the default
        self.assertEqual([t["timeout"] for t in tasks], [90.0, 1800.0, 90.0, 90.0])
        self.assertEqual([t["max_retries"] for t in tasks], [0, 2, 0, 0])
        self.assertEqual(tasks[2]["depends_on"], [ids[0], ids[1], a])
        self.assertEqual(len({t["created_at"] for t in tasks}), 1)
        self.assertEqual(len(self.task_files()), 5)

    def test_quiet_and_json(self):
        path = self.write_batch("echo=a\necho=b\n")
        r = self.run_cli("start", "-q", "fake", "--batch", path)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertRegex(r.stdout, rf"\A{ID}\n{ID}\n\Z")
        tasks = json.loads(self.ok("start", "--json", "fake", "--batch", path))
        self.assertEqual([t["prompt"] for t in tasks], ["echo=a", "echo=b"])
        for t in tasks:
            self.assertEqual(t, self.task(t["id"]))

    def test_batch_from_stdin(self):
        a = self.start("echo=existing")
        out = self.ok("start", "-q", "fake", "--batch", "-", "--after", a,
                      input='echo=x\n{"prompt": "echo=y", "depends_on": "@1"}\n')
        x, y = out.split()
        self.assertEqual([self.task(x)["prompt"], self.task(y)["prompt"]], ["echo=x", "echo=y"])
        # --depends-on applies to every line, after the line's own dependencies.
        self.assertEqual(self.task(x)["depends_on"], [a])
        self.assertEqual(self.task(y)["depends_on"], [x, a])

    def test_one_bad_line_queues_nothing(self):
        lines = ["echo=ok"] * 20
        lines[6] = '{"prompt": "echo=x", "priority": "high"}'
        path = self.write_batch("\n".join(lines) + "\n")
        r = self.fails(2, "start", "fake", "--batch", path)
        self.assertIn("orchestra: batch line 7: ", r.stderr)
        self.assertIn("priority", r.stderr)
        self.assertIn("nothing was queued", r.stderr)
        self.assertEqual(self.task_files(), [])

    def test_problems_are_listed_one_a_line_up_to_ten(self):
        path = self.write_batch('{"prompt": ""}\n' * 25)
        r = self.fails(2, "start", "fake", "--batch", path)
        lines = r.stderr.splitlines()
        self.assertEqual([line.split(":")[1].strip() for line in lines[:10]],
                         [f"batch line {n}" for n in range(1, 11)])
        self.assertIn("15 more", lines[10])
        self.assertIn("25 problems", lines[11])
        self.assertEqual(len(lines), 12)
        self.assertEqual(self.task_files(), [])

    def test_unknown_dependency_in_a_line_queues_nothing(self):
        path = self.write_batch(f'echo=a\n{{"prompt": "echo=b", "depends_on": "{UNKNOWN}"}}\n')
        r = self.fails(2, "start", "fake", "--batch", path)
        self.assertIn(f"batch line 2: no task {UNKNOWN}", r.stderr)
        self.assertEqual(self.task_files(), [])
        r = self.fails(2, "start", "fake", "--batch", self.write_batch("echo=a\n", "ok.txt"),
                       "--depends-on", UNKNOWN)
        self.assertIn(f"no task {UNKNOWN}", r.stderr)
        self.assertEqual(self.task_files(), [])

    def test_usage_errors(self):
        path = self.write_batch("echo=a\n")
        cases = [(("start", "fake"), "neither"), (("start", "fake", "echo=a", "--batch", path), "both"),
                 (("start", "fake", "--batch", os.path.join(self.root, "missing.txt")), "missing.txt"),
                 (("start", "fake", "--batch", self.write_batch("# nothing\n\n", "empty.txt")), "no tasks"),
                 (("start", "nosuchagent", "--batch", path), "nosuchagent")]
        for argv, word in cases:
            with self.subTest(argv=argv):
                r = self.fails(2, *argv)
                self.assertIn(word, r.stderr)
        self.assertEqual(self.task_files(), [])

    def test_a_thousand_tasks(self):
        path = self.write_batch("".join(
            f'{{"prompt": "echo={i}", "priority": {i % 3}}}\n' if i % 2 else f"echo={i}\n"
            for i in range(1000)))
        began = time.monotonic()
        r = self.run_cli("start", "-q", "fake", "--batch", path)
        elapsed = time.monotonic() - began
        self.assertEqual(r.returncode, 0, r.stderr)
        ids = r.stdout.split()
        self.assertEqual(len(ids), 1000)
        self.assertEqual(ids, sorted(ids))
        self.assertEqual(len(self.task_files()), 1000)
        self.assertEqual(self.task(ids[999])["prompt"], "echo=999")
        # The target is 1 s; the margin is for a busy machine (bench/ measures, tests check).
        self.assertLess(elapsed, 5.0)


class BatchAtomicityTest(BatchCase):
    """A write failing half-way (a full disk) leaves no task behind: run in-process, with the
    failure injected."""

    def main(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["--root", self.root, *argv])
        return code, out.getvalue(), err.getvalue()

    def test_disk_full_half_way_queues_nothing(self):
        path = self.write_batch("".join(f"echo={i}\n" for i in range(10)))
        real, calls = store.write_atomic, []

        def failing(target, text, **kw):
            calls.append(target)
            if len(calls) == 6:
                raise OSError(errno.ENOSPC, "No space left on device", target)
            return real(target, text, **kw)

        with mock.patch.object(store, "write_atomic", failing):
            code, out, err = self.main("start", "fake", "--batch", path)
        self.assertEqual(code, 1)
        self.assertEqual(out, "")
        self.assertEqual(len(err.strip().splitlines()), 1, err)
        self.assertRegex(err, r"^orchestra: nothing was queued: No space left on device")
        self.assertEqual(self.task_files(), [])
        leftovers = os.listdir(os.path.join(self.root, ".orchestra", "tasks"))
        self.assertEqual(leftovers, [])  # no temporary files either

    def test_failing_sync_queues_nothing(self):
        path = self.write_batch("".join(f"echo={i}\n" for i in range(40)))
        with mock.patch.object(os, "fsync", side_effect=OSError(errno.EIO, "Input/output error")):
            code, out, err = self.main("start", "fake", "--batch", path)
        self.assertEqual((code, out), (1, ""))
        self.assertRegex(err, r"\Aorchestra: nothing was queued: Input/output error\n\Z")
        self.assertEqual(os.listdir(os.path.join(self.root, ".orchestra", "tasks")), [])

    def test_a_taken_id_draws_another_range(self):
        path = self.write_batch("echo=a\necho=b\necho=c\n")
        real, calls = store.write_atomic, []

        def collide(target, text, **kw):
            calls.append(target)
            if len(calls) == 2:
                raise FileExistsError(errno.EEXIST, "File exists", target)
            return real(target, text, **kw)

        with mock.patch.object(store, "write_atomic", collide):
            code, out, err = self.main("start", "-q", "fake", "--batch", path)
        self.assertEqual(code, 0, err)
        ids = out.split()
        self.assertEqual(len(ids), 3)
        self.assertEqual(sorted(self.task_files()), sorted(i + ".json" for i in ids))
        self.assertNotIn(os.path.basename(calls[0])[:-5], ids)  # the first range was given up


if __name__ == "__main__":
    unittest.main()
