"""Following the event log across a rotation: hooks' Runner and `events -f`, in-process."""

import json
import os
import unittest
from types import SimpleNamespace
from unittest import mock

from orchestra import hooks, tail
from orchestra.commands import events
from tests.helpers import settings_project, wait_until


def stat(ino, size):
    return SimpleNamespace(st_ino=ino, st_size=size)


def event(task, to="failed"):
    return json.dumps({"time": "2026-01-01T10:00:00.000Z", "task": task, "agent": "a",
                       "from": "running", "to": to, "reason": None, "attempt": 1}) + "\n"


class MatchingTest(unittest.TestCase):
    def test_a_merge_is_heard_only_by_hooks_that_name_it(self):
        on_done, on_merge, every = {"on": ["completed"]}, {"on": ["merged"]}, {}
        hooks_ = [on_done, on_merge, every]
        self.assertEqual(hooks.matching(hooks_, {"to": "completed"}), [on_done, every])
        self.assertEqual(hooks.matching(hooks_, {"to": "completed", "event": "merged"}),
                         [on_merge])
        self.assertEqual(hooks.matching(hooks_, {"to": "completed", "event": "branch_deleted"}),
                         [])


class ResumeAtTest(unittest.TestCase):
    def test_the_same_file_goes_on_from_the_offset(self):
        self.assertEqual(tail.resume_at(7, 100, stat(7, 100)), 100)
        self.assertEqual(tail.resume_at(7, 100, stat(7, 250)), 100)
        self.assertEqual(tail.resume_at(None, 100, stat(7, 250)), 100)  # an old record

    def test_a_new_or_shorter_file_is_read_from_its_start(self):
        self.assertEqual(tail.resume_at(7, 100, stat(8, 500)), 0)   # moved away, a new one
        self.assertEqual(tail.resume_at(7, 100, stat(7, 40)), 0)    # truncated
        self.assertEqual(tail.resume_at(None, 100, stat(7, 40)), 0)


class RotationTest(unittest.TestCase):
    def setUp(self):
        self.layout = settings_project(self, {"hooks": [{"on": ["failed"], "command": ["true"]}]})

    def append(self, text):
        with open(self.layout.events, "a") as f:
            f.write(text)

    def test_hooks_fire_again_after_the_log_is_moved_or_truncated(self):
        self.append(event("before"))
        runner = hooks.Runner(self.layout)
        fired = []
        runner._command = lambda hook, e: fired.append(e["task"])
        self.addCleanup(runner.close)
        self.append(event("t1"))
        runner.poll()
        os.rename(self.layout.events, self.layout.events + ".1")
        self.append(event("t2"))
        runner.poll()
        os.truncate(self.layout.events, 0)
        runner.poll()  # (a log grown back past the offset by now would not be told apart)
        self.append(event("t3"))
        runner.poll()
        wait_until(lambda: len(fired) == 3, message="three hooks")
        self.assertEqual(fired, ["t1", "t2", "t3"])
        runner.close()
        self.assertEqual(hooks.Runner(self.layout)._load_offset(),
                         (os.stat(self.layout.events).st_ino, os.path.getsize(self.layout.events)))

    def test_events_follow_goes_on_into_the_new_log(self):
        self.append(event("t1"))
        steps = [lambda: os.rename(self.layout.events, self.layout.events + ".1"),
                 lambda: self.append(event("t2")), lambda: os.truncate(self.layout.events, 0),
                 lambda: self.append(event("t3"))]  # each seen by a pass of its own

        def sleep(_):
            if not steps:
                raise KeyboardInterrupt
            steps.pop(0)()
        printed = []
        console = SimpleNamespace(out=printed.append)
        with mock.patch.object(events.time, "sleep", sleep):
            self.assertEqual(events.run(self.layout, console, follow=True, as_json=True), 0)
        self.assertEqual([json.loads(line)["task"] for line in printed], ["t1", "t2", "t3"])


if __name__ == "__main__":
    unittest.main()
