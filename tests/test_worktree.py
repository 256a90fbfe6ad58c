"""worktree.py and git.py against real repositories in temp dirs, without agents."""

import os
import shutil
import tempfile
import time
import unittest

from orchestra import git as orchestra_git
from orchestra import worktree
from orchestra.paths import Layout
from orchestra.statedir import ensure
from orchestra.task import Task, new_id
from orchestra.transitions import placed
from tests.helpers import git, init_repo


class WorktreeCase(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, self.root, True)
        init_repo(self.root, {"a.txt": "a\n"})
        self.layout = Layout(self.root)
        ensure(self.layout)

    def task(self, prompt="Add a feature\nwith details", **kw):
        t = Task.new(new_id(), "demo", prompt, time.time(),
                     isolation=worktree.resolve(self.layout), **kw)
        where, branch = worktree.placement(self.layout, t)
        return placed(t, worktree=where, branch=branch, base=t.base)

    def made(self, **kw):
        t = self.task(**kw)
        worktree.make(self.layout, t)
        return t

    def write(self, t, name, text):
        with open(os.path.join(worktree.directory(self.layout, t), name), "w") as f:
            f.write(text)


class NamesTest(WorktreeCase):
    def test_branch_name_message_and_default(self):
        t = self.task("Fix: the Signup form's e-mail check!\nmore")
        self.assertEqual(t.branch, f"orchestra/{t.short_id()}-fix-the-signup-form-s-e")
        self.assertEqual(worktree.slug("¿¡!"), "task")
        msg = worktree.message(t, "completed", "added the check\n")
        self.assertTrue(msg.startswith("Fix: the Signup form's e-mail check!\n\norchestra task "))
        self.assertTrue(msg.endswith("\n\nadded the check\n"))
        self.assertTrue(worktree.wanted(self.layout, None, None, "auto"))
        self.assertFalse(worktree.wanted(self.layout, None, "none", "auto"))
        self.assertFalse(worktree.wanted(Layout(tempfile.gettempdir()), None, None, "auto"))
        self.assertTrue(worktree.wanted(self.layout, True, "none", "none"))

    def test_a_project_below_the_top_runs_in_the_same_place_of_its_worktree(self):
        sub = os.path.join(self.root, "pkg", "app")
        os.makedirs(sub)
        layout = Layout(sub)
        iso = worktree.resolve(layout)
        self.assertEqual((iso.subdir, iso.base_branch), ("pkg/app", "main"))


class SaveAndRetireTest(WorktreeCase):
    def test_save_commits_and_counts_without_hooks(self):
        t = self.made()
        hook = os.path.join(self.root, ".git", "hooks", "pre-commit")
        with open(hook, "w") as f:
            f.write("#!/bin/sh\nexit 1\n")
        os.chmod(hook, 0o755)
        self.assertEqual(worktree.save(self.layout, t, "completed"), (t.base, [0, 0, 0]))
        self.write(t, "a.txt", "A\nb\n")
        self.write(t, "new.txt", "n\n")
        head, changes = worktree.save(self.layout, t, "completed")
        self.assertEqual(changes, [2, 3, 1])
        self.assertEqual(git(self.root, "rev-parse", t.branch).strip(), head)
        self.assertEqual(orchestra_git.dirty(worktree.directory(self.layout, t)), [])
        self.assertEqual(git(self.root, "status", "--porcelain"), "")  # the main tree: untouched

    def test_two_saves_at_once_commit_once_and_record_the_same_head(self):
        # a cancel and the supervisor that saw the run end: no index.lock failure for either
        import threading
        t = self.made()
        for round_ in range(3):
            for n in range(20):
                self.write(t, f"f{round_}_{n}.txt", "x\n" * n)
            results, errors = [], []

            def save():
                try:
                    results.append(worktree.save(self.layout, t, "cancelled"))
                except orchestra_git.GitError as e:
                    errors.append(e)
            threads = [threading.Thread(target=save) for _ in range(2)]
            for th in threads:
                th.start()
            for th in threads:
                th.join()
            self.assertEqual(errors, [])
            self.assertEqual(results[0], results[1])
            self.assertEqual(results[0][0], orchestra_git.commit_of(self.root, "refs/heads/" + t.branch))
            self.assertFalse(orchestra_git.dirty(worktree.directory(self.layout, t)))

    def test_a_repository_that_names_nobody_still_gets_the_work_committed(self):
        t = self.made()
        self.write(t, "w.txt", "w\n")
        saved = dict(os.environ)
        os.environ.update(GIT_CONFIG_GLOBAL=os.devnull, GIT_CONFIG_NOSYSTEM="1", HOME=self.root)
        for name in ("EMAIL", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
                     "GIT_COMMITTER_EMAIL"):
            os.environ.pop(name, None)
        try:
            head, _ = worktree.save(self.layout, t, "completed")
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.assertEqual(git(self.root, "log", "-1", "--format=%an <%ae>", head).strip(),
                         "orchestra <orchestra@localhost>")

    def test_retire_removes_only_what_is_safe(self):
        empty, work = self.made(), self.made()
        self.write(work, "w.txt", "w\n")  # left uncommitted: retire commits it first
        self.assertEqual(worktree.retire(self.layout, empty)[0],
                         [f"worktree {empty.worktree}", f"branch {empty.branch}"])
        removed, kept = worktree.retire(self.layout, work)
        self.assertEqual(removed, [f"worktree {work.worktree}"])
        self.assertIn(f"branch {work.branch} kept", kept[0])
        self.assertTrue(orchestra_git.branch_exists(self.root, work.branch))
        git(self.root, "merge", "-q", work.branch)
        self.assertEqual(worktree.retire(self.layout, work)[0], [f"branch {work.branch}"])

    def test_a_worktree_removed_by_hand_is_made_again_on_its_branch(self):
        t = self.made()
        self.write(t, "w.txt", "w\n")
        worktree.save(self.layout, t, "failed")
        shutil.rmtree(worktree.directory(self.layout, t))
        self.assertEqual(worktree.save(self.layout, t, "failed")[1], [1, 1, 0])  # the branch has it
        worktree.make(self.layout, t)
        with open(os.path.join(worktree.directory(self.layout, t), "w.txt")) as f:
            self.assertEqual(f.read(), "w\n")


if __name__ == "__main__":
    unittest.main()
