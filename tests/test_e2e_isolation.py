"""Isolation end to end: tasks in worktrees of their own, run by a real supervisor, with git.

The fake agent's `sh=` steps run git and the shell in the agent's working directory (commas
stand for spaces), `until=` lines two runs up so that they overlap for certain."""

import json
import os
import unittest

from tests.helpers import ProjectCase, git, init_repo, main_in_process, wait_until


def branch_files(root, task):
    """The files the task's branch changed against its base."""
    return sorted(git(root, "diff", "--name-only", f"{task['base']}...{task['branch']}").split())


class IsolationCase(ProjectCase):
    agents = {"shown": {"command": "sh", "args": ["-c", "{prompt}"], "completion": "exit",
                        "promptTemplate": "echo 'at {worktree} on {branch} from {base}'; {prompt}"}}

    def setUp(self):
        super().setUp()
        with open(os.path.join(self.root, ".orchestra-cli", "agent-config.json")) as f:
            config = f.read()
        init_repo(self.root, {"utils.py": "def one():\n    return 1\n",
                              ".orchestra-cli/agent-config.json": config})

    def after(self, deps, prompt):
        return self.ok("start", "-q", "shown", "--depends-on", *deps, "--", prompt).strip()

    def main_clean(self):
        self.assertEqual(git(self.root, "status", "--porcelain"), "")
        self.assertEqual(open(os.path.join(self.root, "utils.py")).read(),
                         "def one():\n    return 1\n")


class ParallelTest(IsolationCase):
    def test_two_agents_on_one_file_each_keep_their_own_work(self):
        a = self.start("sh=echo,A,>>,utils.py sh=touch,$ORCHESTRA_ROOT/.orchestra/a.ready until=.orchestra/b.ready done")
        # B waits for A's edit, then does what erased A's work in a shared tree, and wipes
        # every untracked and ignored file of its own tree.
        b = self.start("until=.orchestra/a.ready sh=git,checkout,--,utils.py sh=echo,B,>>,utils.py "
                       "sh=echo,junk,>,junk.txt sh=git,clean,-fdxq "
                       "sh=touch,$ORCHESTRA_ROOT/.orchestra/b.ready done")
        self.ok("run", "--wait", "--parallel", "2", timeout=60)
        ta, tb = self.task(a), self.task(b)
        self.assertEqual((ta["status"], tb["status"]), ("completed", "completed"))
        self.assertEqual(git(self.root, "show", f"{ta['branch']}:utils.py"),
                         "def one():\n    return 1\nA\n")
        self.assertEqual(git(self.root, "show", f"{tb['branch']}:utils.py"),
                         "def one():\n    return 1\nB\n")
        self.assertEqual(branch_files(self.root, ta), ["utils.py"])
        self.assertEqual(ta["changes"], [1, 1, 0])
        self.assertEqual(ta["head"], git(self.root, "rev-parse", ta["branch"]).strip())
        self.assertIn(f"orchestra task {a}", git(self.root, "log", "-1", "--format=%B", ta["branch"]))
        self.assertTrue(ta["branch"].startswith(f"orchestra/{a[19:]}-sh-echo-a-utils-py"))
        # The queue outlived B's `git clean -fdx`, and the main tree was never touched.
        self.assertEqual(len(json.loads(self.ok("status", "--json", "--all"))), 2)
        self.main_clean()

    def test_placeholders_retry_and_dependencies_stack(self):
        self.ok("config", "set", "retry_backoff_cap", "0.1")
        flaky = self.start("test ! -f first.txt || echo seen > seen.txt; echo x >> first.txt; "
                           "test -f seen.txt", "--max-retries", "1", agent="shown")
        api = self.start("echo api > api.txt", agent="shown")
        docs = self.start("echo docs > docs.txt", agent="shown")
        both = self.after([api, docs], "test -f api.txt && test -f docs.txt && echo ok > both.txt")
        tests = self.after([both], "test -f both.txt && echo tests > tests.txt")
        self.ok("run", "--wait", "--parallel", "2", timeout=60)
        t = self.task(flaky)
        # The retry ran on the same branch, saw the first attempt's work, and both runs
        # were committed there.
        self.assertEqual((t["status"], t["attempt"]), ("completed", 2))
        self.assertEqual(git(self.root, "show", f"{t['branch']}:first.txt"), "x\nx\n")
        self.assertEqual(len(git(self.root, "rev-list", f"{t['base']}..{t['branch']}").split()), 2)
        with open(os.path.join(self.root, ".orchestra", "logs", flaky + ".log")) as f:
            log = f.read()
        worktree = os.path.join(self.root, ".orchestra", "worktrees", flaky)
        self.assertIn(f"at {worktree} on {t['branch']} from {t['base']}", log)
        # A stack: each task starts from what it depends on, and holds only its own change.
        for tid in (api, docs, both, tests):
            self.assertEqual(self.task(tid)["status"], "completed", tid)
        self.assertEqual(branch_files(self.root, self.task(both)), ["both.txt"])
        self.assertEqual(branch_files(self.root, self.task(tests)), ["tests.txt"])
        top = self.task(tests)["branch"]
        self.assertEqual(git(self.root, "ls-tree", "--name-only", top).split(),
                         sorted([".orchestra-cli", "api.txt", "both.txt", "docs.txt", "tests.txt",
                                 "utils.py"]))
        self.main_clean()

    def test_branches_that_conflict_fail_the_dependent_before_it_runs(self):
        e = self.start("echo e > same.txt", agent="shown")
        f = self.start("echo f > same.txt", agent="shown")
        g = self.after([e, f], "echo ran > ran.txt")
        self.assertEqual(self.run_cli("run", "--wait", "--parallel", "2").returncode, 1)
        t = self.task(g)
        self.assertEqual((t["status"], t["reason"]), ("failed", "merge"))
        self.assertIn("same.txt", t["error"])
        self.assertFalse(os.path.exists(os.path.join(self.root, ".orchestra", "worktrees", g)))
        self.assertFalse(git(self.root, "branch", "--list", t["branch"]))
        self.main_clean()


class SetupTest(IsolationCase):
    def test_copy_and_setup_run_in_each_new_worktree(self):
        with open(os.path.join(self.root, ".env"), "w") as f:
            f.write("SECRET=1\n")
        with open(os.path.join(self.root, ".git", "info", "exclude"), "a") as f:
            f.write(".env\n")
        self.ok("config", "set", "worktree_copy", ".env")
        self.ok("config", "set", "worktree_setup", "grep -q SECRET .env && echo set up > up.txt")
        good = self.start("test -f up.txt && echo ok > ok.txt", agent="shown")
        self.ok("run", "--wait", timeout=60)
        self.assertEqual(self.task(good)["status"], "completed")
        self.assertIn("ok.txt", branch_files(self.root, self.task(good)))
        self.ok("config", "set", "worktree_setup", "echo npm says no; exit 3")
        bad = self.start("echo ran > ran.txt", agent="shown")
        self.assertEqual(self.run_cli("run", "--wait").returncode, 1)
        t = self.task(bad)
        self.assertEqual((t["status"], t["reason"], t["exit_code"]), ("failed", "setup", 3))
        with open(os.path.join(self.root, ".orchestra", "logs", bad + ".log")) as f:
            log = f.read()
        self.assertIn("npm says no", log)
        self.assertNotIn("ran.txt", branch_files(self.root, t))
        self.main_clean()

    def test_cancel_commits_what_the_agent_left(self):
        tid = self.start("sh=echo,half,>,half.txt sh=touch,$ORCHESTRA_ROOT/.orchestra/started until=never")
        self.ok("run")
        wait_until(lambda: os.path.exists(os.path.join(self.root, ".orchestra", "started")), 20)
        self.ok("cancel", tid)
        t = self.task(tid)
        self.assertEqual(t["status"], "cancelled")
        self.assertEqual(branch_files(self.root, t), ["half.txt"])
        self.assertIn("cancelled", git(self.root, "log", "-1", "--format=%B", t["branch"]))


class BadInputTest(unittest.TestCase):
    """In-process: each refusal is one line, and nothing is queued."""

    def setUp(self):
        import shutil
        import tempfile
        self.root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, self.root, True)

    def refused(self, *argv, code=2):
        got, out, err = main_in_process(self.root, "start", "demo", "hello", *argv)
        self.assertEqual(got, code, err)
        self.assertEqual((out, err.count("\n")), ("", 1), err)
        self.assertFalse(os.listdir(os.path.join(self.root, ".orchestra", "tasks"))
                         if os.path.isdir(os.path.join(self.root, ".orchestra", "tasks")) else [])
        return err

    def test_outside_a_repository_and_without_commits(self):
        self.assertIn("is not in a git repository; use --no-worktree", self.refused("--worktree"))
        git(self.root, "init", "-q")
        self.assertIn("has no commits yet", self.refused())  # auto: inside a work tree
        self.assertIn("has no commits yet", self.refused("--worktree"))
        self.assertEqual(main_in_process(self.root, "start", "demo", "x", "--no-worktree")[0], 0)

    def test_unknown_base_and_base_without_worktree(self):
        init_repo(self.root)
        self.assertIn("unknown --base 'nope'", self.refused("--base", "nope"))
        self.assertIn("--base HEAD needs a worktree", self.refused("--no-worktree", "--base", "HEAD"))
        self.assertIn("unknown --base '-x'", self.refused("--base=-x"))

    def test_git_missing(self):
        init_repo(self.root)
        path = os.environ["PATH"]
        os.environ["PATH"] = self.root
        try:
            err = self.refused("--worktree", code=1)
        finally:
            os.environ["PATH"] = path
        self.assertIn("git is not installed", err)

    def test_a_stray_git_directory_above_leaves_auto_without_a_worktree(self):
        os.mkdir(os.path.join(self.root, ".git"))  # no repository: git finds none here
        project = os.path.join(self.root, "project")
        os.mkdir(project)
        code, out, err = main_in_process(project, "start", "-q", "demo", "hello")
        self.assertEqual(code, 0, err)
        from orchestra.paths import Layout
        from orchestra.store import Store
        self.assertIsNone(Store(Layout(project)).get(out.strip()).isolation)
        self.assertIn("is not in a git repository",
                      main_in_process(project, "start", "demo", "x", "--worktree")[2])

    def test_git_too_old(self):
        init_repo(self.root)
        from unittest import mock
        with mock.patch("orchestra.git.version", return_value=(2, 16, 6)):
            err = self.refused("--worktree", code=1)
        self.assertIn("needs git 2.17 or newer; this is git 2.16.6", err)

    def test_detached_head_and_a_taken_branch_name_just_work(self):
        init_repo(self.root)
        git(self.root, "checkout", "-q", "--detach")
        code, out, err = main_in_process(self.root, "start", "-q", "demo", "hello")
        self.assertEqual(code, 0, err)
        from orchestra import worktree
        from orchestra.paths import Layout
        from orchestra.store import Store
        layout = Layout(self.root)
        task = Store(layout).get(out.strip())
        self.assertEqual((task.isolation, task.base_branch), ("worktree", None))
        git(self.root, "branch", f"orchestra/{task.short_id()}-hello")
        self.assertEqual(worktree.placement(layout, task)[1], f"orchestra/{task.short_id()}-hello-2")


if __name__ == "__main__":
    unittest.main()
