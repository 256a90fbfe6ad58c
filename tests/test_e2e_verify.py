"""End-to-end: a verification command after the agent reports success."""

import os
import sys
import unittest

from tests.helpers import ProjectCase


class VerifyTest(ProjectCase):
    def run_wait(self, expect):
        r = self.run_cli("run", "--wait", timeout=60)
        self.assertEqual(r.returncode, expect, r.stdout + r.stderr)

    def test_passing_verification_completes(self):
        tid = self.start("done", "--verify", "echo checked > verified.txt")
        self.run_wait(0)
        t = self.task(tid)
        self.assertEqual((t["status"], t["phase"]), ("completed", None))
        self.assertTrue(os.path.exists(os.path.join(self.root, "verified.txt")))

    def test_failing_verification_fails_keeps_output_and_feeds_the_retry(self):
        self.ok("config", "set", "retry_backoff_base", "1")  # the retry waits 1 s, not 2
        tid = self.start("done", "--verify", "echo 3 tests failed; exit 1", "--max-retries", "1")
        self.run_wait(1)
        t = self.task(tid)
        self.assertEqual((t["status"], t["reason"], t["attempt"]), ("failed", "verify", 2))
        self.assertIn("echo 3 tests failed", t["error"])
        log = self.ok("logs", tid)
        self.assertEqual(log.count("3 tests failed\n"), 2)
        self.assertIn("verifying with:", log)

    def test_no_verification_when_the_agent_failed(self):
        tid = self.start("exit=2", "--verify", "touch verified.txt")
        self.run_wait(1)
        self.assertEqual(self.task(tid)["reason"], "exit")
        self.assertFalse(os.path.exists(os.path.join(self.root, "verified.txt")))


class VerifyFeedsRetryTest(ProjectCase):
    # Records each prompt it is given; succeeds (exit 0) every time.
    agents = {"recorder": {"command": sys.executable, "args": ["-c", (
        "import os, sys; open(os.path.join(os.environ['ORCHESTRA_ROOT'], 'prompts.txt'), 'a')"
        ".write(repr(sys.argv[1]) + chr(10))"), "{prompt}"],
        "promptTemplate": "{prompt}|{previousError}"}}

    def test_the_retry_prompt_carries_the_verification_failure(self):
        check = "test -f ok.txt || { touch ok.txt; echo 2 tests failed; exit 1; }"
        self.ok("config", "set", "retry_backoff_base", "1")  # the retry waits 1 s, not 2
        tid = self.start("fix it", "--verify", check, "--max-retries", "1", agent="recorder")
        r = self.run_cli("run", "--wait", timeout=60)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(self.root, "prompts.txt")) as f:
            first, second = f.read().splitlines()
        self.assertEqual(first, repr("fix it|"))
        self.assertIn("The previous attempt failed (verify): verification", second)
        self.assertEqual((self.task(tid)["status"], self.task(tid)["attempt"]), ("completed", 2))


if __name__ == "__main__":
    unittest.main()
