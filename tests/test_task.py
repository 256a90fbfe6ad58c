import unittest

from orchestra.clock import iso
from orchestra.task import EXIT, ERROR, LAUNCH, LOST, Status, Task, new_id, valid_id
from orchestra.transitions import Outcome, backoff, cancelled, finish, launched, outcome, requeued

NOW = 1_790_000_000.0


def make(**fields):
    t = Task.new("task_1790000000000_abcdef", "coder", "do it", NOW)
    t.update(**fields)
    return t


class IdTest(unittest.TestCase):
    def test_new_ids_match_the_pattern_and_differ(self):
        ids = {new_id(NOW) for _ in range(200)}
        self.assertEqual(len(ids), 200)
        self.assertTrue(all(valid_id(i) for i in ids))

    def test_hostile_ids_are_invalid(self):
        for bad in ("../../etc/passwd", "task_1", "task_1790000000000_abcdef/../x",
                    "task_1790000000000_ABCDEF", "", "task_1790000000000_abcdef\n"):
            self.assertFalse(valid_id(bad), bad)


class ModelTest(unittest.TestCase):
    def test_round_trip_keeps_unknown_fields(self):
        data = make().to_dict()
        data["from_the_future"] = {"x": 1}
        self.assertEqual(Task.from_dict(data).to_dict(), data)

    def test_old_file_missing_fields_gets_defaults(self):
        t = Task.from_dict({"id": "task_1790000000000_abcdef", "agent": "a", "prompt": "p",
                            "status": "pending"})
        self.assertEqual((t.attempt, t.max_retries, t.completion), (0, 0, "either"))

    def test_rejects_unknown_status_and_bad_id(self):
        with self.assertRaises(ValueError):
            Task.from_dict(dict(make().to_dict(), status="sleeping"))
        with self.assertRaises(ValueError):
            Task.from_dict(dict(make().to_dict(), id="../x"))

    def test_order_is_priority_then_age(self):
        a = make(priority=0, created_at=iso(NOW))
        b = make(priority=5, created_at=iso(NOW + 10))
        c = make(priority=0, created_at=iso(NOW + 1))
        self.assertEqual(sorted([c, a, b], key=Task.order_key), [b, a, c])

    def test_deadline(self):
        self.assertIsNone(make(started_at=iso(NOW)).deadline())
        self.assertEqual(make(started_at=iso(NOW), timeout=30).deadline(), NOW + 30)


def judged(*facts):
    o = outcome(*facts)
    return (o.status, o.reason, o.error)


class OutcomeTest(unittest.TestCase):
    def test_error_sentinel_wins_over_exit_zero(self):
        self.assertEqual(outcome("either", 0, True, "boom"), Outcome(Status.FAILED, ERROR, "boom", 0))

    def test_done_wins_over_nonzero_exit(self):
        self.assertEqual(judged("either", 3, True, None)[0], Status.COMPLETED)

    def test_exit_code_decides_without_sentinel(self):
        self.assertEqual(judged("either", 0, False, None)[0], Status.COMPLETED)
        self.assertEqual(judged("either", 2, False, None)[:2], (Status.FAILED, EXIT))

    def test_sentinel_mode_needs_done(self):
        self.assertEqual(judged("sentinel", 0, False, None)[:2], (Status.FAILED, EXIT))
        self.assertEqual(judged("sentinel", 1, True, None)[0], Status.COMPLETED)

    def test_exit_mode_ignores_done_but_not_error(self):
        self.assertEqual(judged("exit", 3, True, None)[:2], (Status.FAILED, EXIT))
        self.assertEqual(judged("exit", 0, False, "x")[:2], (Status.FAILED, ERROR))

    def test_no_exit_status_and_no_sentinel_is_lost(self):
        self.assertEqual(judged("either", None, False, None)[:2], (Status.FAILED, LOST))
        self.assertEqual(judged("either", None, True, None)[0], Status.COMPLETED)


class FinishTest(unittest.TestCase):
    def running(self, **fields):
        return launched(make(**fields), pid=123, pid_start="tok", now=NOW)

    def test_success_is_final(self):
        t = finish(self.running(max_retries=3), outcome=Outcome(Status.COMPLETED, exit_code=0), now=NOW + 5)
        self.assertEqual((t.state, t.finished_at, t.exit_code), (Status.COMPLETED, iso(NOW + 5), 0))

    def test_failure_with_retries_left_goes_back_to_pending_once(self):
        t = finish(self.running(max_retries=2), outcome=Outcome(Status.FAILED, EXIT, "exited 1", 1), now=NOW)
        self.assertEqual((t.state, t.retries, t.attempt), (Status.PENDING, 1, 1))
        self.assertEqual(t.ready_at(), NOW + backoff(1))
        t = finish(launched(t, pid=124, pid_start="tok", now=NOW + 3),
                   outcome=Outcome(Status.FAILED, EXIT, "exited 1", 1), now=NOW + 4)
        self.assertEqual((t.state, t.retries, t.attempt), (Status.PENDING, 2, 2))
        self.assertEqual(t.ready_at(), NOW + 4 + backoff(2))
        t = finish(launched(t, pid=125, pid_start="tok", now=NOW + 9),
                   outcome=Outcome(Status.FAILED, EXIT, "exited 1", 1), now=NOW + 10)
        self.assertEqual((t.state, t.reason, t.attempt), (Status.FAILED, EXIT, 3))

    def test_launch_failures_and_cancels_are_not_retried(self):
        t = finish(self.running(max_retries=2), outcome=Outcome(Status.FAILED, LAUNCH, "no such command"),
                   now=NOW)
        self.assertEqual(t.state, Status.FAILED)
        t = cancelled(self.running(max_retries=2), now=NOW)
        self.assertEqual(t.state, Status.CANCELLED)

    def test_backoff_doubles_and_is_capped(self):
        self.assertEqual([backoff(a) for a in (1, 2, 3)], [2, 4, 8])
        self.assertEqual(backoff(30), 300)
        # Past a float's range (many retries, or a huge base setting) it is the cap, not an error.
        self.assertEqual(backoff(2000), 300)
        self.assertEqual(backoff(2, 1e300, 300), 300)

    def test_requeue_gives_a_fresh_retry_budget(self):
        failed = finish(self.running(max_retries=0), outcome=Outcome(Status.FAILED, EXIT, "x", 1), now=NOW)
        failed.update(retries=2)
        t = requeued(failed)
        self.assertEqual((t.state, t.retries, t.reason, t.error, t.attempt),
                         (Status.PENDING, 0, None, None, 1))


if __name__ == "__main__":
    unittest.main()


class ValidationTest(unittest.TestCase):
    def test_wrong_field_types_are_named(self):
        base = make().to_dict()
        for field, value in (("priority", "high"), ("agent", None), ("attempt", 1.5),
                             ("timeout", "soon"), ("finished_at", "yesterday"),
                             ("completion", "maybe"), ("retries", True)):
            with self.assertRaises(ValueError, msg=field) as e:
                Task.from_dict(dict(base, **{field: value}))
            self.assertIn(field, str(e.exception))


class IdPatternTest(unittest.TestCase):
    def test_hand_check_agrees_with_the_documented_pattern(self):
        import re
        from orchestra.task import ID_PATTERN
        samples = ["task_1790000000000_abcdef", "task_1790000000000_abcde", "task_179000000000a_abcdef",
                   "task_1790000000000-abcdef", "Task_1790000000000_abcdef", "task_1790000000000_abcdeg",
                   "task_\u0661790000000000_abcdef"[:25], "task_1790000000000_abcdef0"]
        for s in samples:
            self.assertEqual(valid_id(s), bool(re.fullmatch(ID_PATTERN, s, re.ASCII)), s)


class LimitAndUsageTest(unittest.TestCase):
    def test_limit_parks_without_using_a_retry(self):
        from orchestra.transitions import limited
        t = limited(launched(make(max_retries=1), pid=1, pid_start="t", now=NOW), message="limit",
                    reset_at=NOW + 600, now=NOW)
        self.assertEqual((t.state, t.reason, t.retries, t.limits, t.ready_at()),
                         (Status.PENDING, "limit", 0, 1, NOW + 600))
        guessed = limited(t, message="limit", reset_at=None, now=NOW)
        self.assertEqual((guessed.limits, guessed.ready_at()), (2, NOW + 600))

    def test_a_reset_just_past_is_retried_soon_one_long_past_is_guessed(self):
        from orchestra.transitions import limited
        t = launched(make(), pid=1, pid_start="t", now=NOW)
        self.assertEqual(limited(t, message="limit", reset_at=NOW - 90, now=NOW).ready_at(),
                         NOW + 30)
        self.assertEqual(limited(t, message="limit", reset_at=NOW - 3600, now=NOW).ready_at(),
                         NOW + 300)

    def test_usage_adds_up_over_attempts(self):
        from orchestra.transitions import with_usage
        from orchestra.verdict import Verdict
        t = with_usage(make(), verdict=Verdict(session_id="s", tokens_in=10, tokens_out=2,
                                                   cost_usd=0.5))
        t = with_usage(t, verdict=Verdict(tokens_in=5, cost_usd=0.25))
        self.assertEqual((t.session_id, t.tokens_in, t.tokens_out, t.cost_usd), ("s", 15, 2, 0.75))
