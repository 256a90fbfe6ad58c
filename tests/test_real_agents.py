"""Real agent CLIs, run by their presets in a task's worktree, against stand-ins of their
providers' APIs on 127.0.0.1. Skipped where the CLI is not installed: install it into the
ignored .agent-clis/ folder (`npm install --prefix .agent-clis @anthropic-ai/claude-code`)."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from tests import anthropic_api
from tests.helpers import REPO, ProjectCase, pid_alive

CLI_DIR = os.path.join(REPO, ".agent-clis", "node_modules", ".bin")


def installed(name):
    return shutil.which(name, path=CLI_DIR) or shutil.which(name)


@unittest.skipUnless(shutil.which("git"), "needs git")
@unittest.skipUnless(installed("claude"), "Claude Code is not installed (see the docstring)")
class ClaudeInAWorktreeTest(ProjectCase):
    def git(self, *args, cwd=None):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                               *args], cwd=cwd or self.root, capture_output=True, text=True,
                              check=True).stdout

    def setUp(self):
        super().setUp()
        self.git("init", "-q", "-b", "main")
        with open(os.path.join(self.root, "README.md"), "w") as f:
            f.write("a project\n")
        self.git("add", "README.md")
        self.git("commit", "-q", "-m", "init")
        self.api = anthropic_api.StandIn()
        self.addCleanup(self.api.close)
        home = tempfile.mkdtemp(prefix="orchestra-claude-home-")
        self.addCleanup(shutil.rmtree, home, True)
        self.agent_env = self.env(
            ANTHROPIC_BASE_URL=self.api.url, ANTHROPIC_API_KEY="sk-standin", HOME=home,
            IS_SANDBOX="1",  # as root, bypassPermissions is refused without it
            PATH=os.pathsep.join((os.path.dirname(installed("claude")), os.environ["PATH"])))
        for name in ("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CONFIG_DIR", "CLAUDECODE"):
            self.agent_env.pop(name, None)

    def test_the_preset_runs_in_the_task_s_worktree_and_writes_the_protocol_files(self):
        before = self.git("status", "--porcelain")  # the test's own .orchestra-cli/
        task_id = self.ok("start", "-q", "--worktree", "claude", "write hello.txt",
                          env=self.agent_env).strip()
        run = self.run_cli("run", "--wait", env=self.agent_env, timeout=120)
        task = self.task(task_id)
        with open(os.path.join(self.root, task["log_file"])) as f:
            log = f.read()
        self.assertEqual((run.returncode, task["status"]), (0, "completed"),
                         run.stdout + run.stderr + log)

        # The agent ran in the worktree: what its Bash tool wrote is on the task's branch.
        worktree = os.path.join(self.root, *task["worktree"].split("/"))
        self.assertIn(worktree, json.dumps(self.api.requests[0]))
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), anthropic_api.FILE_TEXT)
        self.assertEqual(task["changes"][0], 1)
        # ... and its Write tool created the .done in the project's .orchestra/, outside it.
        self.assertEqual(self.api.tool_results()["toolu_done"][0], False,
                         self.api.tool_results())
        with open(os.path.join(self.root, ".orchestra", "tasks", task_id + ".done")) as f:
            self.assertEqual(f.read().strip(), anthropic_api.SUMMARY)
        # The main worktree is untouched.
        self.assertFalse(os.path.exists(os.path.join(self.root, "hello.txt")))
        self.assertEqual(self.git("status", "--porcelain"), before)
        self.assertEqual(self.git("branch", "--show-current").strip(), "main")
        # The stream of its run reads as a line per step; --raw gives the JSON lines.
        shown = self.ok("logs", task_id, env=self.agent_env)
        self.assertIn("⚙ Bash ", shown)
        self.assertIn("✔ success: ", shown)
        self.assertNotIn('{"type":', shown)
        self.assertIn('{"type":"result"', self.ok("logs", "--raw", task_id, env=self.agent_env))
        self.assertIsNotNone(task["session_id"])

    def test_an_api_error_fails_with_the_agent_s_message(self):
        task_id = self.ok("start", "-q", "--no-worktree", "claude", "API_ERROR please",
                          env=self.agent_env).strip()
        self.run_cli("run", "--wait", env=self.agent_env, timeout=120)
        task = self.task(task_id)
        self.assertEqual((task["status"], task["reason"]), ("failed", "agent_error"), task)
        self.assertIn(anthropic_api.API_ERROR, task["error"])

    def test_a_timeout_ends_what_its_tools_started_in_a_session_of_their_own(self):
        task_id = self.ok("start", "-q", "--worktree", "--timeout", "4", "claude", "ESCAPE now",
                          env=self.agent_env).strip()
        self.run_cli("run", "--wait", env=self.agent_env, timeout=120)
        task = self.task(task_id)
        self.assertEqual((task["status"], task["reason"]), ("failed", "timeout"), task)
        # The run's end committed the pid file the escaped process wrote.
        pid = int(self.git("show", f"{task['branch']}:escaped.pid").strip())
        self.assertFalse(pid_alive(pid), f"the escaped process {pid} outlived the timeout")


if __name__ == "__main__":
    unittest.main()
