"""The real Qwen Code CLI, run by its preset in a task's worktree, against a stand-in of an
OpenAI-compatible Chat Completions API on 127.0.0.1 (tests/opencode_api.py, which calls Qwen
Code's tools when they are offered). Skipped where the CLI is not installed: install it into
the ignored .agent-clis/ folder (`npm install --prefix .agent-clis @qwen-code/qwen-code`)."""

import json
import os
import shutil
import unittest

from tests import opencode_api
from tests.test_real_agents import ASKED, RealAgentCase, installed


@ASKED
@unittest.skipUnless(shutil.which("git"), "needs git")
@unittest.skipUnless(installed("qwen"), "Qwen Code is not installed (see the docstring)")
class QwenInAWorktreeTest(RealAgentCase):
    def setUp(self):
        super().setUp()
        self.api = opencode_api.StandIn()
        self.addCleanup(self.api.close)
        # Its OpenAI auth is read from the environment; its settings and sessions from HOME.
        self.agent_env = self.cli_env(
            "qwen", drop=("DASHSCOPE_API_KEY", "QWEN_CODE_SETTINGS", "GEMINI_API_KEY"),
            HOME=self.home, OPENAI_BASE_URL=self.api.url, OPENAI_API_KEY="sk-standin",
            OPENAI_MODEL="standin")

    def test_the_preset_completes_in_a_fresh_project_s_worktree(self):
        run, task, log = self.run_task("qwen", "write hello.txt")
        self.assertEqual((run.returncode, task["status"]), (0, "completed"),
                         run.stdout + run.stderr + log)
        # Its shell tool ran in the worktree: the file is on the task's branch.
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), opencode_api.FILE_TEXT)
        # Its write_file tool reached the .done outside the worktree (--include-directories).
        with open(self.done_file(task["id"])) as f:
            self.assertEqual(f.read().strip(), opencode_api.SUMMARY)
        result = json.loads(next(line for line in log.splitlines()
                                 if line.startswith('{"type":"result"')))
        self.assertEqual((task["session_id"], task["tokens_in"], task["tokens_out"]),
                         (result["session_id"], result["usage"]["input_tokens"],
                          result["usage"]["output_tokens"]), log)
        self.assertGreater(task["tokens_in"], 0)
        self.assertFalse(os.path.exists(os.path.join(self.root, "hello.txt")))

    def test_an_api_error_fails_with_the_agent_s_message(self):
        run, task, log = self.run_task("qwen", "API_ERROR please")
        self.assertEqual((run.returncode, task["status"]), (1, "failed"),
                         run.stdout + run.stderr + log)
        self.assertEqual(task["reason"], "agent_error", log)
        self.assertIn(opencode_api.API_ERROR, task["error"], log)

    def test_a_timeout_ends_what_its_shell_tool_started_in_a_session_of_its_own(self):
        self.escape_then_end(self.start_in_worktree("qwen", "ESCAPE now"), "timeout")

    def test_a_cancel_ends_what_its_shell_tool_started_in_a_session_of_its_own(self):
        self.escape_then_end(self.start_in_worktree("qwen", "ESCAPE now"), "cancel")

    def test_a_usage_limit_parks_the_task_and_the_resumed_session_can_write(self):
        # Headless, it waits out a 429 saying so only in its debug log (~/.qwen/debug/): 7
        # tries with backoff, then 10 more each waiting the 300 s asked, some 50 minutes in
        # all. With no retries of the latter kind it gives up after the former (about a
        # minute), answering with the API's message.
        os.makedirs(os.path.join(self.home, ".qwen"))
        with open(os.path.join(self.home, ".qwen", "settings.json"), "w") as f:
            json.dump({"model": {"generationConfig": {"maxRetries": 0}}}, f)
        parked, task, log = self.limited_then_resumed("qwen")
        self.assert_parked_far(parked, opencode_api.RETRY_AFTER)
        # The second run resumed the first one's session (--resume ID): the model was sent
        # the first prompt again with the new one.
        self.assert_resumed(parked, task, log)
        self.assert_asked_twice_and_wrote(task)


if __name__ == "__main__":
    unittest.main()
