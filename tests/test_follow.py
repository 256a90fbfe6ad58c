"""The log followers: the trim arithmetic, and Followers on real files in a temp project."""

import json
import os
import time
import unittest

from orchestra import verdict
from orchestra.follow import Followers, kept, marker_line, shifted
from tests.helpers import settings_project, wait_until

CAP = 64 << 10


def step(tokens):
    return json.dumps({"type": "step_finish", "part": {"tokens": {"input": tokens},
                                                        "reason": "stop"}}) + "\n"


class ArithmeticTest(unittest.TestCase):
    def test_a_capped_log_keeps_a_quarter_of_the_cap_at_each_end_at_most_8m(self):
        self.assertEqual(kept(CAP), (16 << 10, 16 << 10))
        self.assertEqual(kept(1 << 30), (8 << 20, 8 << 20))

    def test_positions_move_with_what_was_kept(self):
        head, tail_from, tail, marker = 100, 500, 200, 10
        self.assertEqual(shifted(40, head, tail_from, tail, marker), 40)    # in the head
        self.assertEqual(shifted(100, head, tail_from, tail, marker), 100)
        self.assertEqual(shifted(300, head, tail_from, tail, marker), 110)  # dropped: after the marker
        self.assertEqual(shifted(500, head, tail_from, tail, marker), 110)
        self.assertEqual(shifted(650, head, tail_from, tail, marker), 260)  # in the tail
        self.assertEqual(shifted(700, head, tail_from, tail, marker), 310)  # its end

    def test_the_marker_says_how_much_and_where_the_cap_is_set(self):
        self.assertEqual(marker_line(1234, 100 << 20), b"\n--- orchestra: 1234 bytes of output "
                         b"dropped here (log cap 100M; see `orchestra config`) ---\n")


class FollowersTest(unittest.TestCase):
    def setUp(self):
        self.layout = settings_project(self, {"log_max": CAP})
        self.log = os.path.join(self.layout.root, "t.log")
        open(self.log, "w").close()
        self.followers = Followers(self.layout)
        self.addCleanup(self.followers.close)

    def write(self, text):
        with open(self.log, "a") as f:
            f.write(text)

    def test_finish_reads_all_that_was_written_before_it(self):
        self.followers.add("t", self.log, 0, verdict.StreamParser("text", time.time))
        self.write(("work\n" * 1000) + "Claude AI usage limit reached\n")
        v = self.followers.finish("t")
        self.assertTrue(v.limited)
        self.assertIsNone(self.followers.finish("t"))  # once

    def test_a_trim_neither_loses_nor_repeats_what_was_parsed(self):
        self.followers.add("t", self.log, 0, verdict.StreamParser("opencode-jsonl", time.time))
        first = step(1) + "." * (60 << 10) + "\n" + step(2)
        self.write(first)
        state = self.followers._logs["t"]
        wait_until(lambda: state.offset == len(first), message="the follower to catch up")
        self.write("." * (10 << 10) + "\n")  # past the cap: the trim keeps step 2 in the tail
        self.write(step(4))
        self.assertEqual(self.followers.finish("t").tokens_in, 7)
        with open(self.log, "rb") as f:
            log = f.read()
        self.assertLess(len(log), CAP)
        self.assertTrue(log.startswith(step(1).encode()))
        self.assertTrue(log.endswith((step(2) + "." * (10 << 10) + "\n" + step(4)).encode()))
        self.assertIn(b"bytes of output dropped here (log cap 64K", log)

    def test_a_log_without_an_output_format_is_capped_all_the_same(self):
        self.followers.add("t", self.log, 0, None)
        self.write("." * (3 * CAP))
        self.assertIsNone(self.followers.finish("t"))
        self.assertLess(os.path.getsize(self.log), CAP)


if __name__ == "__main__":
    unittest.main()
