import unittest

from orchestra.reconcile import SENTINEL_GRACE, Facts, decide
from orchestra.task import ERROR, EXIT, LOST, TIMEOUT, Status, Task
from orchestra.transitions import launched

NOW = 1_790_000_000.0


def running(**fields):
    t = Task.new("task_1790000000000_abcdef", "coder", "p", NOW - 100)
    t.update(**fields)
    return launched(t, pid=4242, pid_start="tok", now=NOW - 10)


class DecideTest(unittest.TestCase):
    def test_alive_and_quiet_stays_running(self):
        self.assertIsNone(decide(running(), Facts(exited=False), NOW))

    def test_exit_code_decides_when_it_ended(self):
        d = decide(running(), Facts(exited=True, exit_code=3), NOW)
        self.assertEqual((d.status, d.reason, d.outcome.exit_code, d.kill), (Status.FAILED, EXIT, 3, False))

    def test_vanished_without_trace_is_lost(self):
        d = decide(running(), Facts(exited=True), NOW)
        self.assertEqual((d.status, d.reason), (Status.FAILED, LOST))

    def test_vanished_after_writing_done_is_completed(self):
        d = decide(running(), Facts(exited=True, done=True), NOW)
        self.assertEqual(d.status, Status.COMPLETED)

    def test_timeout_is_recorded_as_an_owed_kill_and_judged_once_the_tree_is_gone(self):
        d = decide(running(timeout=5), Facts(exited=False), NOW)
        self.assertEqual((d.outcome, d.kill, d.record), (None, True, "timeout"))
        d = decide(running(timeout=5), Facts(exited=False, timed_out=True), NOW)
        self.assertEqual((d.outcome, d.kill, d.record), (None, True, None))
        d = decide(running(timeout=5), Facts(exited=True, exit_code=-15, timed_out=True), NOW)
        self.assertEqual((d.status, d.reason, d.kill), (Status.FAILED, TIMEOUT, False))

    def test_a_timeout_follows_the_monotonic_elapsed_time_when_known(self):
        # A wall clock stepped an hour ahead does not time out a task that ran 6 seconds.
        self.assertIsNone(decide(running(timeout=1800), Facts(exited=False, elapsed=6), NOW + 3600))
        d = decide(running(timeout=1800), Facts(exited=False, elapsed=1800), NOW)
        self.assertEqual(d.record, "timeout")

    def test_not_yet_timed_out(self):
        self.assertIsNone(decide(running(timeout=60), Facts(exited=False), NOW))

    def test_an_owed_cancel_kills_first_and_is_final_only_once_nothing_lives(self):
        d = decide(running(), Facts(exited=False, cancelled=True), NOW)
        self.assertEqual((d.outcome, d.kill), (None, True))
        # The agent is gone but a process it started (in a session of its own) is not.
        d = decide(running(), Facts(exited=True, exit_code=-15, cancelled=True, tree_alive=True), NOW)
        self.assertEqual((d.outcome, d.kill), (None, True))
        d = decide(running(), Facts(exited=True, exit_code=-15, cancelled=True), NOW)
        self.assertEqual((d.status, d.kill), (Status.CANCELLED, False))

    def test_processes_left_behind_by_a_finished_run_go_before_its_outcome(self):
        d = decide(running(), Facts(exited=True, exit_code=0, done=True, tree_alive=True), NOW)
        self.assertEqual((d.outcome, d.kill), (None, True))

    def test_half_done_timeout_is_finished_without_killing_a_dead_process(self):
        d = decide(running(timeout=5), Facts(exited=True, exit_code=-9, timed_out=True), NOW)
        self.assertEqual((d.status, d.reason, d.kill), (Status.FAILED, TIMEOUT, False))

    def test_agent_that_reports_but_never_exits_is_killed_after_grace(self):
        facts = Facts(exited=False, done=True, sentinel_at=NOW - 1)
        self.assertIsNone(decide(running(), facts, NOW))
        facts = Facts(exited=False, done=True, sentinel_at=NOW - SENTINEL_GRACE)
        d = decide(running(), facts, NOW)
        self.assertEqual((d.outcome, d.kill), (None, True))
        # Once killed, its sentinel decides.
        d = decide(running(), Facts(exited=True, exit_code=-15, done=True), NOW)
        self.assertEqual((d.status, d.kill), (Status.COMPLETED, False))
        d = decide(running(), Facts(exited=True, exit_code=-15, error="stuck"), NOW)
        self.assertEqual((d.status, d.reason, d.kill), (Status.FAILED, ERROR, False))

    def test_exit_mode_does_not_end_on_done(self):
        facts = Facts(exited=False, done=True, sentinel_at=NOW - 1000)
        self.assertIsNone(decide(running(completion="exit"), facts, NOW))

    def test_ended_at_carries_the_true_end(self):
        d = decide(running(), Facts(exited=True, exit_code=0, ended_at=NOW - 7), NOW)
        self.assertEqual(d.ended_at, NOW - 7)


if __name__ == "__main__":
    unittest.main()


class VerdictDecisionTest(unittest.TestCase):
    def verdict(self, **kw):
        from orchestra.verdict import Verdict
        return Verdict(**kw)

    def test_agent_error_beats_exit_0_but_not_the_protocol_files(self):
        task = running(output="claude-json")
        bad = self.verdict(failed=True, message="boom", has_result=True)
        d = decide(task, Facts(exited=True, exit_code=0, verdict=bad), NOW)
        self.assertEqual((d.status, d.reason, d.error), (Status.FAILED, "agent_error", "boom"))
        d = decide(task, Facts(exited=True, exit_code=0, done=True, verdict=bad), NOW)
        self.assertEqual(d.status, Status.COMPLETED)

    def test_an_exit_code_alone_is_told_with_the_agent_s_last_words(self):
        words = "Gemini CLI is not running in a trusted directory."
        d = decide(running(), Facts(exited=True, exit_code=55, last_words=words), NOW)
        self.assertEqual((d.status, d.reason, d.error), (Status.FAILED, EXIT,
                                                          "exited with code 55: " + words))
        d = decide(running(output="gemini-json"), Facts(exited=True, exit_code=0,
                                                        verdict=self.verdict(), last_words="hm"),
                   NOW)
        self.assertEqual((d.reason, d.error),
                         ("no_result", "exited 0 without a final result in its gemini-json "
                          "output: hm"))
        # The agent's own structured word, and the protocol files, are told as they are.
        bad = self.verdict(failed=True, message="boom", has_result=True)
        d = decide(running(output="claude-json"), Facts(exited=True, exit_code=1, verdict=bad,
                                                        last_words="boom boom"), NOW)
        self.assertEqual(d.error, "boom")
        d = decide(running(), Facts(exited=True, exit_code=1, error="it broke",
                                    last_words="x"), NOW)
        self.assertEqual(d.error, "it broke")

    def test_the_last_words_are_read_only_for_a_run_judged_by_its_exit_code(self):
        asked = []

        def words():
            asked.append(1)
            return "out of disk"
        d = decide(running(), Facts(exited=True, exit_code=0, last_words=words), NOW)
        self.assertEqual((d.status, asked), (Status.COMPLETED, []))
        d = decide(running(), Facts(exited=True, exit_code=3, last_words=words), NOW)
        self.assertEqual((d.error, asked), ("exited with code 3: out of disk", [1]))

    def test_no_result_and_limit(self):
        task = running(output="claude-json")
        d = decide(task, Facts(exited=True, exit_code=0, verdict=self.verdict()), NOW)
        self.assertEqual((d.status, d.reason), (Status.FAILED, "no_result"))
        v = self.verdict(limited=True, reset_at=NOW + 60, message="usage limit", has_result=True)
        d = decide(task, Facts(exited=True, exit_code=1, verdict=v), NOW)
        self.assertEqual((d.status, d.reason, d.reset_at), (Status.PENDING, "limit", NOW + 60))
