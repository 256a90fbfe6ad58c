"""Editing the queue: edit, start --delay/--at and --label, the filters of status, wait,
cancel and retry, retry of several tasks, wait --all, logs -n and events IDS --since."""

import json
import os
import shutil
import tempfile
import time
import unittest

from orchestra import filters
from orchestra.clock import iso, parse_at, parse_since
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.task import SCHEDULED, Status, Task, valid_label
from orchestra.transitions import cancelled, edited, finish, Outcome
from tests.helpers import ProjectCase, main_in_process

NOW = 1_800_000_000.0  # 2027-01-15T08:00:00Z, a fixed clock for the pure tests


def _task(n, status="pending", agent="fake", labels=()):
    t = Task.new(f"task_{1790000000000 + n}_abcdef", agent, f"prompt {n}", NOW, labels=labels)
    t.update(status=status)
    return t


class TimeParsingTest(unittest.TestCase):
    def test_a_time_of_day_is_its_next_occurrence_for_at_and_its_last_for_since(self):
        day = time.localtime(NOW)
        later = f"{(day.tm_hour + 1) % 24:02d}:{day.tm_min:02d}"
        at = parse_at(later, NOW)
        self.assertTrue(0 < at - NOW <= 3600 + 1, at - NOW)
        earlier = f"{(day.tm_hour - 1) % 24:02d}:{day.tm_min:02d}"
        self.assertTrue(23 * 3600 - 60 <= parse_at(earlier, NOW) - NOW <= 23 * 3600 + 60)
        self.assertTrue(-3600 - 60 <= parse_since(earlier, NOW) - NOW <= -3600 + 60)
        self.assertTrue(-23 * 3600 - 60 <= parse_since(later, NOW) - NOW < 0)

    def test_dates_durations_and_what_is_refused(self):
        self.assertEqual(parse_at("2027-01-15T08:00:00Z", NOW), NOW)
        self.assertEqual(parse_at("2027-01-16 03:00", NOW),
                         time.mktime((2027, 1, 16, 3, 0, 0, 0, 0, -1)))
        self.assertEqual(parse_since("30m", NOW), NOW - 1800)
        for bad in ("25:00", "3pm", "2027-13-01 03:00", "tomorrow", ""):
            with self.assertRaises(ValueError, msg=bad):
                parse_at(bad, NOW)
        with self.assertRaises(ValueError):
            parse_since("soon", NOW)


class FilterTest(unittest.TestCase):
    def test_each_option_narrows_and_values_of_one_option_widen(self):
        tasks = [_task(1, "failed", "claude", ["docs"]), _task(2, "failed", "codex"),
                 _task(3, "running", "claude", ["docs", "ci"]), _task(4, "pending")]
        ids = lambda f: [t.id[-16:-7] for t in f.select(tasks)]  # noqa: E731
        self.assertEqual(len(filters.Filter().select(tasks)), 4)
        self.assertFalse(filters.Filter())
        self.assertEqual(ids(filters.Filter(["failed"], ["claude"])), ["000000001"])
        self.assertEqual(ids(filters.Filter(["failed", "running"], labels=["docs"])),
                         ["000000001", "000000003"])
        self.assertEqual(ids(filters.Filter(labels=["ci", "nope"])), ["000000003"])
        self.assertEqual(filters.Filter(["failed"], ["claude"], ["docs"]).describe(),
                         "failed tasks of claude labelled docs")

    def test_parsing_statuses_and_labels(self):
        self.assertEqual(filters.statuses("Failed, cancelled"), ["failed", "cancelled"])
        with self.assertRaisesRegex(ValueError, "unknown status 'done'.*pending"):
            filters.statuses("done")
        self.assertEqual(filters.labels("docs,v1.2_x"), ["docs", "v1.2_x"])
        for bad in ("", "-x", "a b", "é", "x" * 33, "a;b"):
            self.assertFalse(valid_label(bad), bad)


class EditedTransitionTest(unittest.TestCase):
    def test_a_task_parked_on_a_limit_stays_parked_at_the_new_time(self):
        # its next run resumes the session only as a run after a limit
        t = _task(1)
        t.update(not_before=iso(NOW + 300), reason="limit", error="usage limit")
        for at in (NOW + 60, None):
            after = edited(t, not_before=at)
            self.assertEqual((after.reason, after.error), ("limit", "usage limit"))
            self.assertEqual(after.ready_at(), NOW + 60 if at else 0.0)  # 0: ready now

    def test_edited_sets_the_fields_and_a_start_time_replaces_what_held_the_task(self):
        t = _task(1)
        t.update(not_before=iso(NOW + 5), reason="exit", error="exited with code 1")
        after = edited(t, prompt="new", priority=3, timeout=None, depends_on=("task_1790000000009_abcdef",),
                       not_before=NOW + 60)
        self.assertEqual((after.prompt, after.priority, after.depends_on, after.reason, after.error),
                         ("new", 3, ["task_1790000000009_abcdef"], SCHEDULED, None))
        self.assertEqual(after.ready_at(), NOW + 60)
        self.assertEqual(t.prompt, "prompt 1")  # pure: the task given is unchanged
        now = edited(after, not_before=None)
        self.assertEqual((now.not_before, now.reason), (None, None))
        with self.assertRaises(TypeError):
            edited(t, status="running")

    def test_a_scheduled_task_keeps_to_the_wall_clock_and_a_run_clears_it(self):
        from orchestra import scheduler
        from orchestra.runclock import RunClock
        t = Task.new("task_1790000000001_abcdef", "fake", "p", NOW, not_before=NOW + 60)
        self.assertEqual(t.reason, SCHEDULED)
        self.assertEqual(scheduler.pick([t], 1, NOW + 59), [])
        self.assertEqual(scheduler.pick([t], 1, NOW + 60), [t])
        self.assertEqual(scheduler.next_wakeup([t], NOW), NOW + 60)
        clock = RunClock(wall=lambda: NOW, mono=lambda: 0.0)
        self.assertEqual(clock.ready_at(t), NOW + 60)
        failed = finish(t, outcome=Outcome(Status.FAILED, "exit", "x", 1), now=NOW + 70)
        self.assertEqual(failed.reason, "exit")


def _with_bytes(root, *argv):
    """main_in_process with a stdout that takes bytes too, as `logs` writes them."""
    import contextlib
    import io
    from orchestra import cli
    raw, err = io.BytesIO(), io.StringIO()
    out = io.TextIOWrapper(raw, encoding="utf-8")
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["--root", root, *argv])
    out.flush()
    return code, raw.getvalue().decode(), err.getvalue()


class CommandsTest(unittest.TestCase):
    """In-process: the options, messages and exit codes."""

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, self.root, True)
        os.makedirs(os.path.join(self.root, ".orchestra-cli"))
        with open(os.path.join(self.root, ".orchestra-cli", "agent-config.json"), "w") as f:
            json.dump({"agents": {"fake": {"command": "true", "promptTemplate": "{prompt}"},
                                  "other": {"command": "true", "promptTemplate": "{prompt}"}}}, f)
        self.store = Store(Layout(self.root))

    def cli(self, *argv, code=0, env=None):
        saved = dict(os.environ)
        os.environ.update(env or {})
        try:
            got, out, err = (_with_bytes if argv[0] == "logs" else main_in_process)(
                self.root, *argv)
        finally:
            os.environ.clear()
            os.environ.update(saved)
        self.assertEqual(got, code, out + err)
        return out + err

    def start(self, *argv):
        return self.cli("start", "-q", "--no-worktree", *argv).strip()

    def test_start_delay_at_and_labels(self):
        a = self.start("fake", "p", "--delay", "1h", "--label", "docs,ci", "--label", "docs")
        t = self.store.get(a)
        self.assertEqual((t.reason, t.labels), (SCHEDULED, ["docs", "ci"]))
        self.assertAlmostEqual(t.ready_at(), time.time() + 3600, delta=5)
        b = self.start("fake", "p", "--at", "2099-01-02 03:04")
        self.assertEqual(self.store.get(b).ready_at(), time.mktime((2099, 1, 2, 3, 4, 0, 0, 0, -1)))
        out = self.cli("--no-color", "status")
        self.assertIn("at 2099-01-02 03:04", out)
        self.assertIn("[docs,ci] p", out)
        self.assertIn("--at: not a time: '25:61'", self.cli("start", "fake", "p", "--at", "25:61", code=2))
        self.assertIn("invalid label 'a b'", self.cli("start", "fake", "p", "--label", "a b", code=2))
        self.assertIn("not allowed with", self.cli("start", "fake", "p", "--at", "03:00",
                                                   "--delay", "1h", code=2))
        self.assertIn("docs, ci", self.cli("show", a))
        self.assertEqual(json.loads(self.cli("status", "--json", a))[0]["labels"], ["docs", "ci"])
        with open(self.store.layout.events) as f:
            self.assertEqual(json.loads(f.readline())["labels"], ["docs", "ci"])

    def test_edit_options_events_and_refusals(self):
        a, b = self.start("fake", "first"), self.start("fake", "second")
        out = self.cli("edit", a, "--prompt", "changed", "--priority", "4", "--timeout", "10m",
                       "--depends-on", b)
        self.assertIn("priority 4", out)
        t = self.store.get(a)
        self.assertEqual((t.prompt, t.priority, t.timeout, t.depends_on), ("changed", 4, 600, [b]))
        self.assertIn("which waits for it", self.cli("edit", b, "--depends-on", a, code=2))
        self.assertIn("itself", self.cli("edit", a, "--depends-on", a, code=2))
        self.assertIn("no task", self.cli("edit", a, "--depends-on", "task_1790000000000_000000",
                                          code=2))
        self.cli("edit", a, "--no-depends", "--at", "2099-01-01 00:00", "--timeout", "0")
        t = self.store.get(a)
        self.assertEqual((t.depends_on, t.timeout, t.reason), ([], None, SCHEDULED))
        self.cli("edit", a, "--delay", "0")
        self.assertIsNone(self.store.get(a).not_before)
        with open(self.store.layout.events) as f:
            edits = [e for e in map(json.loads, f) if e.get("event") == "edited"]
        self.assertEqual(edits[0]["changed"], ["prompt", "priority", "timeout", "depends_on"])
        self.assertEqual(len(edits), 3)
        self.assertIn("edited (not_before)", self.cli("--no-color", "events", a))
        # Not pending: exit 2, saying what to do instead.
        now = time.time()
        self.store.transition(b, lambda t: cancelled(t, now=now), expect=(Status.PENDING,))
        self.assertIn("only pending tasks can be edited; `orchestra retry",
                      self.cli("edit", b, "--priority", "1", code=2))

    def test_edit_in_the_editor(self):
        a = self.start("fake", "old words")
        self.assertIn("edited", self.cli("edit", a, env={"VISUAL": "sed -i s/old/new/"}))
        self.assertEqual(self.store.get(a).prompt, "new words")
        self.assertIn("unchanged", self.cli("edit", a, env={"VISUAL": "truncate -s 0"}))
        self.assertEqual(self.store.get(a).prompt, "new words")
        self.assertIn("$EDITOR", self.cli("edit", a, env={"VISUAL": "", "EDITOR": ""}, code=2))

    def test_filters_on_status_cancel_retry_and_wait(self):
        a = self.start("fake", "p", "--label", "docs")
        b = self.start("other", "p")
        c = self.start("fake", "p")
        out = self.cli("status", "--json", "--agent", "fake", "--label", "docs")
        self.assertEqual([t["id"] for t in json.loads(out)], [a])
        self.assertIn("no failed tasks", self.cli("status", "--status", "failed"))
        self.assertIn("nothing to wait for", self.cli("wait", "--label", "nope"))
        self.assertIn("not both", self.cli("cancel", a, "--agent", "fake", code=2))
        self.assertIn("--failed or filters", self.cli("retry", code=2))
        self.cli("cancel", "--agent", "fake")
        self.assertEqual([self.store.get(i).status for i in (a, b, c)],
                         ["cancelled", "pending", "cancelled"])
        self.assertIn("nothing to retry: no failed tasks", self.cli("retry", "--failed"))
        self.cli("retry", "--status", "cancelled", "--label", "docs")
        self.assertEqual([self.store.get(i).status for i in (a, c)], ["pending", "cancelled"])
        self.cli("cancel", a)
        out = self.cli("retry", a, c, b, code=1)  # b is pending: said, and the others go on
        self.assertIn(f"{b} is pending", out)
        self.assertEqual([self.store.get(i).status for i in (a, b, c)], ["pending"] * 3)
        self.cli("cancel", "--all")
        self.assertEqual(self.cli("wait", "--all"), "nothing to wait for: no pending or running tasks\n")
        self.assertIn(f"{a} cancelled", self.cli("wait", "--status", "cancelled", code=1))

    def test_logs_last_lines_and_events_since(self):
        a = self.start("fake", "p")
        os.makedirs(self.store.layout.logs, exist_ok=True)
        with open(self.store.layout.log_file(a), "w") as f:
            f.write("one\ntwo\nthree\n")
        self.assertEqual(self.cli("logs", a, "-n", "2"), "two\nthree\n")
        self.assertEqual(self.cli("logs", a, "-n", "0"), "")
        with open(self.store.layout.events, "a") as f:
            f.write(json.dumps({"time": iso(time.time() - 7200), "task": a, "agent": "fake",
                                "from": None, "to": "pending"}) + "\n")
        self.assertEqual(len(self.cli("events", "--json").splitlines()), 2)
        self.assertEqual(len(self.cli("events", "--json", "--since", "1h").splitlines()), 1)
        self.assertEqual(self.cli("events", "task_1790000000000_000000"), "")
        self.assertIn("--since: not a duration", self.cli("events", "--since", "x", code=2))


class DelayEndToEndTest(ProjectCase):
    def test_a_delayed_task_starts_after_its_time_and_not_before(self):
        from orchestra.clock import parse_iso
        task_id = self.start("done", "--delay", "1s")
        r = self.run_cli("run", "--wait", timeout=30)  # drains: it must wake for the task
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        t = self.task(task_id)
        self.assertEqual(t["status"], "completed")
        self.assertGreaterEqual(parse_iso(t["started_at"]), parse_iso(t["created_at"]) + 0.9)
        self.assertLess(parse_iso(t["started_at"]), parse_iso(t["created_at"]) + 3.0)


if __name__ == "__main__":
    unittest.main()
