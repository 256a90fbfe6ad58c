"""`status` of isolated tasks reads only task files: it never runs git (or anything else)."""

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
import time
import unittest
from unittest import mock

from orchestra import cli, worktree
from orchestra.clock import iso
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.task import Task, new_id


def _refuse(*args, **kwargs):
    raise AssertionError(f"status started a process: {args[0] if args else kwargs}")


@unittest.skipUnless(shutil.which("git"), "needs git")
class IsolatedStatusTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, self.root, True)

        def git(*args):
            subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                           cwd=self.root, check=True, capture_output=True)

        git("init", "-q", "-b", "main")
        with open(os.path.join(self.root, "a.txt"), "w") as f:
            f.write("a\n")
        git("add", "a.txt")
        git("commit", "-q", "-m", "init")
        self.layout = Layout(self.root)
        self.store = Store(self.layout)
        isolation = worktree.resolve(self.layout)
        now = time.time()
        self.done = Task.new(new_id(now - 2), "demo", "change a", now - 2, isolation=isolation)
        path, branch = worktree.placement(self.layout, self.done)
        self.done.data.update(worktree=path, branch=branch)
        worktree.make(self.layout, self.done)
        with open(os.path.join(worktree.directory(self.layout, self.done), "a.txt"), "a") as f:
            f.write("b\n")
        head, changes = worktree.save(self.layout, self.done, "completed")
        self.done.data.update(status="completed", attempt=1, exit_code=0, head=head,
                              changes=changes, started_at=iso(now - 2), finished_at=iso(now - 1))
        self.store.create(self.done)
        self.queued = Task.new(new_id(now - 1), "demo", "queued", now - 1, isolation=isolation)
        self.store.create(self.queued)

    def status(self, *args):
        out, err = io.StringIO(), io.StringIO()
        with mock.patch.object(subprocess, "Popen", _refuse), \
                mock.patch.object(subprocess, "run", _refuse), \
                mock.patch.object(os, "system", _refuse), \
                contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["--root", self.root, "status", *args])
        return code, out.getvalue(), err.getvalue()

    def test_status_of_isolated_tasks_starts_no_process(self):
        for args in ((), ("--all",), ("--json",)):
            code, out, err = self.status(*args)
            self.assertEqual(code, 0, err)
            self.assertEqual(err, "")
            # the table's abbreviations start the ids' last parts, as short_id() does
            self.assertIn(self.queued.short_id()[:4], out)
            self.assertIn(self.done.short_id()[:4], out)


if __name__ == "__main__":
    unittest.main()
