"""Real agent CLIs, run by their presets in a task's worktree, against stand-ins of their
providers' APIs on 127.0.0.1. They take half a minute and more, so they run only with
ORCHESTRA_REAL_AGENTS=1, as `.ci/real-agents` runs them after installing the CLIs into the
ignored .agent-clis/ folder; and each is skipped where its CLI is not installed."""

import json
import os
import shutil
import subprocess
import tempfile
import unittest

from tests import anthropic_api, openai_chat_api
from tests.helpers import REPO, ProjectCase, pid_alive

CLI_DIR = os.path.join(REPO, ".agent-clis", "node_modules", ".bin")
AIDER = os.path.join(REPO, ".agent-clis", "aider-venv", "bin", "aider")  # pip install aider-chat


def installed(name):
    return shutil.which(name, path=CLI_DIR) or shutil.which(name)


ASKED = unittest.skipUnless(os.environ.get("ORCHESTRA_REAL_AGENTS"),
                            "real agent CLIs run with ORCHESTRA_REAL_AGENTS=1 (.ci/real-agents)")


class RealAgentCase(ProjectCase):
    """A project that is a git repository with one commit, and `home`, a HOME of its own for
    the CLI (its config and state)."""

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
        self.home = tempfile.mkdtemp(prefix="orchestra-agent-home-")
        self.addCleanup(shutil.rmtree, self.home, True)


@ASKED
@unittest.skipUnless(shutil.which("git"), "needs git")
@unittest.skipUnless(installed("claude"), "Claude Code is not installed (see the docstring)")
class ClaudeInAWorktreeTest(RealAgentCase):
    def setUp(self):
        super().setUp()
        self.api = anthropic_api.StandIn()
        self.addCleanup(self.api.close)
        home = self.home
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



@ASKED
@unittest.skipUnless(shutil.which("git"), "needs git")
@unittest.skipUnless(os.access(AIDER, os.X_OK), f"Aider is not installed at {AIDER}")
class AiderInAWorktreeTest(ProjectCase):
    git = RealAgentCase.git

    def setUp(self):
        super().setUp()
        self.git("init", "-q", "-b", "main")
        with open(os.path.join(self.root, ".gitignore"), "w") as f:
            f.write(".orchestra/\n")  # where Aider refused to write the protocol files
        self.git("add", ".gitignore")
        self.git("commit", "-q", "-m", "init")
        self.api = openai_chat_api.StandIn()
        self.addCleanup(self.api.close)
        home = tempfile.mkdtemp(prefix="orchestra-aider-home-")
        self.addCleanup(shutil.rmtree, home, True)
        # A user with a name, as people are: without one, each Aider writes it into the
        # repository's config, which parallel worktrees share (its lock then fails one).
        with open(os.path.join(home, ".gitconfig"), "w") as f:
            f.write("[user]\n\tname = t\n\temail = t@example.com\n")
        # Aider fetches model prices unless its cache (a day old at most) knows the model.
        os.makedirs(os.path.join(home, ".aider", "caches"))
        with open(os.path.join(home, ".aider", "caches", "model_prices_and_context_window.json"),
                  "w") as f:
            json.dump({"openai/standin": {"max_input_tokens": 128000, "max_output_tokens": 4096,
                                          "input_cost_per_token": 0.0001,
                                          "output_cost_per_token": 0.0,
                                          "litellm_provider": "openai", "mode": "chat"}}, f)
        self.agent_env = self.env(
            HOME=home, OPENAI_API_BASE=self.api.url, OPENAI_API_KEY="sk-standin",
            AIDER_MODEL="openai/standin", AIDER_CHECK_UPDATE="false", AIDER_ANALYTICS="false",
            LITELLM_LOCAL_MODEL_COST_MAP="True",
            GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
            GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
            PATH=os.pathsep.join((os.path.dirname(AIDER), os.environ["PATH"])))

    def test_an_edit_lands_on_the_branch_and_an_api_error_fails_the_task(self):
        # Both in one run: Aider takes seconds to start, the two start side by side.
        edit = self.ok("start", "-q", "aider", "create hello.txt", env=self.agent_env).strip()
        error = self.ok("start", "-q", "aider", "create hello.txt standin-400",
                        env=self.agent_env).strip()
        run = self.run_cli("run", "--wait", "--parallel", "2", env=self.agent_env, timeout=120)
        tasks = {name: self.task(task_id) for name, task_id in (("edit", edit), ("error", error))}
        logs = {}
        for name, task in tasks.items():
            with open(os.path.join(self.root, task["log_file"])) as f:
                logs[name] = f.read()
        why = run.stdout + run.stderr + json.dumps(tasks, indent=1) + "".join(logs.values())

        task = tasks["edit"]
        self.assertEqual(task["status"], "completed", why)
        self.assertEqual((task["tokens_in"], task["tokens_out"]),
                         (openai_chat_api.TOKENS_IN, openai_chat_api.TOKENS_OUT), why)
        self.assertAlmostEqual(task["cost_usd"], 0.01, msg=why)
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), openai_chat_api.FILE_TEXT)
        # Aider committed nothing itself: the branch holds orchestra's one commit of the work,
        # and nothing of .orchestra/ or the user's branch.
        commits = self.git("log", "--format=%s", f"main..{task['branch']}").splitlines()
        self.assertEqual(len(commits), 1, commits)
        files = self.git("diff", "--name-only", f"main...{task['branch']}").split()
        self.assertEqual(sorted(files), [".gitignore", "hello.txt"])  # Aider ignores its .aider*
        self.assertEqual(self.git("log", "--format=%s", "main").splitlines(), ["init"])

        task = tasks["error"]
        self.assertEqual((task["status"], task["reason"]), ("failed", "agent_error"), why)
        self.assertIn(openai_chat_api.BAD_REQUEST, task["error"])
        self.assertIn("litellm.BadRequestError", task["error"])


if __name__ == "__main__":
    unittest.main()
