"""The real GitHub Copilot CLI, run by its preset in a task's worktree, against a stand-in of
an OpenAI-compatible Chat Completions API on 127.0.0.1 (tests/opencode_api.py, which calls
Copilot's tools when they are offered): its offline mode with a model provider of one's own
(COPILOT_PROVIDER_BASE_URL, COPILOT_OFFLINE) makes no other network call and needs no GitHub
login. Skipped where the CLI is not installed: install it into the ignored .agent-clis/
folder (`npm install --prefix .agent-clis @github/copilot`)."""

import json
import os
import shutil
import unittest

from tests import opencode_api
from tests.test_real_agents import ASKED, RealAgentCase, installed


@ASKED
@unittest.skipUnless(shutil.which("git"), "needs git")
@unittest.skipUnless(installed("copilot"), "Copilot CLI is not installed (see the docstring)")
class CopilotInAWorktreeTest(RealAgentCase):
    def setUp(self):
        super().setUp()
        self.api = opencode_api.StandIn()
        self.addCleanup(self.api.close)
        self.agent_env = {k: v for k, v in self.cli_env(
            "copilot", HOME=self.home, COPILOT_HOME=os.path.join(self.home, ".copilot"),
            COPILOT_PROVIDER_BASE_URL=self.api.url, COPILOT_PROVIDER_API_KEY="sk-standin",
            COPILOT_OFFLINE="true", COPILOT_MODEL="standin", COPILOT_AUTO_UPDATE="false"
        ).items() if not k.startswith(("GITHUB_", "GH_", "COPILOT_GITHUB"))}

    def test_the_preset_completes_in_a_fresh_project_s_worktree(self):
        run, task, log = self.run_task("copilot", "write hello.txt")
        self.assertEqual((run.returncode, task["status"]), (0, "completed"),
                         run.stdout + run.stderr + log)
        # Its bash tool ran in the worktree: the file is on the task's branch.
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), opencode_api.FILE_TEXT)
        # Its create tool reached the .done outside the worktree (--yolo allows every path).
        with open(self.done_file(task["id"])) as f:
            self.assertEqual(f.read().strip(), opencode_api.SUMMARY)
        result = json.loads(next(line for line in log.splitlines()
                                 if line.startswith('{"type":"result"')))
        self.assertEqual((task["session_id"], result["exitCode"]), (result["sessionId"], 0), log)
        self.assertFalse(os.path.exists(os.path.join(self.root, "hello.txt")))

    def test_an_api_error_fails_with_the_agent_s_message(self):
        run, task, log = self.run_task("copilot", "API_ERROR please")
        self.assertEqual((run.returncode, task["status"]), (1, "failed"),
                         run.stdout + run.stderr + log)
        self.assertEqual(task["reason"], "agent_error", log)
        self.assertIn(opencode_api.API_ERROR, task["error"], log)

    def test_a_timeout_ends_what_its_bash_tool_started_in_a_session_of_its_own(self):
        self.escape_then_end(self.start_in_worktree("copilot", "ESCAPE now"), "timeout")

    def test_a_cancel_ends_what_its_bash_tool_started_in_a_session_of_its_own(self):
        self.escape_then_end(self.start_in_worktree("copilot", "ESCAPE now"), "cancel")

    def test_a_usage_limit_parks_the_task_and_the_resumed_session_can_write(self):
        parked, task, log = self.limited_then_resumed("copilot")
        self.assert_parked_far(parked, opencode_api.RETRY_AFTER)
        self.assertIn(opencode_api.RATE_LIMIT, parked["error"], log)
        # The second run resumed the first one's session (--resume ID, the sessionId of its
        # json result): the model was sent the first prompt again with the new one.
        self.assert_resumed(parked, task, log)
        self.assert_asked_twice_and_wrote(task)


if __name__ == "__main__":
    unittest.main()
