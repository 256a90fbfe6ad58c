"""Bad input and hostile conditions end to end: every one is a one-line error with a
documented exit code, never a traceback or a task file that is not JSON."""

import json
import os
import subprocess
import sys

from tests.helpers import ProjectCase

HUGE = "1" + "0" * 400  # a number of seconds that is infinite as a float


class HostileInputTest(ProjectCase):
    agents = {"inf": {"command": sys.executable, "args": ["{prompt}"], "timeout": 1e999}}

    def fails(self, *args, code=2, **kw):
        """Run, require exit `code` and a one-line error; returns stderr."""
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, code, r.stdout + r.stderr)
        self.assertTrue(r.stderr.startswith("orchestra: "), r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        return r.stderr

    def task_files(self):
        tasks = os.path.join(self.root, ".orchestra", "tasks")
        return [n for n in os.listdir(tasks) if n.endswith(".json")] if os.path.isdir(tasks) else []

    def test_infinite_durations_are_refused(self):
        self.fails("start", "fake", "done", "--timeout", HUGE)
        self.fails("wait", "task_1795608103576_a7c405", "--timeout", HUGE)
        self.fails("clean", "--older-than", HUGE)
        for line in ('{"prompt": "done", "timeout": 1e999}', f'{{"prompt": "done", "timeout": "{HUGE}"}}'):
            r = self.run_cli("start", "fake", "--batch", "-", input=line + "\n")
            self.assertEqual(r.returncode, 2, r.stdout + r.stderr)
            self.assertIn("batch line 1: ", r.stderr)
        self.assertIn('"timeout"', self.fails("start", "inf", "done"))
        self.assertEqual(self.task_files(), [])

    def test_closed_stdout_or_stderr_is_no_traceback(self):
        def run(args, fd):
            return subprocess.run([sys.executable, "-S", "-m", "orchestra", *args], cwd=self.root,
                                  env=self.env(), capture_output=True, text=True, timeout=60,
                                  preexec_fn=lambda: os.close(fd))
        r = run(["start", "-q", "fake", "done"], 1)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        self.assertEqual(len(self.task_files()), 1)  # the task is queued all the same
        r = run(["status"], 1)
        self.assertEqual((r.returncode, r.stderr), (0, ""))
        r = run(["status", "../../etc/passwd"], 2)
        self.assertEqual((r.returncode, r.stdout), (2, ""))

    def test_a_full_stdout_says_so_and_the_task_is_queued(self):
        if not os.path.exists("/dev/full"):
            self.skipTest("no /dev/full here")
        with open("/dev/full", "w") as full:
            r = subprocess.run([sys.executable, "-S", "-m", "orchestra", "start", "-q", "fake", "done"],
                               cwd=self.root, env=self.env(), stdout=full,
                               stderr=subprocess.PIPE, text=True, timeout=60)
        self.assertEqual(r.returncode, 1, r.stderr)
        self.assertEqual(r.stderr.count("\n"), 1, r.stderr)
        self.assertIn("cannot write to standard output (No space left on device)", r.stderr)
        self.assertEqual(len(self.task_files()), 1)

    def test_a_prompt_too_long_for_a_command_line_fails_its_launch_saying_so(self):
        if sys.platform != "linux":
            self.skipTest("the limit on one argument (128 KiB) is Linux's")
        r = self.run_cli("start", "-q", "fake", "-", input="done " + "x" * 200_000)
        self.assertEqual(r.returncode, 0, r.stderr)
        tid = r.stdout.strip()
        self.assertEqual(self.run_cli("run", "--wait").returncode, 1)
        task = self.task(tid)
        self.assertEqual((task["status"], task["reason"]), ("failed", "launch"))
        self.assertIn("the prompt with its template, is 200,005 bytes", task["error"])
        self.assertIn("shorten the prompt", task["error"])

    def test_an_empty_root_is_an_error(self):
        self.assertIn("project root ''", self.fails("--root", "", "status"))

    def test_unknown_option_points_at_the_command_help(self):
        self.assertIn("`orchestra show --help`",
                      self.fails("show", "task_1795608103576_a7c405", "--frob"))

    def test_terminal_control_codes_in_prompt_and_error_are_not_printed(self):
        hostile = "a\x1b]0;pwned\x07b\x1b[2Jc\x9bd"
        task_id = self.start(f"echo=hi error={hostile}")
        self.start(hostile)
        r = self.run_cli("run", "--wait")
        outputs = [r.stdout, self.run_cli("wait", task_id).stderr, self.ok("status"),
                   self.ok("show", task_id)]
        for out in outputs:
            for c in "\x1b\x07\x9b":
                self.assertNotIn(c, out)
        # --json keeps the text as it is (JSON escapes it)
        self.assertIn(hostile, json.loads(self.ok("show", "--json", task_id))["error"])
