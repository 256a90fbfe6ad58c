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
        self.agent_env = self.cli_env(
            "opencode", drop=("OPENCODE_CONFIG_CONTENT", "OPENCODE_CONFIG_DIR",
                              "OPENCODE_PERMISSION"),
            HOME=home, OPENCODE_CONFIG=config, STANDIN_API_KEY="sk-standin",
            XDG_CONFIG_HOME=os.path.join(home, "config"), XDG_DATA_HOME=os.path.join(home, "data"),
            XDG_CACHE_HOME=os.path.join(home, "cache"), XDG_STATE_HOME=os.path.join(home, "state"),
            OPENCODE_DISABLE_MODELS_FETCH="1", OPENCODE_DISABLE_AUTOUPDATE="1",
            npm_config_registry="http://127.0.0.1:9/")

    def test_the_preset_completes_in_a_fresh_project_s_worktree(self):
        run, task, log = self.run_task("opencode", "write hello.txt", timeout=120)
        self.assertEqual((run.returncode, task["status"]), (0, "completed"),
                         run.stdout + run.stderr + log)
        # Its bash tool ran in the worktree: the file is on the task's branch.
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), opencode_api.FILE_TEXT)
        self.assertEqual(task["changes"][0], 1)
        # Its write tool reached the .done outside the worktree (--auto).
        with open(self.done_file(task["id"])) as f:
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
        run, task, log = self.run_task("opencode", "write hello.txt", timeout=120)
        self.assertEqual((run.returncode, task["status"]), (0, "completed"),
                         run.stdout + run.stderr + log)
        systems = [opencode_api._text(m) for body_ in self.api.requests
                   for m in body_.get("messages") or () if m.get("role") == "system"]
        first_line = body.splitlines()[0]
        self.assertTrue(any(first_line in s for s in systems), systems[:1])
        self.assertNotIn("not found. Falling back", log)

    def test_an_api_error_fails_with_the_agent_s_message(self):
        run, task, log = self.run_task("opencode", "API_ERROR please", timeout=120)
        self.assertEqual((run.returncode, task["status"]), (1, "failed"),
                         run.stdout + run.stderr + log)
        self.assertEqual((task["reason"], task["error"]), ("agent_error", opencode_api.API_ERROR),
                         log)

    def test_a_timeout_ends_what_its_bash_tool_started_in_a_session_of_its_own(self):
        # The timeout is set once its tool has started the process (OpenCode's start-up takes
        # from 7 s to far more on a busy machine).
        self.time_out_once_escaped(self.start_in_worktree("opencode", "ESCAPE now"))

    def test_a_cancel_ends_what_its_bash_tool_started_in_a_session_of_its_own(self):
        self.escape_then_end(self.start_in_worktree("opencode", "ESCAPE now"), "cancel")

    def test_a_usage_limit_parks_the_task_and_the_resumed_session_can_write(self):
        parked, task, log = self.limited_then_resumed("opencode")
        # It sleeps on the retry-after saying so only in its logs (--print-logs): ended and
        # parked until then.
        self.assert_parked_far(parked, opencode_api.RETRY_AFTER)
        # The second run resumed the first one's session (--session): the model was sent the
        # first prompt again with the new one.
        self.assert_resumed(parked, task, log)
        self.assert_asked_twice_and_wrote(task)


if __name__ == "__main__":
    unittest.main()
