"""FileLock under interruption: a Ctrl-C anywhere in taking or leaving a lock never leaves it
held unseen (the process would block every other for as long as it lives)."""

import os
import shutil
import tempfile
import unittest
from unittest import mock

from orchestra import lock as lockmod
from orchestra.lock import FileLock


class InterruptedLockTest(unittest.TestCase):
    def setUp(self):
        d = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, d, True)
        self.path = os.path.join(d, "lock")

    def assertFree(self):
        other = FileLock(self.path)
        self.assertTrue(other.acquire(timeout=0), "the lock is still held")
        other.release()

    def test_a_ctrl_c_just_after_the_lock_is_taken_leaves_it_free(self):
        take = lockmod._lock if lockmod._lock is not None else lockmod._try_lock
        name = "_lock" if lockmod._lock is not None else "_try_lock"

        def taken_then_interrupted(fd):
            take(fd)
            raise KeyboardInterrupt
        for keep_open in (False, True):
            held = FileLock(self.path, keep_open=keep_open)
            with mock.patch.object(lockmod, name, taken_then_interrupted), \
                    self.assertRaises(KeyboardInterrupt):
                held.acquire()
            self.assertFalse(held.held)
            self.assertFree()
            self.assertTrue(held.acquire(timeout=0))  # and it can be taken again
            held.release()

    def test_a_ctrl_c_as_a_with_block_is_entered_leaves_it_free(self):
        real_take = FileLock._take

        def noted_then_interrupted(self, fd, timeout):
            real_take(self, fd, timeout)
            raise KeyboardInterrupt
        held = FileLock(self.path, keep_open=True)
        with mock.patch.object(FileLock, "_take", noted_then_interrupted), \
                self.assertRaises(KeyboardInterrupt):
            with held:
                self.fail("the block ran")
        self.assertFalse(held.held)
        self.assertFree()

    def test_a_ctrl_c_while_waiting_for_the_lock_leaves_it_to_its_holder(self):
        holder = FileLock(self.path)
        self.assertTrue(holder.acquire(timeout=0))
        waiter = FileLock(self.path)
        with mock.patch("time.sleep", side_effect=KeyboardInterrupt), \
                self.assertRaises(KeyboardInterrupt):
            waiter.acquire(timeout=5)
        self.assertTrue(holder.held)
        self.assertFalse(FileLock(self.path).acquire(timeout=0), "the holder lost its lock")
        holder.release()
        self.assertFree()


if __name__ == "__main__":
    unittest.main()
