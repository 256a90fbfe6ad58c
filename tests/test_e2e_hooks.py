"""End-to-end: hooks and webhooks fire once per matching transition."""

import http.server
import json
import os
import sys
import threading
import unittest

from tests.helpers import ProjectCase, wait_until


class Receiver(http.server.BaseHTTPRequestHandler):
    received = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        Receiver.received.append(json.loads(body))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


class HooksTest(ProjectCase):
    def setUp(self):
        super().setUp()
        Receiver.received = []
        self.server = http.server.HTTPServer(("127.0.0.1", 0), Receiver)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.seen = os.path.join(self.root, "seen.txt")
        record = ("import os; open(%r, 'a').write(' '.join(os.environ[k] for k in ("
                  "'ORCHESTRA_TASK_ID', 'ORCHESTRA_STATUS', 'ORCHESTRA_REASON', "
                  "'ORCHESTRA_AGENT')) + chr(10))" % self.seen)
        config = {"hooks": [
            {"on": ["completed", "failed"], "command": [sys.executable, "-c", record]},
            {"on": ["failed"], "url": f"http://127.0.0.1:{self.server.server_port}/hook"},
            {"on": ["running"], "url": "http://127.0.0.1:9/unreachable", "retries": 1,
             "timeout": 1},
        ]}
        os.makedirs(os.path.join(self.root, ".orchestra"), exist_ok=True)
        with open(os.path.join(self.root, ".orchestra", "config.json"), "w") as f:
            json.dump(config, f)

    def test_hooks_fire_once_per_matching_transition(self):
        ok = self.start("done")
        bad = self.start("exit=3")
        r = self.run_cli("run", "--wait", timeout=60)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        with open(self.seen) as f:
            lines = sorted(f.read().splitlines())
        self.assertEqual(lines, sorted([f"{ok} completed  fake", f"{bad} failed exit fake"]))
        wait_until(lambda: Receiver.received, 5, message="the webhook")
        self.assertEqual([(e["task"], e["to"], e["reason"]) for e in Receiver.received],
                         [(bad, "failed", "exit")])
        # A later supervisor does not fire them again.
        self.ok("run", "--wait")
        with open(self.seen) as f:
            self.assertEqual(len(f.read().splitlines()), 2)
        self.assertEqual(len(Receiver.received), 1)

    def test_config_lists_hooks_as_known(self):
        self.assertNotIn("unknown", self.ok("config", "list"))


if __name__ == "__main__":
    unittest.main()
