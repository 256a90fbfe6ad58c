"""What settle reads of a run that has ended, from a real log on disk."""

import os
import shutil
import tempfile
import time
import unittest

from orchestra import settle, statedir
from orchestra.paths import Layout
from orchestra.reconcile import decide
from orchestra.store import Store
from orchestra.task import Task, new_id
from orchestra.transitions import launched


class LastWordsTest(unittest.TestCase):
    def setUp(self):
        root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, root, True)
        self.layout = Layout(root)
        statedir.ensure(self.layout)
        self.store = Store(self.layout)
        now = time.time()
        self.task = launched(Task.new(new_id(now), "gemini", "p", now), pid=1, pid_start="x",
                             now=now)
        self.store.create(self.task)

    def log(self, text):
        with open(self.layout.log_file(self.task.id), "w") as f:
            f.write(text)

    def judged(self):
        facts = settle.sentinel_facts(self.store, self.store.scan(), self.task, True, 55)
        return decide(self.task, facts, time.time()).error

    def test_an_exit_code_alone_carries_the_last_line_of_this_run_only(self):
        self.log("=== orchestra: t attempt 1, x: gemini ===\nold news\n"
                 "=== orchestra: t attempt 2, x: gemini ===\n"
                 "Gemini CLI is not running in a trusted directory.\n\n")
        self.assertEqual(self.judged(),
                         "exited with code 55: Gemini CLI is not running in a trusted directory.")
        self.log("=== orchestra: t attempt 1, x: gemini ===\nold news\n"
                 "=== orchestra: t attempt 2, x: gemini ===\n")
        self.assertEqual(self.judged(), "exited with code 55")

    def test_a_long_log_is_read_from_its_tail(self):
        self.log("=== orchestra: t attempt 1, x: gemini ===\n" + "x" * settle.WORDS_READ_MAX * 2
                 + "\nthe end\n")
        self.assertEqual(self.judged(), "exited with code 55: the end")
        self.log("=== orchestra: t attempt 1, x: gemini ===\n" + "x" * settle.WORDS_READ_MAX * 2)
        self.assertEqual(self.judged(), "exited with code 55")  # no line whole in the tail

    def test_no_log_and_a_written_error(self):
        self.assertEqual(self.judged(), "exited with code 55")
        self.log("something\n")
        with open(self.layout.sentinel(self.task.id, "error"), "w") as f:
            f.write('{"error": "it broke"}')
        self.assertEqual(self.judged(), "it broke")


if __name__ == "__main__":
    unittest.main()
