"""The real OpenCode CLI, run by its preset in a task's worktree, against a stand-in of an
OpenAI-compatible Chat Completions API on 127.0.0.1 (tests/opencode_api.py). Skipped where the
CLI is not installed: install it into the ignored .agent-clis/ folder
(`npm install --prefix .agent-clis opencode-ai`).

Its `@ai-sdk/openai-compatible` provider comes inside the CLI; what it fetches from npm on a
first run in a fresh config folder (the plugin package's tree) is sent to a closed port on
127.0.0.1 instead, which it shrugs off."""

import json
import os
import shutil
import unittest

from tests import opencode_api
from tests.helpers import pid_alive, wait_until
from tests.test_real_agents import ASKED, RealAgentCase, installed


@ASKED
@unittest.skipUnless(shutil.which("git"), "needs git")
@unittest.skipUnless(installed("opencode"), "OpenCode is not installed (see the docstring)")
class OpenCodeInAWorktreeTest(RealAgentCase):
    def setUp(self):
        super().setUp()
        self.api = opencode_api.StandIn()
        self.addCleanup(self.api.close)
        home = self.home
        config = os.path.join(home, "opencode.json")
        with open(config, "w") as f:
            json.dump({"provider": {"standin": {
                "npm": "@ai-sdk/openai-compatible", "name": "standin",
                "options": {"baseURL": self.api.url, "apiKey": "{env:STANDIN_API_KEY}"},
                "models": {"standin": {"name": "standin"}}}},
                "model": "standin/standin", "autoupdate": False, "share": "disabled"}, f)
        self.agent_env = self.env(
            HOME=home, OPENCODE_CONFIG=config, STANDIN_API_KEY="sk-standin",
            XDG_CONFIG_HOME=os.path.join(home, "config"), XDG_DATA_HOME=os.path.join(home, "data"),
            XDG_CACHE_HOME=os.path.join(home, "cache"), XDG_STATE_HOME=os.path.join(home, "state"),
            OPENCODE_DISABLE_MODELS_FETCH="1", OPENCODE_DISABLE_AUTOUPDATE="1",
            npm_config_registry="http://127.0.0.1:9/",
            PATH=os.pathsep.join((os.path.dirname(installed("opencode")), os.environ["PATH"])))
        for name in ("OPENCODE_CONFIG_CONTENT", "OPENCODE_CONFIG_DIR", "OPENCODE_PERMISSION"):
            self.agent_env.pop(name, None)

    def run_task(self, *flags):
        task_id = self.ok("start", "-q", "--worktree", *flags, env=self.agent_env).strip()
        run = self.run_cli("run", "--wait", env=self.agent_env, timeout=120)
        task = self.task(task_id)
        with open(os.path.join(self.root, task["log_file"])) as f:
            return run, task, f.read()

    def test_the_preset_completes_in_a_fresh_project_s_worktree(self):
        run, task, log = self.run_task("opencode", "write hello.txt")
        self.assertEqual((run.returncode, task["status"]), (0, "completed"),
                         run.stdout + run.stderr + log)
        # Its bash tool ran in the worktree: the file is on the task's branch.
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), opencode_api.FILE_TEXT)
        self.assertEqual(task["changes"][0], 1)
        # Its write tool reached the .done outside the worktree (--auto).
        with open(os.path.join(self.root, ".orchestra", "tasks", task["id"] + ".done")) as f:
            self.assertEqual(f.read().strip(), opencode_api.SUMMARY)
        # Three steps of the task's session; the title request makes no step.
        usage = opencode_api.USAGE
        self.assertEqual((task["tokens_in"], task["tokens_out"]),
                         (usage["prompt_tokens"] * 3, usage["completion_tokens"] * 3), log)
        self.assertTrue(task["session_id"].startswith("ses_"), task)
        self.assertFalse(os.path.exists(os.path.join(self.root, "hello.txt")))
        self.assertIn("⚙ bash ", self.ok("logs", task["id"], env=self.agent_env))

    def test_the_agent_file_init_writes_is_the_task_s_instructions(self):
        self.ok("init", "--for", "opencode", env=self.agent_env)
        with open(os.path.join(self.root, ".orchestra-cli", "agent", "opencode.md")) as f:
            body = f.read().split("---\n", 2)[2]
        run, task, log = self.run_task("opencode", "write hello.txt")
        self.assertEqual((run.returncode, task["status"]), (0, "completed"),
                         run.stdout + run.stderr + log)
        systems = [opencode_api._text(m) for body_ in self.api.requests
                   for m in body_.get("messages") or () if m.get("role") == "system"]
        first_line = body.splitlines()[0]
        self.assertTrue(any(first_line in s for s in systems), systems[:1])
        self.assertNotIn("not found. Falling back", log)

    def test_an_api_error_fails_with_the_agent_s_message(self):
        run, task, log = self.run_task("opencode", "API_ERROR please")
        self.assertEqual((run.returncode, task["status"]), (1, "failed"),
                         run.stdout + run.stderr + log)
        self.assertEqual((task["reason"], task["error"]), ("agent_error", opencode_api.API_ERROR),
                         log)

    def test_a_timeout_ends_what_its_bash_tool_started_in_a_session_of_its_own(self):
        # The timeout is set once its tool has started the process (OpenCode's start-up takes
        # from 7 s to far more on a busy machine): it is due at once, counted from the start.
        task_id = self.ok("start", "-q", "--worktree", "opencode", "ESCAPE now",
                          env=self.agent_env).strip()
        self.ok("run", env=self.agent_env)
        pid_file = os.path.join(self.root, ".orchestra", "worktrees", task_id, "escaped.pid")
        wait_until(lambda: os.path.exists(pid_file), 90, message="the escaped process")
        self.ok("timeout", task_id, "1", env=self.agent_env)
        wait_until(lambda: self.task(task_id)["status"] != "running", 30, message="the timeout")
        task = self.task(task_id)
        self.assertEqual((task["status"], task["reason"]), ("failed", "timeout"), task)
        # The run's end committed the pid file the escaped process wrote.
        pid = int(self.git("show", f"{task['branch']}:escaped.pid").strip())
        self.assertFalse(pid_alive(pid), f"the escaped process {pid} outlived the timeout")

    def test_a_cancel_ends_what_its_bash_tool_started_in_a_session_of_its_own(self):
        task_id = self.ok("start", "-q", "--worktree", "opencode", "ESCAPE now",
                          env=self.agent_env).strip()
        self.escape_then_end(task_id, "cancel", self.agent_env)

    def test_a_usage_limit_parks_the_task_and_the_resumed_session_can_write(self):
        self.api.server.limited = True
        task_id = self.ok("start", "-q", "--worktree", "opencode", "write hello.txt",
                          env=self.agent_env).strip()
        parked, task = self.park_then_resume(
            task_id, self.agent_env, lambda: setattr(self.api.server, "limited", False))
        log = self.log(task)
        # It sleeps on the retry-after saying so only in its logs (--print-logs): ended and
        # parked until then.
        self.assert_parked_far(parked, opencode_api.RETRY_AFTER)
        self.assertEqual((task["status"], task["limits"], task["retries"], task["attempt"]),
                         ("completed", 1, 0, 2), log)
        # The second run resumed the first one's session (--session): the model was sent the
        # first prompt again with the new one.
        self.assertTrue(parked["session_id"], parked)
        self.assertEqual(task["session_id"], parked["session_id"])
        last = self.api.requests[-1]["messages"]
        asked = [m for m in last if m.get("role") == "user"
                 and "write hello.txt" in opencode_api._text(m)]
        self.assertEqual(len(asked), 2, last)
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), opencode_api.FILE_TEXT)
        self.assertTrue(os.path.exists(os.path.join(self.root, ".orchestra", "tasks",
                                                    task_id + ".done")))


if __name__ == "__main__":
    unittest.main()
