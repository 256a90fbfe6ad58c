"""executor._which: PATH look-ups remembered for a moment, never past the file's removal;
executor.prepare: the agent's environment names the directory it starts in."""

import os
import shutil
import tempfile
import unittest
from unittest import mock

from orchestra import executor
from orchestra.paths import Layout
from orchestra.task import Task


class WhichTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.program = os.path.join(self.dir, "agent-cli")
        self.make(self.program)

    def make(self, path):
        with open(path, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(path, 0o755)

    def test_found_then_remembered_then_forgotten_when_removed(self):
        self.assertEqual(executor._which("agent-cli", self.dir), self.program)
        with mock.patch("shutil.which") as which:
            self.assertEqual(executor._which("agent-cli", self.dir), self.program)
            which.assert_not_called()
        os.unlink(self.program)
        self.assertIsNone(executor._which("agent-cli", self.dir))

    def test_a_program_installed_earlier_on_path_is_found_once_the_moment_passes(self):
        first = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, first, True)
        path = os.pathsep.join((first, self.dir))
        self.assertEqual(executor._which("agent-cli", path), self.program)
        self.make(os.path.join(first, "agent-cli"))
        with mock.patch.object(executor, "WHICH_TTL", 0.0):
            self.assertEqual(executor._which("agent-cli", path), os.path.join(first, "agent-cli"))


class PrepareTest(unittest.TestCase):
    def test_pwd_is_the_agent_s_working_directory_not_the_caller_s(self):
        root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, root, True)
        task = Task.new("task_1780000000000_abcdef", "demo", "p", 0)
        _, cwd, env = executor.prepare(Layout(root), task, dict(os.environ, PWD="/elsewhere"))
        self.assertEqual(env["PWD"], os.path.abspath(cwd))
        self.assertTrue(os.path.samefile(cwd, root))

    def test_a_task_queued_in_an_untracked_directory_runs_there_in_its_worktree(self):
        from orchestra.worktree import Isolation
        root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, root, True)
        task = Task.new("task_1780000000000_abcdef", "demo", "p", 0, cwd="src/new",
                        isolation=Isolation("0" * 40, "main", "app"))
        tree = os.path.join(root, ".orchestra", "worktrees", task.id)
        os.makedirs(tree)  # made at placement; git checks out no empty or untracked directory
        _, cwd, _ = executor.prepare(Layout(root), task)
        self.assertEqual(cwd, os.path.join(tree, "app", "src/new"))
        self.assertTrue(os.path.isdir(cwd))

    def test_opencode_reads_its_agent_file_from_the_project_s_config_directory(self):
        root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, root, True)
        program = os.path.join(root, "opencode")
        with open(program, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(program, 0o755)
        task = Task.new("task_1780000000000_abcdef", "opencode", "p", 0)
        argv, _, env = executor.prepare(Layout(root), task, dict(os.environ, PATH=root))
        self.assertEqual(argv[argv.index("--agent") + 1], "opencode")
        # The env's placeholders are filled in as the arguments' are.
        self.assertEqual(env["OPENCODE_CONFIG_DIR"], root + "/.orchestra-cli")


if __name__ == "__main__":
    unittest.main()
