"""The real Gemini CLI, run by its preset in a task's worktree, against a stand-in of Google's
Gemini API on 127.0.0.1 (tests/gemini_api.py). Skipped where the CLI is not installed: install
it into the ignored .agent-clis/ folder (`npm install --prefix .agent-clis @google/gemini-cli`)."""

import json
import os
import shutil
import time
import unittest

from tests import gemini_api
from tests.helpers import wait_until
from tests.test_real_agents import ASKED, RealAgentCase, installed

# Pointed at a base URL it needs the API-key auth named; the rest keeps it off the network.
SETTINGS = {"security": {"auth": {"selectedType": "gemini-api-key"}},
            "general": {"disableAutoUpdate": True, "disableUpdateNag": True},
            "privacy": {"usageStatisticsEnabled": False}, "telemetry": {"enabled": False}}


@ASKED
@unittest.skipUnless(shutil.which("git"), "needs git")
@unittest.skipUnless(installed("gemini"), "Gemini CLI is not installed (see the docstring)")
class GeminiInAWorktreeTest(RealAgentCase):
    def setUp(self):
        super().setUp()
        os.mkdir(os.path.join(self.home, ".gemini"))
        with open(os.path.join(self.home, ".gemini", "settings.json"), "w") as f:
            json.dump(SETTINGS, f)
        self.agent_env = self.cli_env(
            "gemini", drop=("GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT", "GEMINI_CLI_TRUST_WORKSPACE",
                            "GOOGLE_GENAI_USE_VERTEXAI", "GOOGLE_APPLICATION_CREDENTIALS"),
            HOME=self.home, GEMINI_API_KEY="standin-key")

    def env_for(self, api):
        """The CLI's environment pointed at the stand-in `api` (one a test: each is made to
        answer its own way), which is closed when the test ends."""
        self.addCleanup(api.close)
        return dict(self.agent_env, GOOGLE_GEMINI_BASE_URL=api.url)

    def test_the_preset_completes_in_a_fresh_project_s_worktree(self):
        api = gemini_api.StandIn()
        run, task, log = self.run_task("gemini", "write hello.txt", self.env_for(api), 120)
        self.assertEqual((run.returncode, task["status"]), (0, "completed"),
                         run.stdout + run.stderr + log)
        # Its shell tool ran in the worktree: the file is on the task's branch.
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), gemini_api.FILE_TEXT)
        self.assertEqual(task["changes"][0], 1)
        # Its write_file tool reached the .done outside the worktree (--include-directories).
        with open(self.done_file(task["id"])) as f:
            self.assertEqual(f.read().strip(), gemini_api.SUMMARY)
        usage = gemini_api.USAGE
        self.assertEqual((task["tokens_in"], task["tokens_out"]),
                         (usage["promptTokenCount"] * len(api.requests),
                          usage["candidatesTokenCount"] * len(api.requests)))
        self.assertTrue(task["session_id"])
        self.assertFalse(os.path.exists(os.path.join(self.root, "hello.txt")))

    def test_an_api_error_fails_with_the_agent_s_message(self):
        run, task, log = self.run_task("gemini", "write hello.txt",
                                       self.env_for(gemini_api.StandIn(error=400)), 120)
        self.assertEqual((run.returncode, task["status"]), (1, "failed"),
                         run.stdout + run.stderr + log)
        self.assertEqual((task["reason"], task["error"]), ("agent_error", gemini_api.ERROR_MESSAGE),
                         log)

    def test_a_quota_error_retried_again_and_again_parks_past_the_grace(self):
        # Each retry waits 2 s, well within the grace: only that they keep coming, for longer
        # than the grace, says the CLI is stuck on the limit (it retries for minutes).
        api = gemini_api.StandIn(retry_after=2)
        env = self.env_for(api)
        self.ok("config", "set", "limit_grace", "5", env=env)
        task_id = self.start_in_worktree("gemini", "write hello.txt", env)
        t0 = time.monotonic()
        self.ok("run", env=env)
        wait_until(lambda: self.task(task_id)["reason"] == "limit", 60, message="the park")
        took = time.monotonic() - t0
        task = self.task(task_id)
        self.assertEqual(task["status"], "pending", task)
        self.assertIn("retry in 2s", task["error"])
        self.assertLess(took, 30, "parked only when the CLI gave up")
        self.assertGreaterEqual(len(api.requests), 2)  # it did retry before it was parked

    def start_escaping(self):
        """A task whose model has the shell tool run the stand-ins' ESCAPE: (its id, env)."""
        env = self.env_for(gemini_api.StandIn(command=gemini_api.ESCAPE))
        return self.start_in_worktree("gemini", "write hello.txt", env), env

    def test_a_timeout_ends_what_its_shell_tool_started_in_a_session_of_its_own(self):
        self.time_out_once_escaped(*self.start_escaping())

    def test_a_cancel_ends_what_its_shell_tool_started_in_a_session_of_its_own(self):
        task_id, env = self.start_escaping()
        self.escape_then_end(task_id, "cancel", env)

    def test_a_limit_at_its_first_request_parks_and_the_next_run_starts_afresh(self):
        # Gemini CLI has saved no session then: resuming it would fail the task.
        api = gemini_api.StandIn(retry_after=gemini_api.RETRY_AFTER)
        env = self.env_for(api)
        task_id = self.start_in_worktree("gemini", "write hello.txt", env)
        parked, task = self.park_then_resume(
            task_id, env, lambda: setattr(api.server, "retry_after", None))
        self.assert_parked_far(parked, gemini_api.RETRY_AFTER)
        self.assertIsNone(parked["session_id"], parked)
        self.assertEqual((task["status"], task["limits"], task["attempt"]), ("completed", 1, 2),
                         self.log(task))

    def test_a_usage_limit_parks_the_task_and_the_resumed_session_can_write(self):
        # The limit comes after its first tool call: Gemini CLI records a session only once
        # the model has answered, and `--resume` of one limited at its first request fails
        # ("No previous sessions found for this project").
        api = gemini_api.StandIn(retry_after=gemini_api.RETRY_AFTER, limit_from=1)
        env = self.env_for(api)
        task_id = self.start_in_worktree("gemini", "write hello.txt", env)
        parked, task = self.park_then_resume(
            task_id, env, lambda: setattr(api.server, "retry_after", None))
        log = self.log(task)
        # It would sleep on the RetryInfo saying so on stderr: ended and parked until then.
        self.assert_parked_far(parked, gemini_api.RETRY_AFTER)
        # The second run resumed the first one's session (--resume ID): the model was sent
        # the first prompt again with the new one.
        self.assert_resumed(parked, task, log)
        said = [p.get("text", "") for p in gemini_api._parts(api.requests[-1], "user")
                if isinstance(p, dict)]
        self.assertEqual(sum(t.startswith("write hello.txt") for t in said), 2, said)
        # ... with the first run's tool call in it, and could write: the .done outside its
        # worktree (the first run wrote hello.txt).
        self.assertIn("run_shell_command", json.dumps(api.requests[-1]))
        first = log[:log.rindex("\n=== orchestra:")]
        self.assertNotIn('"tool_name":"write_file"', first)
        self.assertIn('"tool_name":"write_file"', log[len(first):])
        with open(self.done_file(task_id)) as f:
            self.assertEqual(f.read().strip(), gemini_api.SUMMARY)
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), gemini_api.FILE_TEXT)
        self.assertIn("⚙ write_file ", self.ok("logs", task_id, env=env))


if __name__ == "__main__":
    unittest.main()
