"""Limits an agent CLI sleeps on: the live verdict says so, the supervisor's decision ends the
run past `limit_grace` (or when it times out waiting) and parks the task; a run ended by a
timeout, a cancel or a limit keeps what its output said; `run --wait` says when it resumes.
Pure, and `cancel` in-process."""

import os
import sys
import tempfile
import time
import unittest

from orchestra import table, verdict
from orchestra.reconcile import Facts, decide
from orchestra.settle import ended
from orchestra.task import LIMIT, TIMEOUT, Status, Task
from orchestra.transitions import launched

NOW = 1_790_000_000.0
LINE = "Error: 429 Too Many Requests (rate limit exceeded); please retry in {}s\n"


def running(**fields):
    t = Task.new("task_1790000000000_abcdef", "coder", "p", NOW - 100)
    t.update(**fields)
    return launched(t, pid=4242, pid_start="tok", now=NOW - 10)


def parser(fmt="text"):
    return verdict.StreamParser(fmt, lambda: NOW)


class WaitingTest(unittest.TestCase):
    def test_a_limit_among_the_last_lines_is_waited_on_until_more_output_comes(self):
        p = parser()
        p.feed("working\n")
        self.assertIsNone(p.waiting())
        p.feed(LINE.format(3600))
        self.assertEqual(p.waiting(), (LINE.format(3600).strip(), NOW + 3600, 0.0))
        p.feed("".join(f"step {i}\n" for i in range(verdict.TEXT_TAIL)))
        self.assertIsNone(p.waiting(), "the agent went on: it no longer waits")

    def test_codex_reconnecting_is_waited_on_until_its_turn_completes(self):
        p = parser("codex-jsonl")
        p.feed('{"type":"thread.started","thread_id":"t1"}\n'
               '{"type":"error","message":"Reconnecting... 1/5 (exceeded retry limit, last '
               'status: 429 Too Many Requests)"}\n')
        text, reset, _ = p.waiting()
        self.assertIn("Reconnecting", text)
        self.assertIsNone(reset)
        p.feed('{"type":"turn.completed","usage":{"input_tokens":1,"output_tokens":1}}\n')
        self.assertIsNone(p.waiting())

    def test_gemini_retry_on_stderr_with_json_output(self):
        p = parser("gemini-json")
        p.feed("Attempt 2 failed with status 429. Please retry in 15s.\n")
        self.assertEqual(p.waiting()[1], NOW + 15)


    def test_hints_that_keep_coming_add_up_and_a_long_gap_starts_afresh(self):
        clock = [0.0]
        p = verdict.StreamParser("gemini-json", lambda: NOW, monotonic=lambda: clock[0])
        for n in range(5):
            clock[0] = 15.0 * n
            p.feed(f"Attempt {n + 1} failed: You exceeded your current quota, please check "
                   "your plan and billing details. Please retry in 15s.\n"
                   "Suggested retry after 15s.. Retrying after 15000ms...\n")
        self.assertEqual(p.waiting()[1:], (NOW + 15, 60.0))
        clock[0] += verdict.LIMIT_GAP + 1  # a limit met again long after: a fresh start
        p.feed("Attempt 1 failed with status 429. Please retry in 15s.\n")
        self.assertEqual(p.waiting()[2], 0.0)


class DecideTest(unittest.TestCase):
    def live(self, reset, **kw):
        return Facts(exited=False, limit="rate limit exceeded", reset_at=reset, **kw)

    def test_a_reset_past_the_grace_ends_the_run_with_a_limit_mark(self):
        d = decide(running(), self.live(NOW + 3600), NOW)
        self.assertEqual((d.outcome, d.kill, d.record, d.reset_at), (None, True, "limit", NOW + 3600))
        d = decide(running(), self.live(NOW + 120), NOW, limit_grace=300)
        self.assertIsNone(d, "within the grace: the CLI waits it out")

    def test_a_short_or_unknown_reset_is_left_to_the_cli(self):
        self.assertIsNone(decide(running(), self.live(NOW + 15), NOW))
        self.assertIsNone(decide(running(), self.live(None), NOW))

    def test_short_waits_said_again_and_again_past_the_grace_park(self):
        self.assertIsNone(decide(running(), self.live(NOW + 15, limit_for=59), NOW))
        for reset in (NOW + 15, None):
            d = decide(running(), self.live(reset, limit_for=60), NOW)
            self.assertEqual((d.kill, d.record, d.reset_at), (True, "limit", reset))

    def test_a_timeout_while_waiting_on_a_limit_parks(self):
        d = decide(running(timeout=30), self.live(NOW + 15, elapsed=31), NOW)
        self.assertEqual((d.kill, d.record), (True, "limit"))
        d = decide(running(timeout=30), Facts(exited=False, elapsed=31), NOW)
        self.assertEqual(d.record, "timeout")

    def test_a_reported_run_is_not_ended_for_a_limit(self):
        self.assertIsNone(decide(running(), self.live(NOW + 3600, done=True, sentinel_at=NOW), NOW))

    def test_a_limit_mark_kills_then_parks_with_the_exit_code_and_the_reset(self):
        task = running(output="text")
        self.assertTrue(decide(task, Facts(exited=False, limited=True), NOW).kill)
        v = verdict.Verdict(limited=True, message="rate limit exceeded", reset_at=NOW + 3600,
                            session_id="s1", tokens_in=5)
        d = decide(task, Facts(exited=True, exit_code=-15, limited=True, verdict=v), NOW)
        self.assertEqual((d.status, d.reason, d.error, d.outcome.exit_code, d.reset_at),
                         (Status.PENDING, LIMIT, "rate limit exceeded", -15, NOW + 3600))
        after = ended(task, d, NOW)
        self.assertEqual((after.status, after.reason, after.exit_code, after.retries,
                          after.ready_at(), after.session_id, after.tokens_in),
                         ("pending", LIMIT, -15, 0, NOW + 3600, "s1", 5))
        # The output no longer says it (a log read after a restart): the mark's reset stands.
        d = decide(task, Facts(exited=True, exit_code=-15, limited=True, reset_at=NOW + 600,
                               verdict=verdict.Verdict()), NOW)
        self.assertEqual((d.status, d.reset_at), (Status.PENDING, NOW + 600))

    def test_a_timeout_and_a_cancel_keep_what_the_output_said(self):
        v = verdict.Verdict(session_id="s1", tokens_in=100, tokens_out=7, cost_usd=0.5)
        for mark, status in (("timed_out", "failed"), ("cancelled", "cancelled")):
            task = running(timeout=5, output="codex-jsonl")
            d = decide(task, Facts(exited=True, exit_code=-15, verdict=v, **{mark: True}), NOW)
            after = ended(task, d, NOW)
            self.assertEqual((after.status, after.session_id, after.tokens_in, after.tokens_out,
                              after.cost_usd), (status, "s1", 100, 7, 0.5))
        self.assertEqual(ended(running(timeout=5), decide(
            running(timeout=5), Facts(exited=True, timed_out=True, verdict=v), NOW), NOW).reason,
            TIMEOUT)


class UnfollowedTimeoutTest(unittest.TestCase):
    def test_a_run_no_follower_parses_that_times_out_on_a_limit_is_parked(self):
        from orchestra.paths import Layout
        from orchestra.settle import timed_out_on_limit
        root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(__import__("shutil").rmtree, root, True)
        layout = Layout(root)
        os.makedirs(layout.logs)
        task = running(timeout=30, output="text")
        facts = Facts(exited=False, elapsed=31)
        decision = decide(task, facts, NOW)
        self.assertIs(timed_out_on_limit(layout, task, facts, decision, NOW), decision)
        with open(layout.log_file(task.id), "w") as f:
            f.write("working\n" + LINE.format(15))
        d = timed_out_on_limit(layout, task, facts, decision, NOW)
        self.assertEqual((d.kill, d.record), (True, "limit"))


class ProgressTest(unittest.TestCase):
    def parked(self, reset):
        t = running()
        t.update(status="pending", reason=LIMIT, error="rate limit exceeded", not_before=None)
        from orchestra.clock import iso
        t.update(not_before=iso(reset))
        return t

    def test_a_parked_task_says_when_it_resumes_in_local_time(self):
        now = time.mktime((2026, 12, 2, 12, 0, 0, 0, 0, -1))
        style = table.Style(color=False, unicode=False)
        line = table.progress(None, self.parked(time.mktime((2026, 12, 2, 16, 0, 0, 0, 0, -1))),
                              now, style)
        self.assertIn("coder: usage limit, resumes at 16:00 (rate limit exceeded)", line)
        self.assertNotIn("retry", line)
        line = table.progress(None, self.parked(time.mktime((2026, 12, 3, 9, 5, 0, 0, 0, -1))),
                              now, style)
        self.assertIn("usage limit, resumes at 2026-12-03 09:05", line)


class CancelKeepsUsageTest(unittest.TestCase):
    def test_a_cancelled_run_keeps_its_session_and_tokens(self):
        import subprocess
        from orchestra.paths import Layout
        from orchestra.store import Store
        from tests.helpers import main_in_process
        root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(__import__("shutil").rmtree, root, True)
        layout = Layout(root)
        store = Store(layout)
        task = Task.new("task_1790000000000_abcdef", "coder", "p", time.time())
        task.update(output="codex-jsonl")
        store.create(task)
        os.makedirs(layout.logs, exist_ok=True)
        with open(layout.log_file(task.id), "w") as f:
            f.write('{"type":"thread.started","thread_id":"th-9"}\n'
                    '{"type":"turn.completed","usage":{"input_tokens":40,"output_tokens":2}}\n')
        gone = subprocess.Popen([sys.executable, "-c", ""])
        gone.wait()  # a run whose processes are already gone: the cancel only records it
        started = launched(task, pid=gone.pid, pid_start="gone", now=time.time())
        store.transition(task.id, lambda t: started, expect=(Status.PENDING,))
        code, out, err = main_in_process(root, "cancel", task.id)
        self.assertEqual(code, 0, out + err)
        t = store.get(task.id)
        self.assertEqual((t.status, t.session_id, t.tokens_in, t.tokens_out),
                         ("cancelled", "th-9", 40, 2))


if __name__ == "__main__":
    unittest.main()
