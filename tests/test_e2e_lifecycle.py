"""End-to-end tests of a task's whole lifecycle, through `python -m orchestra` subprocesses.

Every test gets a throw-away project (tests/helpers.py) with the `fake` agent, whose prompt is
a list of steps (tests/fake_agent.py). Nothing here sleeps a fixed time to wait for something.
"""

import glob
import json
import os
import queue
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from datetime import datetime, timezone

from tests.helpers import FAKE_AGENT, ProjectCase, pid_alive, wait_until

ID_RE = re.compile(r"task_\d{13}_[0-9a-f]{6}")
FAKE = {"command": sys.executable, "args": ["-S", FAKE_AGENT, "{prompt}"], "promptTemplate": "{prompt}"}
# Records its argv (after `-c CODE`) as JSON in its working directory, the project root.
ARGV_AGENT = {"command": sys.executable,
              "args": ["-c", "import json,sys; json.dump(sys.argv[1:], open('argv.json','w'))",
                       "{prompt}"],
              "promptTemplate": "{prompt}"}
TASK_FIELDS = ("id", "agent", "prompt", "status", "reason", "error", "exit_code", "priority",
               "timeout", "attempt", "max_retries", "pid", "created_at", "started_at",
               "finished_at", "log_file", "plan_file")
SENTINELS = ("done", "error", "cancelled", "timeout", "exit")


def ts(text):
    """An ISO 8601 UTC time from a task file -> seconds since the epoch."""
    return datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc).timestamp()


class E2ECase(ProjectCase):
    """ProjectCase plus a few shorthands shared by the tests below."""

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def sentinel(self, task_id, kind):
        return self.path(".orchestra", "tasks", f"{task_id}.{kind}")

    def task_files(self):
        """The task files' names (none when .orchestra/tasks does not even exist)."""
        tasks = self.path(".orchestra", "tasks")
        return sorted(f for f in os.listdir(tasks) if f.endswith(".json")) if os.path.isdir(tasks) else []

    def files_of(self, task_id):
        """Every file under .orchestra/ that carries the task's id."""
        return sorted(glob.glob(self.path(".orchestra", "*", f"{task_id}*")))

    def log(self, task_id):
        with open(self.path(".orchestra", "logs", task_id + ".log"), encoding="utf-8") as f:
            return f.read()

    def assertClean(self, result):
        """No traceback and nothing but `orchestra:` lines on stderr."""
        self.assertNotIn("Traceback", result.stderr)
        for line in result.stderr.splitlines():
            self.assertTrue(line.startswith("orchestra:"), f"unexpected stderr line {line!r}")

    def assertFails(self, code, *args, **kw):
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, code, f"orchestra {' '.join(args)}:\n{r.stdout}{r.stderr}")
        self.assertClean(r)
        return r

    def run_wait(self, *flags, expect=0, timeout=30):
        r = self.run_cli("run", "--wait", *flags, timeout=timeout)
        self.assertEqual(r.returncode, expect, f"run --wait:\n{r.stdout}{r.stderr}")
        self.assertNotIn("Traceback", r.stderr)
        return r

    def background_run(self, *flags):
        """`run` without --wait: a background supervisor (killed by ProjectCase's cleanup)."""
        out = self.ok("run", *flags)
        self.assertIn("background", out)

    def wait_running(self, task_id, timeout=10):
        wait_until(lambda: self.task(task_id)["status"] == "running", timeout,
                   message=f"{task_id} to run")

    def fresh_dir(self):
        """An empty directory outside any project."""
        d = tempfile.mkdtemp(prefix="orchestra-fresh-")
        self.addCleanup(shutil.rmtree, d, True)
        return d

    def popen(self, *args, cwd=None, env=None):
        proc = subprocess.Popen([sys.executable, "-S", "-m", "orchestra", *args], cwd=cwd or self.root,
                                env=env or self.env(), stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, text=True)

        def stop():
            if proc.poll() is None:
                proc.kill()
            proc.communicate()
        self.addCleanup(stop)
        return proc


# -- start ---------------------------------------------------------------------------------


class StartTest(E2ECase):
    def test_start_prints_id_and_creates_pending_task(self):
        out = self.ok("start", "fake", "echo=hi")
        m = ID_RE.search(out)
        self.assertIsNotNone(m, out)
        task = self.task(m.group(0))
        self.assertEqual((task["status"], task["agent"], task["prompt"]), ("pending", "fake", "echo=hi"))

    def test_quiet_prints_only_the_id(self):
        out = self.ok("start", "-q", "fake", "echo=hi")
        self.assertRegex(out, r"\A" + ID_RE.pattern + r"\n\Z")
        self.assertEqual(self.task(out.strip())["status"], "pending")

    def test_several_words_are_joined(self):
        tid = self.start("echo=a", "echo=b")
        self.assertEqual(self.task(tid)["prompt"], "echo=a echo=b")

    def test_json_prints_the_task_object(self):
        out = self.ok("start", "--json", "fake", "echo=hi", "--priority", "3", "--timeout", "90s",
                      "--max-retries", "2")
        task = json.loads(out)
        for field in TASK_FIELDS:
            self.assertIn(field, task)
        tid = task["id"]
        self.assertRegex(tid, r"\A" + ID_RE.pattern + r"\Z")
        self.assertEqual(task["agent"], "fake")
        self.assertEqual(task["prompt"], "echo=hi")
        self.assertEqual(task["status"], "pending")
        for field in ("reason", "error", "exit_code", "pid", "started_at", "finished_at"):
            self.assertIsNone(task[field], field)
        self.assertEqual((task["priority"], task["timeout"], task["max_retries"], task["attempt"]),
                         (3, 90.0, 2, 0))
        self.assertLess(abs(ts(task["created_at"]) - time.time()), 60)
        self.assertEqual(task["log_file"], f".orchestra/logs/{tid}.log")
        self.assertEqual(task["plan_file"], f".orchestra/plans/{tid}_plan.md")
        self.assertEqual(task, self.task(tid))  # what was printed is what was stored

    def test_prompt_from_stdin(self):
        prompt = "line one echo=x\nline two {taskId} $HOME"
        tid = self.ok("start", "-q", "fake", "-", input=prompt).strip()
        self.assertEqual(self.task(tid)["prompt"], prompt)
        tid2 = self.ok("start", "-q", "fake", "-", input="echo=piped\n").strip()
        self.assertEqual(self.task(tid2)["prompt"].rstrip("\n"), "echo=piped")

    def test_empty_prompt_is_usage_error(self):
        for args, stdin in ((("",), None), (("   ",), None), (("-",), ""), (("-",), " \n\n")):
            with self.subTest(args=args, stdin=stdin):
                r = self.assertFails(2, "start", "fake", *args, input=stdin)
                self.assertIn("empty", r.stderr)
        self.assertEqual(self.task_files(), [])

    def test_unknown_agent_is_usage_error_and_creates_nothing(self):
        r = self.assertFails(2, "start", "nosuchagent", "echo=hi")
        self.assertIn("nosuchagent", r.stderr)
        self.assertEqual(r.stdout, "")
        self.assertEqual(self.task_files(), [])

    def test_bad_option_values_are_one_line_usage_errors(self):
        cases = [("--priority", "high"), ("--priority", "1.5"), ("--timeout", "0"),
                 ("--timeout", "-5"), ("--timeout", "soon"), ("--timeout", "5x"),
                 ("--max-retries", "-1"), ("--max-retries", "two"), ("--max-retries", "1.5")]
        for option, value in cases:
            with self.subTest(option=option, value=value):
                r = self.assertFails(2, "start", "fake", "echo=hi", option, value)
                lines = r.stderr.strip().splitlines()
                self.assertEqual(len(lines), 1, r.stderr)
                self.assertIn(option, lines[0])
                self.assertEqual(r.stdout, "")
        self.assertEqual(self.task_files(), [])

    def test_quiet_and_json_together_is_usage_error(self):
        self.assertFails(2, "start", "-q", "--json", "fake", "echo=hi")
        self.assertEqual(self.task_files(), [])


# -- run --------------------------------------------------------------------------------------


class RunTest(E2ECase):
    def test_run_wait_exit_0_when_all_complete(self):
        a, b = self.start("echo=one"), self.start("echo=two done")
        r = self.run_wait()
        for tid in (a, b):
            self.assertEqual(self.task(tid)["status"], "completed")
            self.assertIn(tid, r.stdout)

    def test_run_wait_exit_1_when_any_fails(self):
        ok, bad = self.start("echo=one"), self.start("exit=1")
        self.run_wait("--parallel", "2", expect=1)
        self.assertEqual(self.task(ok)["status"], "completed")
        self.assertEqual(self.task(bad)["status"], "failed")

    def test_run_with_nothing_to_do(self):
        out = self.ok("run", "--wait")
        self.assertIn("nothing to run", out)

    def test_parallel_2_runs_two_at_once(self):
        a, b = self.start("sleep=0.8 done"), self.start("sleep=0.8 done")
        self.run_wait("--parallel", "2")
        ta, tb = self.task(a), self.task(b)
        # Overlapping runs: each started before the other finished.
        self.assertLess(ts(ta["started_at"]), ts(tb["finished_at"]))
        self.assertLess(ts(tb["started_at"]), ts(ta["finished_at"]))

    def test_priority_then_fifo_with_parallel_1(self):
        names = [("low1", "0"), ("high1", "5"), ("low2", "0"), ("high2", "5"), ("neg", "-1")]
        ids = {name: self.start(f"echo={name}", "--priority", prio) for name, prio in names}
        self.run_wait("--parallel", "1")
        tasks = {name: self.task(tid) for name, tid in ids.items()}
        order = sorted(tasks, key=lambda n: ts(tasks[n]["started_at"]))
        self.assertEqual(order, ["high1", "high2", "low1", "low2", "neg"])
        # One at a time: each started after the previous one finished.
        for before, after in zip(order, order[1:]):
            self.assertGreaterEqual(ts(tasks[after]["started_at"]), ts(tasks[before]["finished_at"]))


# -- how a run ends -----------------------------------------------------------------------------


class CompletionTest(E2ECase):
    def test_completion_rules(self):
        self.write_config({"fake": FAKE, "strict": dict(FAKE, completion="sentinel"),
                           "exitonly": dict(FAKE, completion="exit")})
        cases = {  # name: (agent, prompt, status, reason, exit_code)
            "error_exit0": ("fake", "error=boom exit=0", "failed", "error", 0),
            "done_exit3": ("fake", "done exit=3", "completed", None, 3),
            "exit4": ("fake", "echo=x exit=4", "failed", "exit", 4),
            "exit0": ("fake", "echo=x", "completed", None, 0),
            "sentinel_no_done": ("strict", "echo=x", "failed", "exit", 0),
            "sentinel_done": ("strict", "done", "completed", None, 0),
            "exitmode_done_exit3": ("exitonly", "done exit=3", "failed", "exit", 3),
            "exitmode_exit0": ("exitonly", "echo=x", "completed", None, 0),
        }
        ids = {name: self.start(prompt, agent=agent) for name, (agent, prompt, *_) in cases.items()}
        self.run_wait("--parallel", "4", expect=1)
        for name, (agent, prompt, status, reason, code) in cases.items():
            with self.subTest(name):
                task = self.task(ids[name])
                self.assertEqual((task["status"], task["reason"], task["exit_code"]),
                                 (status, reason, code))
                if status == "completed":
                    self.assertIsNone(task["error"])
        self.assertIn("boom", self.task(ids["error_exit0"])["error"] or "")
        self.assertIn("from the fake agent", self.task(ids["error_exit0"])["error"] or "")
        self.assertIn("4", self.task(ids["exit4"])["error"] or "")
        self.assertIn(".done", self.task(ids["sentinel_no_done"])["error"] or "")


# -- timeouts -------------------------------------------------------------------------------------


class TimeoutTest(E2ECase):
    def test_timeout_kills_the_whole_tree(self):
        tid = self.start("tree=30 pids=pids.txt sleep=30", "--timeout", "1")
        t0 = time.monotonic()
        self.run_wait(expect=1)
        self.assertLess(time.monotonic() - t0, 10)
        task = self.task(tid)
        self.assertEqual((task["status"], task["reason"]), ("failed", "timeout"))
        self.assertIn("timed out", task["error"])
        self.assertTrue(os.path.exists(self.sentinel(tid, "timeout")))
        with open(self.path("pids.txt")) as f:
            pids = [int(p) for p in f.read().split()]
        self.assertEqual(len(pids), 3)  # the agent and two grandchildren that ignore SIGTERM
        for pid in pids:
            self.assertFalse(pid_alive(pid), f"pid {pid} survived the timeout")
        self.assertFalse(pid_alive(task["pid"]))

    @unittest.skipUnless(sys.platform.startswith("linux"), "reaching past the process group")
    def test_timeout_ends_a_process_that_left_the_session(self):
        tid = self.start("escape=300 pids=pids.txt sleep=300")
        run = self.popen("run", "--wait")
        # pids.txt is written once the grandchild has left the session.
        wait_until(lambda: os.path.exists(self.path("pids.txt")), 10, message="pids.txt")
        self.ok("timeout", tid, "0.1")
        self.assertEqual(run.wait(timeout=15), 1)
        self.assertEqual(self.task(tid)["reason"], "timeout")
        with open(self.path("pids.txt")) as f:
            agent, escaped = [int(p) for p in f.read().split()]
        alive = pid_alive(escaped)
        if alive:
            os.kill(escaped, signal.SIGKILL)
        self.assertFalse(alive, "the grandchild that called setsid survived the timeout")

    def test_timeout_command_on_running_task(self):
        tid = self.start("pids=pids.txt sleep=30")
        self.assertIsNone(self.task(tid)["timeout"])
        run = self.popen("run", "--wait")
        self.wait_running(tid)
        wait_until(lambda: os.path.exists(self.path("pids.txt")), 10, message="pids.txt")
        out = self.ok("timeout", tid, "1")
        self.assertIn(tid, out)
        self.assertEqual(run.wait(timeout=15), 1)
        task = self.task(tid)
        self.assertEqual((task["status"], task["reason"], task["timeout"]), ("failed", "timeout", 1.0))
        self.assertTrue(os.path.exists(self.sentinel(tid, "timeout")))
        with open(self.path("pids.txt")) as f:
            self.assertFalse(pid_alive(int(f.read().split()[0])))

    def test_timeout_command_on_finished_task_is_exit_1(self):
        tid = self.start("echo=x")
        self.run_wait()
        r = self.assertFails(1, "timeout", tid, "5")
        self.assertIn("completed", r.stderr)


# -- retries -----------------------------------------------------------------------------------------


class RetryTest(E2ECase):
    def attempt_times(self, task_id):
        """Start time of each attempt, from the log's header lines."""
        stamps = re.findall(r"=== orchestra: " + task_id + r" attempt (\d+), (\S+):", self.log(task_id))
        self.assertEqual([int(n) for n, _ in stamps], list(range(1, len(stamps) + 1)))
        return [ts(s) for _, s in stamps]

    def test_automatic_retries(self):
        # Both in one run, side by side, to keep the backoff waits paid once; base**n with the
        # least base, 1 s a wait (the default's 2 s, 4 s ... is transitions.backoff's test).
        self.ok("config", "set", "retry_backoff_base", "1")
        flaky = self.start("flaky=3", "--max-retries", "2")
        failing = self.start("echo=ran exit=1", "--max-retries", "1")
        self.run_wait("--parallel", "2", expect=1, timeout=30)

        # flaky=3 with two retries: fails twice, completes on the third run.
        task = self.task(flaky)
        self.assertEqual((task["status"], task["attempt"], task["retries"]), ("completed", 3, 2))
        with open(self.path("flaky.count")) as f:
            self.assertEqual(f.read().strip(), "3")
        times = self.attempt_times(flaky)
        self.assertEqual(len(times), 3)
        # A backoff of 1 s after each failure (measured from launch).
        self.assertGreaterEqual(times[1] - times[0], 1.0)
        self.assertGreaterEqual(times[2] - times[1], 1.0)
        self.assertEqual(self.log(flaky).count("flaky: run"), 2)

        # Always failing with one retry: runs exactly twice, then stays failed.
        task = self.task(failing)
        self.assertEqual((task["status"], task["reason"], task["exit_code"]), ("failed", "exit", 1))
        self.assertEqual((task["attempt"], task["retries"]), (2, 1))
        self.assertEqual(re.findall(r"^ran$", self.log(failing), re.M), ["ran", "ran"])
        times = self.attempt_times(failing)
        self.assertEqual(len(times), 2)
        self.assertGreaterEqual(times[1] - times[0], 1.0)

    def test_retry_requeues_a_failed_task(self):
        tid = self.start("flaky=2")
        self.run_wait(expect=1)
        failed = self.task(tid)
        self.assertEqual((failed["status"], failed["attempt"]), ("failed", 1))
        self.assertTrue(os.path.exists(self.sentinel(tid, "exit")))

        out = self.ok("retry", tid)
        self.assertIn(tid, out)
        task = self.task(tid)
        self.assertEqual((task["status"], task["attempt"]), ("pending", 1))
        for field in ("reason", "error", "exit_code", "finished_at"):
            self.assertIsNone(task[field], field)
        for kind in SENTINELS:
            self.assertFalse(os.path.exists(self.sentinel(tid, kind)), kind)
        self.assertFails(1, "retry", tid)  # pending now

        self.run_wait()
        task = self.task(tid)
        self.assertEqual((task["status"], task["attempt"]), ("completed", 2))
        self.assertEqual(len(self.attempt_times(tid)), 2)
        r = self.assertFails(1, "retry", tid)  # completed now
        self.assertIn("completed", r.stderr)
        self.assertEqual(self.task(tid)["status"], "completed")


# -- logs -------------------------------------------------------------------------------------------


class LogsTest(E2ECase):
    def test_logs_prints_agent_output(self):
        tid = self.start("echo=hello-from-agent echo=second-line")
        self.run_wait()
        out = self.ok("logs", tid)
        self.assertRegex(out, r"hello-from-agent\nsecond-line\n")
        self.assertIn(f"=== orchestra: {tid} attempt 1", out)

    def test_logs_follow_streams_until_the_task_ends(self):
        tid = self.start("echo=first sleep=1.5 echo=second")
        self.background_run()
        self.wait_running(tid)
        follow = self.popen("logs", "-f", tid)
        lines = queue.Queue()

        def pump():
            for line in follow.stdout:
                lines.put(line)
            lines.put(None)
        threading.Thread(target=pump, daemon=True).start()

        seen = []
        deadline = time.monotonic() + 10
        while not any("first" in line for line in seen):
            line = lines.get(timeout=max(0.1, deadline - time.monotonic()))
            self.assertIsNotNone(line, f"logs -f ended before printing 'first': {seen}")
            seen.append(line)
        # Streamed: `first` arrived while the agent was still sleeping.
        self.assertEqual(self.task(tid)["status"], "running")
        self.assertEqual(follow.wait(timeout=15), 0)
        while (line := lines.get(timeout=5)) is not None:
            seen.append(line)
        self.assertIn("second\n", seen)
        self.assertEqual(self.task(tid)["status"], "completed")

    def test_logs_of_invalid_or_unknown_id(self):
        r = self.assertFails(2, "logs", "not-an-id")
        self.assertIn("not-an-id", r.stderr)
        self.assertFails(2, "logs", "-f", "task_1")
        self.assertFails(2, "logs", "task_1700000000000_abcdef")


# -- wait ---------------------------------------------------------------------------------------------


class WaitTest(E2ECase):
    def test_wait_exit_codes(self):
        ok, bad = self.start("echo=x"), self.start("exit=2")
        self.run_wait("--parallel", "2", expect=1)
        self.assertEqual(self.ok("wait", ok), "")
        r = self.assertFails(1, "wait", bad)
        self.assertIn(bad, r.stderr)
        self.assertFails(1, "wait", ok, bad)
        r = self.assertFails(2, "wait", "task_1700000000000_abcdef")
        self.assertIn("task_1700000000000_abcdef", r.stderr)

    def test_wait_blocks_until_done_and_times_out_with_124(self):
        quick = self.start("sleep=0.5 done")
        slow = self.start("sleep=30")
        self.background_run("--parallel", "2")
        self.wait_running(slow)
        self.ok("wait", quick)
        self.assertEqual(self.task(quick)["status"], "completed")
        t0 = time.monotonic()
        r = self.assertFails(124, "wait", "--timeout", "0.5", slow)
        self.assertGreaterEqual(time.monotonic() - t0, 0.5)
        self.assertIn(slow, r.stderr)
        self.assertEqual(self.task(slow)["status"], "running")
        self.ok("cancel", slow)


# -- clean --------------------------------------------------------------------------------------------


class CleanTest(E2ECase):
    def test_clean_by_state_and_age_never_touching_active_tasks(self):
        cancelled = self.start("echo=x")
        self.ok("cancel", cancelled)
        completed, failed = self.start("echo=c done"), self.start("echo=f exit=1")
        self.run_wait("--parallel", "2", expect=1)
        for tid in (completed, failed):  # as an agent following the protocol would
            with open(self.path(".orchestra", "plans", f"{tid}_plan.md"), "w") as f:
                f.write("- [x] plan\n")
        self.assertEqual(
            sorted(os.path.basename(p) for p in self.files_of(completed)),
            sorted([f"{completed}.json", f"{completed}.done", f"{completed}.exit",
                    f"{completed}.log", f"{completed}_plan.md"]))

        running = self.start("sleep=30")
        self.background_run("--parallel", "1")
        self.wait_running(running)
        pending = self.start("echo=p")  # the only slot is taken: it stays pending
        active_files = self.files_of(running) + self.files_of(pending)
        before = {t: self.files_of(t) for t in (cancelled, completed, failed)}

        self.assertIn("removed 0", self.ok("clean", "--all", "--older-than", "1h"))
        self.assertEqual({t: self.files_of(t) for t in before}, before)

        self.assertIn("removed 1", self.ok("clean", "--failed"))
        self.assertEqual(self.files_of(failed), [])
        self.assertEqual(self.files_of(completed), before[completed])

        self.assertIn("removed 1", self.ok("clean"))
        self.assertEqual(self.files_of(completed), [])
        self.assertEqual(self.files_of(cancelled), before[cancelled])

        self.assertIn("removed 1", self.ok("clean", "--all"))
        self.assertEqual(self.files_of(cancelled), [])

        self.assertEqual(self.files_of(running) + self.files_of(pending), active_files)
        self.assertEqual(self.task(running)["status"], "running")
        self.assertEqual(self.task(pending)["status"], "pending")
        self.ok("cancel", "--all")


# -- hostile input ------------------------------------------------------------------------------------


class HostileInputTest(E2ECase):
    def test_invalid_ids_are_rejected(self):
        for args, bad in ((("status", "../../etc/passwd"), "../../etc/passwd"),
                          (("logs", "../x"), "../x"), (("cancel", "foo"), "foo"),
                          (("wait", "task_x1"), "task_x1"), (("retry", "../x"), "../x"),
                          (("timeout", "/etc/passwd", "5"), "/etc/passwd"),
                          (("status", "--json", "task_1700000000000_ABCDEF"),
                           "task_1700000000000_ABCDEF")):
            with self.subTest(args=args):
                r = self.assertFails(2, *args)
                self.assertIn(bad, r.stderr)
                self.assertIn("invalid task id", r.stderr)
                self.assertEqual(r.stdout, "")

    def test_prompt_reaches_the_agent_literally(self):
        self.write_config({"fake": FAKE, "argv": ARGV_AGENT})
        prompt = '$(touch pwned) ; rm -rf / "quotes" {taskId} {prompt}\nnewline `touch pwned2` \'x\''
        tid = self.start(prompt, agent="argv")
        self.assertEqual(self.task(tid)["prompt"], prompt)
        self.run_wait()
        with open(self.path("argv.json")) as f:
            self.assertEqual(json.load(f), [prompt])
        self.assertFalse(os.path.exists(self.path("pwned")))
        self.assertFalse(os.path.exists(self.path("pwned2")))

    # A NUL byte cannot reach a program argument: refused at `start`, never wedging the queue.
    def test_nul_byte_in_prompt_does_not_wedge_the_queue(self):
        r = self.run_cli("start", "-q", "fake", "-", input="echo=a\x00b")
        self.assertNotIn("Traceback", r.stderr)
        other = self.start("echo=fine")
        if r.returncode == 0:  # accepted: it must then fail cleanly at launch
            bad = r.stdout.strip()
            self.run_wait(expect=1)
            self.assertEqual(self.task(bad)["status"], "failed")
        else:
            self.assertEqual(r.returncode, 2)
            self.run_wait()
        self.assertEqual(self.task(other)["status"], "completed")

    def test_non_utf8_prompt_gives_no_traceback(self):
        r = self.run_cli("start", "-q", "fake", os.fsdecode(b"echo=caf\xe9"))
        self.assertNotIn("Traceback", r.stderr)
        self.assertIn(r.returncode, (0, 2), r.stderr)


# -- corrupt task files -------------------------------------------------------------------------------


class CorruptTaskFileTest(E2ECase):
    BAD_ID = "task_1700000000000_abcdef"

    def write_bad(self, text):
        os.makedirs(self.path(".orchestra", "tasks"), exist_ok=True)
        with open(self.path(".orchestra", "tasks", self.BAD_ID + ".json"), "w") as f:
            f.write(text)

    def test_garbage_task_file_is_named_and_skipped(self):
        good = self.start("echo=good")
        self.write_bad("{not json at all")
        r = self.run_cli("status")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertClean(r)
        self.assertIn(f"{self.BAD_ID}.json", r.stderr)
        self.assertIn(good[19:23] + " ", r.stdout)  # the one task: the shortest abbreviation
        listed = json.loads(self.ok("status", "--json"))
        self.assertEqual([t["id"] for t in listed], [good])

        another = self.start("echo=another")
        r = self.run_wait()
        self.assertIn(f"{self.BAD_ID}.json", r.stderr)
        self.assertEqual(self.task(good)["status"], "completed")
        self.assertEqual(self.task(another)["status"], "completed")
        with open(self.path(".orchestra", "tasks", self.BAD_ID + ".json")) as f:
            self.assertEqual(f.read(), "{not json at all")  # left alone for a person to look at

    def test_partial_task_file_does_not_crash_status(self):
        good = self.start("echo=good")
        self.write_bad(json.dumps({"id": self.BAD_ID, "status": "pending"}))
        r = self.run_cli("status")
        self.assertNotIn("Traceback", r.stderr)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(good[19:23] + " ", r.stdout)

    # A hand-edited file with a wrong field type is skipped like any unreadable one.
    def test_bad_priority_in_task_file_does_not_block_the_queue(self):
        good = self.start("echo=good")
        self.write_bad(json.dumps({"id": self.BAD_ID, "agent": "fake", "prompt": "echo=bad",
                                   "status": "pending", "priority": "high",
                                   "created_at": "2023-11-14T22:13:20.000Z"}))
        r = self.run_cli("run", "--wait", timeout=30)
        self.assertNotIn("Traceback", r.stderr)
        self.assertEqual(self.task(good)["status"], "completed")


# -- project root discovery --------------------------------------------------------------------------


class RootDiscoveryTest(E2ECase):
    def test_commands_from_a_subdirectory_use_the_project_root(self):
        sub = self.path("src", "deep")
        os.makedirs(sub)
        tid = self.ok("start", "-q", "fake", "echo=from-sub", cwd=sub).strip()
        self.assertEqual(self.task(tid)["status"], "pending")
        self.assertEqual([t["id"] for t in json.loads(self.ok("status", "--json", cwd=sub))], [tid])
        r = self.run_cli("run", "--wait", cwd=sub)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertEqual(self.task(tid)["status"], "completed")
        self.assertIn("from-sub", self.ok("logs", tid, cwd=sub))
        self.assertFalse(os.path.exists(os.path.join(sub, ".orchestra")))
        self.assertFalse(os.path.exists(self.path("src", ".orchestra")))

    def test_root_option_and_environment_override(self):
        here = self.start("echo=here")
        other = self.fresh_dir()
        # --root before or after the command name.
        a = self.ok("--root", other, "start", "-q", "demo", "in other").strip()
        b = self.ok("start", "-q", "demo", "also other", "--root", other).strip()
        self.assertTrue(os.path.exists(os.path.join(other, ".orchestra", "tasks", a + ".json")))
        self.assertTrue(os.path.exists(os.path.join(other, ".orchestra", "tasks", b + ".json")))
        self.assertEqual(self.task_files(), [here + ".json"])

        listed = json.loads(self.ok("status", "--json", env=self.env(ORCHESTRA_ROOT=other)))
        self.assertEqual(sorted(t["id"] for t in listed), sorted([a, b]))
        # --root wins over ORCHESTRA_ROOT.
        listed = json.loads(self.ok("status", "--json", "--root", self.root,
                                    env=self.env(ORCHESTRA_ROOT=other)))
        self.assertEqual([t["id"] for t in listed], [here])
        r = self.assertFails(2, "status", "--root", os.path.join(other, "missing"))
        self.assertIn("missing", r.stderr)


# -- status -------------------------------------------------------------------------------------------


class StatusTest(E2ECase):
    def test_json_table_filter_and_colour(self):
        done, bad = self.start("echo=x"), self.start("exit=1")
        self.run_wait("--parallel", "2", expect=1)
        waiting = self.start("echo=later")

        tasks = json.loads(self.ok("status", "--json"))
        self.assertIsInstance(tasks, list)
        self.assertEqual([t["id"] for t in tasks], [done, bad, waiting])
        self.assertEqual([t["status"] for t in tasks], ["completed", "failed", "pending"])
        only = json.loads(self.ok("status", "--json", bad))
        self.assertEqual([(t["id"], t["status"], t["reason"]) for t in only], [(bad, "failed", "exit")])

        table = self.ok("status")
        from orchestra.ids import abbreviations
        shown = abbreviations([done, bad, waiting])
        for tid, word in ((done, "completed"), (bad, "failed: exit"), (waiting, "pending")):
            line = next((row for row in table.splitlines() if row.startswith(shown[tid] + " ")),
                        None)
            self.assertIsNotNone(line, table)
            self.assertIn(word, line)
        self.assertIn("3 tasks", table)
        filtered = self.ok("status", waiting)
        self.assertIn(shown[waiting], filtered)
        self.assertNotIn(shown[done], filtered)
        self.assertNotIn("\x1b[", table)

        colour = self.env(FORCE_COLOR="1")
        del colour["NO_COLOR"]
        self.assertIn("\x1b[", self.ok("status", env=colour))
        self.assertNotIn("\x1b[", self.ok("status", "--no-color", env=colour))
        self.assertNotIn("\x1b[", self.ok("--no-color", "status", env=colour))
        self.assertNotIn("\x1b[", self.ok("status", env=dict(colour, NO_COLOR="1")))
        self.assertIn(shown[waiting], self.ok("status", "--no-color", env=colour))

    def test_unknown_id_is_usage_error(self):
        r = self.assertFails(2, "status", "task_1700000000000_abcdef")
        self.assertIn("task_1700000000000_abcdef", r.stderr)


# -- init ---------------------------------------------------------------------------------------------


def snapshot(root):
    """path -> file bytes (None for a directory) for everything under root."""
    out = {}
    for base, dirs, files in os.walk(root):
        for d in dirs:
            out[os.path.relpath(os.path.join(base, d), root)] = None
        for name in files:
            with open(os.path.join(base, name), "rb") as f:
                out[os.path.relpath(os.path.join(base, name), root)] = f.read()
    return out


class InitTest(E2ECase):
    def test_init_creates_layout_and_presets_and_is_idempotent(self):
        d = self.fresh_dir()
        self.ok("init", cwd=d)
        for sub in ("tasks", "plans", "logs"):
            self.assertTrue(os.path.isdir(os.path.join(d, ".orchestra", sub)), sub)
        with open(os.path.join(d, ".orchestra-cli", "agent-config.json")) as f:
            agents = json.load(f)["agents"]
        for name in ("demo", "claude", "codex", "gemini", "opencode", "aider"):
            self.assertIn(name, agents)
            self.assertIsInstance(agents[name]["command"], str)
        before = snapshot(d)
        out = self.ok("init", cwd=d)
        self.assertIn("nothing changed", out)
        self.assertEqual(snapshot(d), before)

    def test_init_keeps_an_existing_config(self):
        path = self.path(".orchestra-cli", "agent-config.json")
        with open(path, "rb") as f:
            config = f.read()
        self.ok("init")
        with open(path, "rb") as f:
            self.assertEqual(f.read(), config)
        self.assertTrue(os.path.isdir(self.path(".orchestra", "tasks")))
        self.start("echo=still-works")


# -- the demo agent -----------------------------------------------------------------------------------


class DemoTest(E2ECase):
    def test_demo_in_a_fresh_directory(self):
        d = self.fresh_dir()
        env = self.env(ORCHESTRA_DEMO_STEP="0.05")
        tid = self.ok("start", "-q", "demo", "hello world", cwd=d, env=env).strip()
        r = self.run_cli("run", "--wait", cwd=d, env=env, timeout=30)
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        with open(os.path.join(d, ".orchestra", "tasks", tid + ".json")) as f:
            task = json.load(f)
        self.assertEqual(task["status"], "completed")
        with open(os.path.join(d, "orchestra-demo", "notes.md")) as f:
            self.assertIn("hello world", f.read())
        with open(os.path.join(d, task["plan_file"])) as f:
            self.assertIn("[x] report the outcome", f.read())
        self.assertTrue(os.path.exists(os.path.join(d, ".orchestra", "tasks", tid + ".done")))
        self.assertFalse(os.path.exists(os.path.join(d, ".orchestra-cli")))

        bad = self.ok("start", "-q", "demo", "please fail now", cwd=d, env=env).strip()
        r = self.run_cli("run", "--wait", cwd=d, env=env, timeout=30)
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        with open(os.path.join(d, ".orchestra", "tasks", bad + ".json")) as f:
            task = json.load(f)
        self.assertEqual((task["status"], task["reason"]), ("failed", "error"))
        self.assertIn("asked to fail", task["error"])
        self.assertFalse(os.path.exists(os.path.join(d, ".orchestra", "tasks", bad + ".done")))


if __name__ == "__main__":
    unittest.main()
