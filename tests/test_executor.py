"""executor._which: PATH look-ups remembered for a moment, never past the file's removal."""

import os
import shutil
import tempfile
import unittest
from unittest import mock

from orchestra import executor


class WhichTest(unittest.TestCase):
    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, self.dir, True)
        self.program = os.path.join(self.dir, "agent-cli")
        self.make(self.program)

    def make(self, path):
        with open(path, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(path, 0o755)

    def test_found_then_remembered_then_forgotten_when_removed(self):
        self.assertEqual(executor._which("agent-cli", self.dir), self.program)
        with mock.patch("shutil.which") as which:
            self.assertEqual(executor._which("agent-cli", self.dir), self.program)
            which.assert_not_called()
        os.unlink(self.program)
        self.assertIsNone(executor._which("agent-cli", self.dir))

    def test_a_program_installed_earlier_on_path_is_found_once_the_moment_passes(self):
        first = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, first, True)
        path = os.pathsep.join((first, self.dir))
        self.assertEqual(executor._which("agent-cli", path), self.program)
        self.make(os.path.join(first, "agent-cli"))
        with mock.patch.object(executor, "WHICH_TTL", 0.0):
            self.assertEqual(executor._which("agent-cli", path), os.path.join(first, "agent-cli"))


if __name__ == "__main__":
    unittest.main()
