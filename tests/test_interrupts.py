"""SIGINT, SIGHUP and SIGTERM taking Ctrl-C's way out (process.StopSignals), and waiting for
the end of an `uninterrupted` section, in-process."""

import errno
import io
import os
import signal
import time
import unittest

from orchestra.cli import make_console
from orchestra.errors import Interrupted, interruption
from orchestra.process import StopSignals, uninterrupted


@unittest.skipUnless(hasattr(signal, "SIGHUP"), "POSIX signals")
class StopSignalsTest(unittest.TestCase):

    def test_the_first_raises_with_its_exit_code_later_ones_are_ignored(self):
        before = signal.getsignal(signal.SIGTERM)
        with self.assertRaises(Interrupted) as caught, StopSignals():
            try:
                os.kill(os.getpid(), signal.SIGTERM)
                time.sleep(5)  # cut short by the handler's raise
            finally:
                os.kill(os.getpid(), signal.SIGHUP)  # mid-cleanup: must not raise again
        self.assertEqual(interruption(caught.exception), ("terminated", 143))
        self.assertIs(signal.getsignal(signal.SIGTERM), before)

    def test_an_ignored_hang_up_does_nothing_and_leaves_children_their_default(self):
        with StopSignals(ignore=("SIGHUP",)):
            os.kill(os.getpid(), signal.SIGHUP)
            # A Python handler, not SIG_IGN, which an agent started now would inherit.
            self.assertNotIn(signal.getsignal(signal.SIGHUP), (signal.SIG_IGN, signal.SIG_DFL))
        self.assertEqual(interruption(KeyboardInterrupt()), ("interrupted", 130))


    def test_a_signal_ignored_when_it_started_stays_ignored(self):
        old = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as under nohup
        try:
            with StopSignals():
                self.assertIs(signal.getsignal(signal.SIGHUP), signal.SIG_IGN)
                os.kill(os.getpid(), signal.SIGHUP)  # nothing
                self.assertIsNot(signal.getsignal(signal.SIGTERM), signal.SIG_DFL)
        finally:
            signal.signal(signal.SIGHUP, old)


@unittest.skipUnless(hasattr(signal, "SIGHUP"), "POSIX signals")
class UninterruptedTest(unittest.TestCase):

    def test_a_stop_signal_waits_for_the_outermost_section_to_end(self):
        done = []
        with self.assertRaises(KeyboardInterrupt), StopSignals():
            with uninterrupted():
                signal.raise_signal(signal.SIGINT)
                with uninterrupted():
                    signal.raise_signal(signal.SIGTERM)  # a second: ignored, as ever
                done.append("inner")
                done.append("outer")
            done.append("after")  # not reached: raised as the section ended
        self.assertEqual(done, ["inner", "outer"])
        with self.assertRaises(Interrupted), StopSignals():
            with uninterrupted():
                os.kill(os.getpid(), signal.SIGTERM)
        with StopSignals(), uninterrupted():
            pass  # nothing pending is left over from before


class DeadStderrTest(unittest.TestCase):

    def test_a_warning_to_a_closed_terminal_is_dropped(self):
        class Gone(io.StringIO):
            def write(self, text):
                raise OSError(errno.EIO, "Input/output error")

        make_console(True, stdout=io.StringIO(), stderr=Gone()).warn("hung up")


if __name__ == "__main__":
    unittest.main()
