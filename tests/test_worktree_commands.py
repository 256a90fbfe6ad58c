"""diff, discard, worktree list/prune, clean and archive around worktrees, and show, in-process
against real git repositories in temp dirs (tasks are made by hand: no agent runs)."""

import contextlib
import io
import os
import shutil
import subprocess
import tempfile
import time
import unittest

from orchestra import archive, cli, git, worktree
from orchestra.clock import iso
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.task import Task, new_id
from orchestra.transitions import placed, with_work
from tests.helpers import row_of

_IDENTITY = ("-c", "user.name=t", "-c", "user.email=t@t")


def _git(cwd, *argv):
    subprocess.run(("git",) + _IDENTITY + argv, cwd=cwd, check=True, capture_output=True)


class WorktreeCommandsTest(unittest.TestCase):
    def setUp(self):
        self.root = os.path.realpath(tempfile.mkdtemp())
        self.addCleanup(shutil.rmtree, self.root, True)
        _git(self.root, "init", "-q", "-b", "main")
        with open(os.path.join(self.root, "a.txt"), "w") as f:
            f.write("one\ntwo\nthree\n")
        _git(self.root, "add", "a.txt")
        _git(self.root, "commit", "-qm", "initial")
        self.layout = Layout(self.root)
        self.store = Store(self.layout)
        self.store.ensure()
        self.isolation = worktree.resolve(self.layout)

    def task(self, prompt="change a", files=None, commit=True, status="completed", ago=0.0):
        """A finished isolated task whose agent wrote `files` (path -> text) in its worktree,
        committed (as a run's end does) unless commit=False; `ago`: seconds since it ended."""
        now = time.time()
        t = Task.new(new_id(), "demo", prompt, now - ago - 10, isolation=self.isolation)
        self.store.create(t)
        where, branch = worktree.placement(self.layout, t)
        t = placed(t, worktree=where, branch=branch, base=t.base)
        worktree.make(self.layout, t)
        path = worktree.directory(self.layout, t)
        for name, text in (files or {}).items():
            with open(os.path.join(path, name), "w") as f:
                f.write(text)
        t.update(status=status, attempt=1, started_at=iso(now - ago - 5),
                 finished_at=iso(now - ago))
        if commit:
            head, changes = (worktree.save(self.layout, t, "completed") if files
                             else (t.base, [0, 0, 0]))
            t = with_work(t, head=head, changes=changes)
        self.store.save(t)
        return t, path

    def main(self, *argv):
        out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
        err = io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["--root", self.root, "--no-color", *argv])
        out.flush()
        return code, out.buffer.getvalue().decode("utf-8"), err.getvalue()

    def get(self, task_id):
        return archive.find(self.store, task_id)[0]

    # -- diff ------------------------------------------------------------------------

    def test_diff_shows_the_branch_against_its_base_and_commits_what_was_left(self):
        t, path = self.task(files={"a.txt": "one\nTWO\nthree\n", "b.txt": "new\n"})
        with open(os.path.join(path, "c.txt"), "w") as f:
            f.write("left after the run\n")
        code, out, err = self.main("diff", t.id)
        self.assertEqual(code, 0, err)
        self.assertIn("+TWO\n", out)
        self.assertIn("-two\n", out)
        self.assertIn("+++ b/b.txt", out)
        self.assertIn("+left after the run", out)  # committed first, then shown
        self.assertNotIn("\x1b[", out)
        self.assertEqual(git.dirty(path), [])
        self.assertEqual(self.get(t.id).changes, [3, 3, 1])
        code, out, _ = self.main("diff", "--stat", t.id)
        self.assertEqual(code, 0)
        self.assertIn("3 files changed, 3 insertions(+), 1 deletion(-)", out)
        self.assertNotIn("+TWO", out)

    def test_diff_of_a_task_without_a_worktree_or_a_branch(self):
        plain = Task.new(new_id(), "demo", "no isolation", time.time())
        self.store.create(plain)
        code, _, err = self.main("diff", plain.id)
        self.assertEqual(code, 2)
        self.assertIn("does not run in a worktree", err)
        t, _ = self.task()
        worktree.discard(self.layout, t)
        code, _, err = self.main("diff", t.id)
        self.assertEqual(code, 1)
        self.assertIn(f"the branch {t.branch} of {t.id} is gone", err)

    def test_diff_of_a_running_task_shows_its_worktree_as_it_is(self):
        t, path = self.task("still going", status="running", commit=False)
        with open(os.path.join(path, "a.txt"), "w") as f:
            f.write("one\ntwo\nthree\nfour\n")
        code, out, err = self.main("diff", t.id)
        self.assertEqual(code, 0, err)
        self.assertIn("+four\n", out)
        self.assertIn("is still running", err)
        self.assertEqual(git.dirty(path), ["a.txt"])  # the agent's worktree is left as it is

    # -- discard ---------------------------------------------------------------------

    def test_discard_says_what_it_deletes(self):
        t, path = self.task(files={"b.txt": "work\n"})
        with open(os.path.join(path, "loose.txt"), "w") as f:
            f.write("never committed\n")
        running, _ = self.task("still going", status="running")
        code, out, err = self.main("discard", t.id, running.id)
        self.assertEqual(code, 1)
        self.assertIn(f"discarded {t.id}: branch {t.branch} (1 commit not in main), worktree "
                      f".orchestra/worktrees/{t.id} (1 uncommitted file)", out)
        self.assertIn(f"{running.id} is running: cancel it first", err)
        self.assertFalse(os.path.exists(path))
        self.assertFalse(git.branch_exists(self.root, t.branch))
        self.assertEqual((self.get(t.id).branch, self.get(t.id).worktree), (None, None))
        self.assertTrue(git.branch_exists(self.root, running.branch))

    # -- worktree list / prune -------------------------------------------------------

    def test_prune_removes_what_is_safe_and_keeps_the_rest(self):
        empty, empty_path = self.task("did nothing")
        work, work_path = self.task("did work", files={"b.txt": "work\n"})
        nested, nested_path = self.task("left a nested repository")
        self._leave_uncommittable(nested_path)
        code, out, err = self.main("worktree", "prune")
        self.assertEqual(code, 0, err)
        self.assertFalse(os.path.exists(empty_path))
        self.assertFalse(git.branch_exists(self.root, empty.branch))
        self.assertEqual(self.get(empty.id).branch, None)
        self.assertFalse(os.path.exists(work_path))  # clean: removed, the branch keeps it
        self.assertTrue(git.branch_exists(self.root, work.branch))
        self.assertIn(f"branch {work.branch} kept: 1 commit(s) not in main", out)
        self.assertTrue(os.path.exists(nested_path))  # uncommitted work is never removed
        self.assertIn(f"worktree .orchestra/worktrees/{nested.id} kept", out)
        code, out, _ = self.main("worktree", "list")
        self.assertIn("removed; its work is on its branch; 1 commit not in main",
                      row_of(work.id, out))
        self.assertIn("dirty: 1 uncommitted file", row_of(nested.id, out))
        self.assertIsNone(row_of(empty.id, out))

    def _leave_uncommittable(self, path):
        """What a commit of everything cannot take: changes inside a repository nested in the
        worktree (git records only which commit it is at)."""
        inner = os.path.join(path, "inner")
        os.makedirs(inner)
        _git(inner, "init", "-q")
        with open(os.path.join(inner, "f"), "w") as f:
            f.write("1\n")
        _git(inner, "add", "f")
        _git(inner, "commit", "-qm", "inner")
        with open(os.path.join(inner, "f"), "w") as f:
            f.write("2\n")

    def test_a_worktree_removed_by_hand_is_noticed(self):
        t, path = self.task(files={"b.txt": "work\n"})
        empty, empty_path = self.task("did nothing")
        shutil.rmtree(path)
        code, out, _ = self.main("worktree", "list")
        self.assertIn(f"removed by hand; branch {t.branch} still holds the work", out)
        code, out, _ = self.main("show", t.id)
        self.assertIn(f"(removed by hand; branch {t.branch} still holds the work)", out)
        # git still holds the branch as checked out there until it forgets the worktree
        code, out, err = self.main("discard", t.id)
        self.assertEqual(code, 0, err)
        self.assertFalse(git.branch_exists(self.root, t.branch))
        shutil.rmtree(empty_path)
        code, out, err = self.main("worktree", "prune")
        self.assertEqual(code, 0, err)
        self.assertIn("git forgot 1 worktree(s) removed by hand", out)
        self.assertFalse(git.branch_exists(self.root, empty.branch))  # it had no work

    # -- clean and archive never lose work -------------------------------------------

    def test_clean_keeps_uncommitted_work_and_unmerged_branches(self):
        work, work_path = self.task("did work", files={"b.txt": "work\n"})
        nested, nested_path = self.task("left a nested repository")
        self._leave_uncommittable(nested_path)
        code, out, err = self.main("clean")
        self.assertEqual(code, 0, err)
        self.assertIn("removed 1 completed task", out)
        self.assertIn("kept 1 whose worktree holds uncommitted work", out)
        self.assertIn(f"kept {nested.id}: worktree .orchestra/worktrees/{nested.id} kept", err)
        self.assertIn(f"{work.id} cleaned, but its branch {work.branch} kept", err)
        self.assertEqual(set(self.store.scan().tasks), {nested.id})
        self.assertTrue(os.path.exists(nested_path))
        self.assertFalse(os.path.exists(work_path))
        self.assertTrue(git.branch_exists(self.root, work.branch))

    def test_archive_keeps_uncommitted_work_and_unmerged_branches(self):
        week = 8 * 86400
        work, work_path = self.task("did work", files={"b.txt": "work\n"}, ago=week)
        nested, nested_path = self.task("left a nested repository", ago=week)
        self._leave_uncommittable(nested_path)
        plain = Task.new(new_id(), "demo", "no isolation", time.time() - week - 10)
        plain.update(status="completed", finished_at=iso(time.time() - week))
        self.store.create(plain)
        moved = archive.archive_due(self.layout, time.time())  # the supervisor's pass
        self.assertEqual(moved, 2)
        self.assertEqual(set(self.store.scan().tasks), {nested.id})
        self.assertTrue(os.path.exists(nested_path))
        self.assertFalse(os.path.exists(work_path))
        self.assertTrue(git.branch_exists(self.root, work.branch))
        kept = self.get(work.id)
        self.assertEqual((kept.worktree, kept.branch), (None, work.branch))
        code, out, _ = self.main("show", work.id)
        self.assertIn(f"{work.branch} (1 commit not in main)", out)
        self.assertIn("(removed; its work is on its branch)", out)

    # -- show ------------------------------------------------------------------------

    def test_show_prints_branch_base_head_worktree_and_changes(self):
        t, _ = self.task(files={"a.txt": "one\nTWO\nthree\n", "b.txt": "x\ny\n"})
        code, out, err = self.main("show", t.id)
        self.assertEqual(code, 0, err)
        fields = {line.split()[0]: line.split(None, 1)[1] for line in out.splitlines()[1:]
                  if line.startswith("  ") and len(line.split()) > 1}
        self.assertEqual(fields["base"], f"{t.base[:7]} (main)")
        self.assertEqual(fields["head"], t.head[:7])
        self.assertEqual(fields["branch"], f"{t.branch} (1 commit not in main)")
        self.assertEqual(fields["worktree"], f".orchestra/worktrees/{t.id} (present)")
        self.assertEqual(fields["changes"], "2 files, +3 −1")
        self.assertEqual(fields["merged"], "no")


if __name__ == "__main__":
    unittest.main()
