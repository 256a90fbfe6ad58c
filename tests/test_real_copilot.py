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
        self.agent_env = {k: v for k, v in self.env(
            HOME=self.home, COPILOT_HOME=os.path.join(self.home, ".copilot"),
            COPILOT_PROVIDER_BASE_URL=self.api.url, COPILOT_PROVIDER_API_KEY="sk-standin",
            COPILOT_OFFLINE="true", COPILOT_MODEL="standin", COPILOT_AUTO_UPDATE="false",
            PATH=os.pathsep.join((os.path.dirname(installed("copilot")), os.environ["PATH"]))
        ).items() if not k.startswith(("GITHUB_", "GH_", "COPILOT_GITHUB"))}

    def run_task(self, prompt):
        task_id = self.ok("start", "-q", "--worktree", "copilot", prompt,
                          env=self.agent_env).strip()
        run = self.run_cli("run", "--wait", env=self.agent_env, timeout=180)
        task = self.task(task_id)
        return run, task, self.log(task)

    def test_the_preset_completes_in_a_fresh_project_s_worktree(self):
        run, task, log = self.run_task("write hello.txt")
        self.assertEqual((run.returncode, task["status"]), (0, "completed"),
                         run.stdout + run.stderr + log)
        # Its bash tool ran in the worktree: the file is on the task's branch.
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), opencode_api.FILE_TEXT)
        # Its create tool reached the .done outside the worktree (--yolo allows every path).
        with open(os.path.join(self.root, ".orchestra", "tasks", task["id"] + ".done")) as f:
            self.assertEqual(f.read().strip(), opencode_api.SUMMARY)
        result = json.loads(next(line for line in log.splitlines()
                                 if line.startswith('{"type":"result"')))
        self.assertEqual((task["session_id"], result["exitCode"]), (result["sessionId"], 0), log)
        self.assertFalse(os.path.exists(os.path.join(self.root, "hello.txt")))

    def test_an_api_error_fails_with_the_agent_s_message(self):
        run, task, log = self.run_task("API_ERROR please")
        self.assertEqual((run.returncode, task["status"]), (1, "failed"),
                         run.stdout + run.stderr + log)
        self.assertEqual(task["reason"], "agent_error", log)
        self.assertIn(opencode_api.API_ERROR, task["error"], log)

    def test_a_timeout_ends_what_its_bash_tool_started_in_a_session_of_its_own(self):
        task_id = self.ok("start", "-q", "--worktree", "copilot", "ESCAPE now",
                          env=self.agent_env).strip()
        self.escape_then_end(task_id, "timeout", self.agent_env)

    def test_a_cancel_ends_what_its_bash_tool_started_in_a_session_of_its_own(self):
        task_id = self.ok("start", "-q", "--worktree", "copilot", "ESCAPE now",
                          env=self.agent_env).strip()
        self.escape_then_end(task_id, "cancel", self.agent_env)

    def test_a_usage_limit_parks_the_task_and_the_resumed_session_can_write(self):
        self.api.server.limited = True
        task_id = self.ok("start", "-q", "--worktree", "copilot", "write hello.txt",
                          env=self.agent_env).strip()
        parked, task = self.park_then_resume(
            task_id, self.agent_env, lambda: setattr(self.api.server, "limited", False))
        log = self.log(task)
        self.assert_parked_far(parked, opencode_api.RETRY_AFTER)
        self.assertIn(opencode_api.RATE_LIMIT, parked["error"], log)
        self.assertEqual((task["status"], task["limits"], task["retries"], task["attempt"]),
                         ("completed", 1, 0, 2), log)
        # The second run resumed the first one's session (--resume ID, the sessionId of its
        # json result): the model was sent the first prompt again with the new one.
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
