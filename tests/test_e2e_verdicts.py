"""End-to-end: an agent's own output decides its verdict, and a usage limit parks the task."""

import os
import sys
import unittest

from tests.helpers import ProjectCase

FAKE_CLAUDE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_claude.py")


class VerdictTest(ProjectCase):
    agents = {"claude": {"command": sys.executable, "args": [FAKE_CLAUDE, "{prompt}"],
                         "resumeArgs": [FAKE_CLAUDE, "--resume", "{sessionId}", "{prompt}"],
                         "output": "claude-json", "promptTemplate": "{prompt}"}}

    def run_wait(self, expect):
        r = self.run_cli("run", "--wait", timeout=60)
        self.assertEqual(r.returncode, expect, r.stdout + r.stderr)

    def test_success_records_session_tokens_and_cost(self):
        tid = self.start("ok", agent="claude")
        self.run_wait(0)
        t = self.task(tid)
        self.assertEqual((t["status"], t["session_id"], t["tokens_in"], t["tokens_out"],
                          t["cost_usd"]), ("completed", "sess-1", 100, 20, 0.25))

    def test_stats_total_the_reported_cost_and_tokens(self):
        self.start("ok", agent="claude")
        self.start("error", agent="claude")
        self.run_wait(1)
        import json
        report = json.loads(self.ok("stats", "--json"))["agents"]["claude"]
        self.assertEqual((report["completed"], report["failures"], report["cost_usd"],
                          report["tokens_in"]), (1, {"agent_error": 1}, 0.5, 200))
        table = self.ok("stats")
        self.assertIn("$0.50", table)
        self.assertIn("agent_error 1", table)

    def test_exit_0_with_an_error_result_is_failed(self):
        tid = self.start("error", agent="claude")
        self.run_wait(1)
        t = self.task(tid)
        self.assertEqual((t["status"], t["reason"], t["exit_code"]), ("failed", "agent_error", 0))
        self.assertIn("API Error: 400", t["error"])

    def test_exit_0_with_no_result_is_failed(self):
        tid = self.start("silent", agent="claude")
        self.run_wait(1)
        t = self.task(tid)
        self.assertEqual((t["status"], t["reason"]), ("failed", "no_result"))

    def test_a_usage_limit_parks_the_task_then_resumes_its_session(self):
        tid = self.start("limit", agent="claude")
        other = self.start("ok", agent="claude")
        self.run_wait(0)
        t = self.task(tid)
        self.assertEqual((t["status"], t["attempt"], t["retries"], t["limits"]),
                         ("completed", 2, 0, 1))
        with open(os.path.join(self.root, "resumed.txt")) as f:
            self.assertEqual(f.read().split(), ["sess-1"])
        # While the limit held no other task of that agent started: `other` (queued second,
        # parallel 1) ran only after the limited task resumed.
        o = self.task(other)
        self.assertEqual(o["status"], "completed")
        self.assertGreaterEqual(o["started_at"], t["started_at"])
        self.assertEqual(t["cost_usd"], 0.5, "the cost of both runs")


class PreviousErrorTest(ProjectCase):
    # Fails unless its prompt tells it why the previous attempt failed.
    agents = {"learner": {"command": sys.executable, "args": ["-c", (
        "import os, sys; open(os.path.join(os.environ['ORCHESTRA_ROOT'], 'prompts.txt'), 'a')"
        ".write(repr(sys.argv[1]) + chr(10)); sys.exit(0 if 'previous attempt' in sys.argv[1] "
        "else 1)"), "{prompt}"], "promptTemplate": "{prompt}|{previousError}"}}

    def test_a_retry_is_told_why_the_last_attempt_failed(self):
        self.ok("config", "set", "retry_backoff_base", "1")  # the retry waits 1 s, not 2
        tid = self.start("go", "--max-retries", "1", agent="learner")
        r = self.run_cli("run", "--wait", timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(self.root, "prompts.txt")) as f:
            prompts = f.read().splitlines()
        self.assertEqual(prompts, [repr("go|"), repr(
            "go|The previous attempt failed (exit): exited with code 1")])
        self.assertEqual(self.task(tid)["attempt"], 2)


if __name__ == "__main__":
    unittest.main()
