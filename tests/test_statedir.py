"""The state directory's mark and exclusion, and what git then does to the state."""

import os
import shutil
import subprocess
import tempfile
import unittest

from orchestra import statedir
from orchestra.paths import Layout


class StateDirTest(unittest.TestCase):
    def setUp(self):
        self.top = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, self.top, True)

    def exclude(self, gitdir):
        with open(os.path.join(gitdir, "info", "exclude")) as f:
            return f.read()

    def test_outside_a_work_tree_it_marks_and_excludes_nothing(self):
        layout = Layout(self.top)
        statedir.ensure(layout)
        for d in (layout.tasks, layout.plans, layout.logs):
            self.assertTrue(os.path.isdir(d))
        marker = os.path.join(layout.state, ".git")
        self.assertEqual(sorted(os.listdir(marker)), ["HEAD", "description", "objects", "refs"])
        with open(os.path.join(marker, "HEAD")) as f:
            self.assertTrue(f.read().startswith("ref: refs/"))

    def test_a_root_below_the_top_is_excluded_once_with_its_path_escaped(self):
        os.makedirs(os.path.join(self.top, ".git", "info"))
        with open(os.path.join(self.top, ".git", "info", "exclude"), "w") as f:
            f.write("*.o")  # no final newline
        root = os.path.join(self.top, "sub [1]")
        os.makedirs(root)
        statedir.ensure(Layout(root))
        statedir.ensure(Layout(root))
        lines = self.exclude(os.path.join(self.top, ".git")).splitlines()
        self.assertEqual(lines[0], "*.o")
        self.assertEqual([line for line in lines if not line.startswith("#")],
                         ["*.o", "/sub \\[1]/.orchestra/"])

    def test_a_linked_worktree_is_excluded_in_the_main_repository(self):
        common = os.path.join(self.top, "main", ".git")
        private = os.path.join(common, "worktrees", "wt")
        os.makedirs(private)
        with open(os.path.join(private, "commondir"), "w") as f:
            f.write("../..\n")
        root = os.path.join(self.top, "wt")
        os.makedirs(root)
        with open(os.path.join(root, ".git"), "w") as f:
            f.write(f"gitdir: {private}\n")
        statedir.ensure(Layout(root))
        self.assertIn("\n/.orchestra/\n", self.exclude(common))
        self.assertFalse(os.path.exists(os.path.join(private, "info")))

    @unittest.skipUnless(shutil.which("git"), "needs git")
    def test_git_cleans_and_stashes_around_the_state_but_clean_ff_removes_it(self):
        def git(*args):
            return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                                   *args], cwd=self.top, capture_output=True, text=True)

        git("init", "-q")
        with open(os.path.join(self.top, ".gitignore"), "w") as f:
            f.write("/.orchestra/\n")  # ignored as well as excluded: -X and --all reach it
        git("add", ".gitignore")
        git("commit", "-q", "-m", "ignore")
        layout = Layout(self.top)
        statedir.ensure(layout)
        task = os.path.join(layout.tasks, "t.json")
        open(task, "w").close()
        for command in (["stash", "-u"], ["stash", "--all"], ["clean", "-fdx"], ["clean", "-fdX"],
                        ["checkout", "."], ["reset", "--hard"]):
            self.assertEqual(git(*command).returncode, 0, command)
            self.assertTrue(os.path.exists(task), f"git {' '.join(command)} removed the state")
        git("clean", "-ffdx")
        self.assertFalse(os.path.exists(layout.state), "documented: -f twice removes it")


if __name__ == "__main__":
    unittest.main()
