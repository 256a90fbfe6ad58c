"""orchestra merge, in-process, on real git repositories: tasks made by hand with worktrees and
branches of their own, no agent processes."""

import contextlib
import io
import json
import os
import shutil
import subprocess
import tempfile
import unittest

from orchestra import cli, git, merge, settings, worktree
from orchestra.clock import iso
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.task import Task
from orchestra.transitions import placed, with_work

_ID = ("-c", "user.name=test", "-c", "user.email=test@localhost")


def sh(cwd, *argv):
    return subprocess.run(("git",) + _ID + argv, cwd=cwd, check=True, capture_output=True,
                          text=True).stdout


def write(directory, files):
    for path, text in files.items():
        with open(os.path.join(directory, path), "w") as f:
            f.write(text)


def fast_import(root, branch, base, commits):
    """Commit each {path: text} of `commits` on a new branch from `base`, in one git call."""
    stream = []
    for i, files in enumerate(commits):
        stream.append(f"commit refs/heads/{branch}\ncommitter test <test@localhost> "
                      f"{1_764_000_000 + i} +0000\ndata 7\ncommit\n")
        stream.append(f"from {base}\n" if i == 0 else "")
        stream.extend(f"M 100644 inline {path}\ndata {len(text.encode())}\n{text}\n"
                      for path, text in files.items())
    subprocess.run(("git", "fast-import", "--quiet"), input="".join(stream), cwd=root,
                   check=True, capture_output=True, text=True)


class MergeCase(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        """One repository (a first commit, the state directory) copied for each test: the
        same commits, so the same isolation of a new task."""
        cls.template = os.path.realpath(tempfile.mkdtemp(prefix="orchestra-merge-"))
        root = os.path.join(cls.template, "repo")
        os.mkdir(root)
        sh(root, "init", "-q", "-b", "main")
        write(root, {"a.txt": "one\ntwo\nthree\n"})
        sh(root, "add", "a.txt")
        sh(root, "commit", "-qm", "first")
        Store(Layout(root)).ensure()
        cls.isolation = worktree.resolve(Layout(root))

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.template, True)

    def setUp(self):
        self.root = os.path.realpath(tempfile.mkdtemp(prefix="orchestra-merge-"))
        self.addCleanup(shutil.rmtree, self.root, True)
        shutil.copytree(os.path.join(self.template, "repo"), self.root, symlinks=True,
                        dirs_exist_ok=True)
        self.layout = Layout(self.root)
        self.store = Store(self.layout)
        self.n = 0

    def task(self, *commits, status="completed", prompt="change things", isolated=True,
             checkout=False, finished=60):
        """A finished task (`finished` seconds after it was made) whose branch holds `commits` (each
        {path: text}); its worktree is made only with `checkout` (without, it is as if
        removed by hand: the branch holds the work)."""
        self.n += 1
        now = 1_764_000_000 + self.n
        t = Task.new(f"task_{now * 1000}_{self.n:06x}", "fake", prompt, now,
                     isolation=self.isolation if isolated else None)
        if isolated:
            t = placed(t, worktree=worktree.relative_path(t),
                       branch=f"{worktree.BRANCH_PREFIX}{t.short_id()}-test", base=t.base)
            if commits:
                fast_import(self.root, t.branch, t.base, commits)
            t = with_work(t, head=git.commit_of(self.root, t.branch), changes=[0, 0, 0])
            if checkout:
                worktree.make(self.layout, t)
        t.update(status=status, finished_at=iso(now + finished) if status != "pending" else None)
        self.store.create(t)
        return t

    def commit_on_main(self, files):
        write(self.root, files)
        sh(self.root, "add", *files)
        sh(self.root, "commit", "-qm", "on main")

    def cli(self, *argv):
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = cli.main(["--root", self.root, "merge", *argv])
        return code, out.getvalue(), err.getvalue()

    def state_of_main(self):
        """HEAD, index, status and every file's bytes of the main worktree."""
        files = {}
        for name in sorted(os.listdir(self.root)):
            path = os.path.join(self.root, name)
            if os.path.isfile(path):
                with open(path, "rb") as f:
                    files[name] = f.read()
        return (sh(self.root, "rev-parse", "HEAD"), sh(self.root, "ls-files", "-s"),
                sh(self.root, "status", "--porcelain"), files)

    def get(self, t):
        return self.store.get(t.id)

    def read(self, name):
        with open(os.path.join(self.root, name)) as f:
            return f.read()


class MergeTest(MergeCase):
    def test_a_clean_merge_is_recorded_with_an_event(self):
        t = self.task({"b.txt": "new\n"})
        code, out, err = self.cli(t.id)
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out, f"merged {t.id} ({t.branch}) into main: 1 file, +1 -0\n")
        self.assertEqual(self.read("b.txt"), "new\n")
        self.assertEqual(sh(self.root, "status", "--porcelain"), "")
        self.assertEqual(self.get(t).merged_into, "main")
        self.assertTrue(self.get(t).merged)
        with open(self.layout.events) as f:
            last = json.loads(f.readlines()[-1])
        self.assertEqual((last["task"], last["merged_into"]), (t.id, "main"))

    def test_a_conflict_changes_nothing_and_names_the_file(self):
        t = self.task({"a.txt": "one\nTWO\nthree\n"})
        self.commit_on_main({"a.txt": "one\n2\nthree\n"})
        before = self.state_of_main()
        code, out, err = self.cli(t.id)
        self.assertEqual(code, 1)
        self.assertIn("conflicts with main in a.txt", err)
        self.assertIn(f"git merge {t.branch}", err)
        self.assertEqual(self.state_of_main(), before)
        self.assertIsNone(self.get(t).merged)

    def test_uncommitted_changes_the_merge_would_touch_are_refused(self):
        t = self.task({"b.txt": "theirs\n", "a.txt": "one\ntwo\nthree\nfour\n"})
        write(self.root, {"b.txt": "mine, untracked\n"})
        before = self.state_of_main()
        code, _, err = self.cli(t.id)
        self.assertEqual(code, 1)
        self.assertIn("uncommitted changes", err)
        self.assertIn("b.txt", err)
        self.assertEqual(self.state_of_main(), before)
        os.unlink(os.path.join(self.root, "b.txt"))
        write(self.root, {"a.txt": "mine\n"})
        code, _, err = self.cli(t.id)
        self.assertIn("a.txt", err)
        self.assertEqual(code, 1)

    def test_uncommitted_changes_elsewhere_are_kept(self):
        t = self.task({"b.txt": "theirs\n"})
        write(self.root, {"a.txt": "mine\n", "notes.txt": "untracked\n"})
        code, out, err = self.cli(t.id)
        self.assertEqual((code, err), (0, ""), out)
        self.assertEqual((self.read("a.txt"), self.read("b.txt")), ("mine\n", "theirs\n"))
        self.assertEqual(self.read("notes.txt"), "untracked\n")

    def test_staged_changes_are_refused(self):
        t = self.task({"b.txt": "theirs\n"})
        write(self.root, {"c.txt": "staged\n"})
        sh(self.root, "add", "c.txt")
        before = self.state_of_main()
        code, _, err = self.cli(t.id)
        self.assertEqual(code, 1)
        self.assertIn("staged changes (c.txt)", err)
        self.assertEqual(self.state_of_main(), before)

    def test_a_main_worktree_in_the_middle_of_a_merge_is_refused(self):
        t = self.task({"b.txt": "theirs\n"})
        sh(self.root, "checkout", "-qb", "side")
        self.commit_on_main({"a.txt": "side\n"})
        sh(self.root, "checkout", "-q", "main")
        self.commit_on_main({"a.txt": "main\n"})
        subprocess.run(("git",) + _ID + ("merge", "side"), cwd=self.root, capture_output=True)
        code, _, err = self.cli(t.id)
        self.assertEqual(code, 1)
        self.assertIn("in the middle of a merge", err)

    def test_work_left_in_the_worktree_is_committed_and_merged(self):
        t = self.task({"b.txt": "committed\n"}, checkout=True)
        write(worktree.directory(self.layout, t), {"c.txt": "left uncommitted\n"})
        code, out, _ = self.cli(t.id)
        self.assertEqual(code, 0)
        self.assertIn("2 files, +2 -0", out)
        self.assertEqual(self.read("c.txt"), "left uncommitted\n")
        self.assertEqual(self.get(t).head, git.commit_of(self.root, t.branch))

    def test_squash_makes_one_commit_from_the_prompt(self):
        t = self.task({"b.txt": "new\n"}, {"c.txt": "more\n"}, prompt="add b\nwith details")
        first = sh(self.root, "rev-parse", "HEAD")
        code, out, err = self.cli(t.id, "--squash")
        self.assertEqual((code, err), (0, ""))
        self.assertIn("squash-merged", out)
        self.assertEqual(sh(self.root, "rev-parse", "HEAD^"), first)
        self.assertEqual(sh(self.root, "log", "-1", "--format=%s"), "add b\n")
        self.assertIn(t.id, sh(self.root, "log", "-1", "--format=%b"))
        self.assertEqual(self.read("c.txt"), "more\n")
        self.assertTrue(self.get(t).merged)

    def test_rebase_then_fast_forward(self):
        kept = self.task({"b.txt": "b\n"}, checkout=True)
        gone = self.task({"c.txt": "c\n"})  # its worktree removed: rebased in a temporary one
        self.commit_on_main({"d.txt": "d\n"})
        onto = sh(self.root, "rev-parse", "HEAD").strip()
        code, out, err = self.cli(kept.id, gone.id, "--rebase")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(out.count("rebased and merged"), 2)
        log = sh(self.root, "log", "--format=%P").splitlines()
        self.assertTrue(all(len(parents.split()) <= 1 for parents in log), log)  # no merges
        self.assertEqual(git.commit_of(self.root, gone.branch), git.commit_of(self.root, "HEAD"))
        after = self.get(kept)
        self.assertEqual((after.base, after.changes), (onto, [1, 1, 0]))
        self.assertEqual(after.head, git.commit_of(self.root, kept.branch))
        self.assertEqual(os.listdir(os.path.join(self.layout.state, "worktrees")), [kept.id])

    def test_all_in_completion_order_stopping_at_the_first_conflict(self):
        second = self.task({"c.txt": "c\n"}, finished=30)
        first = self.task({"b.txt": "b\n"}, finished=10)  # made later, completed first
        clash, last = self.task({"a.txt": "clash\n"}), self.task({"e.txt": "e\n"})
        self.task({"f.txt": "f\n"}, status="failed")
        self.commit_on_main({"a.txt": "main\n"})
        code, out, err = self.cli("--all")
        self.assertEqual(code, 1)
        self.assertEqual([line.split()[1] for line in out.splitlines()], [first.id, second.id])
        self.assertIn(f"{clash.id} conflicts with main in a.txt", err)
        self.assertIn(f"merged before it: {first.id}, {second.id}", err)
        self.assertEqual([bool(self.get(t).merged) for t in (first, second, clash, last)],
                         [True, True, False, False])

    def test_all_with_nothing_waiting(self):
        self.task({"b.txt": "b\n"}, status="failed")
        self.assertEqual(self.cli("--all")[:2], (0, "nothing to merge: no completed task is "
                                                     "waiting for it\n"))

    def test_a_branch_merged_by_hand_is_recorded_merged(self):
        t = self.task({"b.txt": "b\n"})
        sh(self.root, "merge", "-q", "--no-edit", t.branch)
        code, out, _ = self.cli(t.id)
        self.assertEqual((code, out), (0, f"{t.id} ({t.branch}) is already merged into main\n"))
        self.assertEqual(self.get(t).merged_into, "main")
        self.assertEqual(self.cli(t.id)[:2], (0, out))

    def test_tasks_that_cannot_be_merged(self):
        pending = self.task(status="pending")
        code, _, err = self.cli(pending.id)
        self.assertEqual(code, 1)
        self.assertIn("still pending", err)
        failed = self.task({"b.txt": "b\n"}, status="failed")
        code, _, err = self.cli(failed.id)
        self.assertEqual(code, 1)
        self.assertIn(f"`git merge {failed.branch}`", err)
        plain = self.task(isolated=False)
        code, _, err = self.cli(plain.id)
        self.assertEqual(code, 2)
        self.assertIn("ran without a worktree; nothing to merge", err)
        self.assertEqual(self.cli()[0], 2)


class AutoMergeTest(MergeCase):
    def test_auto_merges_what_is_clean_and_says_why_not_otherwise(self):
        clean = self.task({"b.txt": "b\n"})
        clash = self.task({"a.txt": "clash\n"})
        self.assertIsNone(merge.auto(self.store, clean))  # the setting is manual
        self.assertIsNone(self.get(clean).merged)
        settings.set_value(self.layout, "merge", "auto")
        self.assertIsNone(merge.auto(self.store, clean))
        self.assertEqual(self.get(clean).merged_into, "main")
        self.commit_on_main({"a.txt": "main\n"})
        before = self.state_of_main()
        why = merge.auto(self.store, clash)
        self.assertIn("conflicts with main in a.txt", why)
        self.assertEqual(self.state_of_main(), before)
        self.assertIsNone(self.get(clash).merged)

    def test_auto_merges_only_into_its_base_branch(self):
        t = self.task({"b.txt": "b\n"})
        settings.set_value(self.layout, "merge", "auto")
        sh(self.root, "checkout", "-qb", "other")
        self.assertIn("not on its base branch main", merge.auto(self.store, t))
        self.assertIsNone(self.get(t).merged)


if __name__ == "__main__":
    unittest.main()
