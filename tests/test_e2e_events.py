"""End-to-end: every state transition lands once in .orchestra/events.jsonl."""

import json
import os
import signal
import subprocess
import sys
import threading
import unittest

from tests.helpers import ProjectCase, wait_until


class EventsTest(ProjectCase):
    def events(self):
        path = os.path.join(self.root, ".orchestra", "events.jsonl")
        with open(path) as f:
            return [json.loads(line) for line in f]

    def test_each_transition_once_with_its_reason(self):
        self.ok("config", "set", "retry_backoff_base", "1")  # the retry's wait: 1 s, not 2
        ok = self.start("done")
        bad = self.start("exit=3", "--max-retries", "1")
        self.run_cli("run", "--wait", timeout=60)
        self.ok("retry", bad)
        self.ok("cancel", bad)
        moves = [(e["task"], e["from"], e["to"], e["reason"]) for e in self.events()]
        self.assertEqual([m[1:] for m in moves if m[0] == ok],
                         [(None, "pending", None), ("pending", "running", None),
                          ("running", "completed", None)])
        self.assertEqual([m[1:] for m in moves if m[0] == bad],
                         [(None, "pending", None), ("pending", "running", None),
                          ("running", "pending", "exit"), ("pending", "running", None),
                          ("running", "failed", "exit"), ("failed", "pending", None),
                          ("pending", "cancelled", None)])
        human = self.ok("events")
        self.assertIn("running → failed (exit)", human)
        self.assertEqual(len(self.ok("events", "--json").splitlines()), len(moves))

    def test_follow_prints_new_events_and_stops_on_ctrl_c(self):
        self.start("done")
        follow = subprocess.Popen([sys.executable, "-S", "-m", "orchestra", "events", "-f", "--json"],
                                  cwd=self.root, env=self.env(), stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True)
        lines = []
        reader = threading.Thread(target=lambda: lines.extend(iter(follow.stdout.readline, "")),
                                  daemon=True)
        reader.start()
        self.run_cli("run", "--wait", timeout=60)
        # Interrupted once it has printed all three, however slow its start on a busy machine.
        wait_until(lambda: len(lines) == 3, 20, message="the follower's three events")
        follow.send_signal(signal.SIGINT)
        follow.wait(timeout=10)
        reader.join(10)
        err = follow.stderr.read()
        follow.stdout.close()
        follow.stderr.close()
        self.assertEqual(follow.returncode, 0, err)
        self.assertNotIn("Traceback", err)
        self.assertEqual([json.loads(l)["to"] for l in lines], ["pending", "running", "completed"])


if __name__ == "__main__":
    unittest.main()
