"""End-to-end: an agent that says it sleeps on a usage limit far away is ended by the
supervisor at once, its processes gone, and parked until the limit lifts."""

import os
import sys
import time
import unittest

from tests.helpers import FAKE_AGENT, ProjectCase, pid_alive, wait_until


class SleepingOnALimitTest(ProjectCase):
    agents = {"sleeper": {"command": sys.executable, "args": ["-S", FAKE_AGENT, "{prompt}"],
                          "promptTemplate": "{prompt}", "output": "text"}}

    def test_a_far_reset_ends_the_run_and_parks_the_task(self):
        pids = os.path.join(self.root, "agent.pids")
        tid = self.start(f"pids={pids} until=go limit=3600 sleep=60", "--no-worktree",
                         agent="sleeper")
        self.ok("run")
        wait_until(lambda: os.path.exists(pids), 10, message="the agent to start")
        with open(pids) as f:
            agent = int(f.read().split()[0])
        said = time.monotonic()
        open(os.path.join(self.root, "go"), "w").close()
        wait_until(lambda: self.task(tid)["status"] == "pending", 5, interval=0.02,
                   message="the task to be parked")
        took = time.monotonic() - said
        self.assertLess(took, 2.0)
        t = self.task(tid)
        self.assertEqual((t["reason"], t["retries"], t["limits"], t["attempt"]), ("limit", 0, 1, 1))
        self.assertIn("429 Too Many Requests", t["error"])
        self.assertIsNotNone(t["exit_code"])
        from orchestra.clock import parse_iso
        self.assertAlmostEqual(parse_iso(t["not_before"]), time.time() + 3600, delta=30)
        self.assertFalse(pid_alive(agent))


if __name__ == "__main__":
    unittest.main()
