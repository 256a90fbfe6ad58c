"""Agents that print a great deal: the supervisor follows their output off its loop, in
bounded memory, and holds each log to the log cap."""

import json
import os
import subprocess
import sys

from orchestra.clock import parse_iso
from tests.helpers import FAKE_AGENT, ProjectCase

SPEW_MB = 40


class FloodTest(ProjectCase):
    agents = {"texty": {"command": sys.executable, "args": ["-S", FAKE_AGENT, "{prompt}"],
                        "promptTemplate": "{prompt}", "output": "text"}}

    def test_a_flood_of_output_delays_no_timeout_and_stays_out_of_memory(self):
        flood = self.start(f"spew={SPEW_MB} sleep=1 done", agent="texty")
        stuck = self.start("sleep=30", "--timeout", "2")
        run = subprocess.Popen([sys.executable, "-S", "-m", "orchestra", "run", "--wait",
                                "--parallel", "2"], cwd=self.root, env=self.env(),
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        self.addCleanup(run.stderr.close)
        _, status, usage = os.wait4(run.pid, 0)
        run.returncode = os.waitstatus_to_exitcode(status)
        self.assertEqual((self.task(flood)["status"], self.task(stuck)["status"]),
                         ("completed", "failed"), run.stderr.read().decode())
        with open(os.path.join(self.root, ".orchestra", "tasks", stuck + ".timeout")) as f:
            fired = parse_iso(f.read().strip())
        late = fired - parse_iso(self.task(stuck)["started_at"]) - 2
        self.assertLess(late, 3, "the timeout waited for the other task's output")
        # ru_maxrss (KiB on Linux) is the peak of the supervisor and of the agents it reaped,
        # none of which holds much of the output.
        self.assertLess(usage.ru_maxrss, 100 * 1024)


class LogCapTest(ProjectCase):
    def test_a_capped_log_keeps_its_head_a_marker_and_its_tail(self):
        self.ok("config", "set", "log_max", "1M")
        tid = self.start("echo=first spew=6 echo=last done")
        self.ok("run", "--wait")
        self.assertEqual(self.task(tid)["status"], "completed")
        with open(os.path.join(self.root, ".orchestra", "logs", tid + ".log"), "rb") as f:
            log = f.read()
        self.assertLess(len(log), (1 << 20) + (256 << 10))
        self.assertIn(b"\nfirst\n", log[:1000])
        self.assertTrue(log.endswith(b"\nlast\n"), log[-100:])
        self.assertRegex(log.decode(), r"\n--- orchestra: \d+ bytes of output dropped here "
                         r"\(log cap 1M; see `orchestra config`\) ---\n")
        self.assertEqual(json.loads(self.ok("config", "get", "log_max")), 1 << 20)
