"""What a running task is doing (plan progress, latest activity) and `run --wait`'s live lines."""

import io
import json
import os
import shutil
import tempfile
import unittest

from orchestra import activity
from orchestra.clock import iso
from orchestra.liveline import LiveLines
from orchestra.paths import Layout
from orchestra.table import Style
from orchestra.task import Task

NOW = 1_790_000_000.0


class PlanProgressTest(unittest.TestCase):

    def test_counts_ticked_items_of_every_list_style(self):
        text = ("# Plan\n- [x] read the code\n* [X] write the test\n+ [ ] fix it\n"
                "1. [x] numbered\n  - [ ] nested\nnot an item [x]\n- plain item\n")
        self.assertEqual(activity.plan_progress(text), (3, 5))

    def test_a_plan_without_a_checklist_has_no_progress(self):
        self.assertIsNone(activity.plan_progress("1. read\n2. fix\n"))
        self.assertEqual(activity.progress_text(None), "")
        self.assertEqual(activity.progress_text((3, 7)), "3/7")

    def test_read_plan_reads_a_bounded_head_and_survives_absence(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "plan.md")
            self.assertIsNone(activity.read_plan(path))
            with open(path, "w") as f:
                f.write("- [x] a\n" * 3 + "x" * activity.PLAN_MAX + "\n- [ ] beyond the head\n")
            self.assertEqual(activity.read_plan(path), (3, 3))


class LatestTest(unittest.TestCase):

    def test_text_takes_the_last_line_with_words_of_the_last_attempt(self):
        tail = ("=== orchestra: attempt 1\nold line\n=== orchestra: attempt 2\n"
                "\x1b[32mrunning the tests\x1b[0m\n[=====>    ] 50%\r[=========>] 100%\n\n")
        self.assertEqual(activity.latest(None, tail), "running the tests")
        self.assertIsNone(activity.latest(None, "=== orchestra: attempt 1\n\n"))

    def test_streamed_json_is_rendered_and_a_line_being_written_is_left_out(self):
        tool = {"type": "assistant", "message": {"content": [
            {"type": "tool_use", "name": "Bash", "input": {"command": "pytest -q"}}]}}
        tail = json.dumps(tool) + "\n" + '{"type": "assistant", "message": {"cont'
        said = activity.latest("claude-stream-json", tail)
        self.assertIn("Bash", said)
        self.assertIn("pytest -q", said)
        self.assertNotIn("{", said)

    def test_read_latest_looks_at_the_tail_only(self):
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "log")
            self.assertIsNone(activity.read_latest(path, None))
            with open(path, "w") as f:
                f.write("first\n" + "." * (3 * activity.TAIL) + "\nnow linting src/\n")
            self.assertEqual(activity.read_latest(path, None), "now linting src/")


class FakeConsole:
    def __init__(self, width=60):
        self.stdout, self.width, self.style = io.StringIO(), width, Style(unicode=False)

    def write(self, text):
        self.stdout.write(text)

    def out(self, text):
        self.stdout.write(text + "\n")


class LiveLinesTest(unittest.TestCase):

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.layout = Layout(self.root)
        os.makedirs(self.layout.plans)
        os.makedirs(self.layout.logs)

    def tearDown(self):
        import shutil
        shutil.rmtree(self.root)

    def test_a_line_has_run_time_plan_progress_and_latest_activity(self):
        task = Task.new("task_1789990000000_abc123", "claude", "Fix it", NOW - 100)
        task.update(status="running", attempt=1, started_at=iso(NOW - 65))
        with open(self.layout.plan_file(task.id), "w") as f:
            f.write("- [x] one\n- [ ] two\n- [ ] three\n")
        with open(self.layout.log_file(task.id), "w") as f:
            f.write("editing signup.py\n")
        line = LiveLines(FakeConsole(), self.layout, clock=lambda: NOW).line(task, NOW)
        self.assertEqual(line, "> task_1789990000000_abc123 claude: 1m05s - plan 1/3 - "
                               "editing signup.py")

    def test_say_prints_above_the_live_lines_and_close_takes_them_away(self):
        console = FakeConsole(width=30)
        live = LiveLines(console, self.layout)
        live._live_lines = lambda: ["a line longer than the thirty columns of it"]
        live.say("event one")
        live.say("event two")
        live.close()
        self.assertEqual(console.stdout.getvalue(),
                         "event one\n" "a line longer than the thirt~\n"
                         "\x1b[1F\x1b[J" "event two\n" "a line longer than the thirt~\n"
                         "\x1b[1F\x1b[J")
        live.say("after close")  # printed as it is, nothing to redraw
        self.assertTrue(console.stdout.getvalue().endswith("\x1b[J" "after close\n"))


if __name__ == "__main__":
    unittest.main()


class StatusShowsProgressTest(unittest.TestCase):
    """The status table gives a running task's plan progress; the watch adds its activity."""

    def test_progress_follows_a_running_status_and_the_watch_adds_a_line(self):
        from orchestra import table
        from orchestra.commands import status
        root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, root)
        layout = Layout(root)
        os.makedirs(layout.logs)
        run = Task.new("task_1789990000000_abc123", "claude", "Fix it", NOW - 100)
        run.update(status="running", attempt=1, started_at=iso(NOW - 65))
        wait = Task.new("task_1789990001000_def456", "claude", "Then this", NOW - 50)
        with open(layout.log_file(run.id), "w") as f:
            f.write("editing signup.py\n")
        lines = table.render([run, wait], NOW, Style(), 80, progress={run.id: "1/3"}).split("\n")
        self.assertIn("running 1/3", lines[1])
        self.assertNotIn("/3", lines[2])
        out = status._with_activity(layout, lines, [run, wait], [run], 30, Style(unicode=False))
        self.assertEqual(out[:2] + out[3:], lines)
        self.assertEqual(out[2], "  > editing signup.py")
