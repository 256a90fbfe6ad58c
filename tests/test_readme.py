"""README's quick start, run as written after `init`, with a stand-in for Claude Code on PATH
(tests/fake_agent.py): its examples must keep working with what `init` creates."""

import os
import re
import shutil
import subprocess
import sys

from tests.helpers import FAKE_AGENT, REPO, ProjectCase


def everyday_use():
    """The shell lines of README's "Everyday use" block."""
    with open(os.path.join(REPO, "README.md"), encoding="utf-8") as f:
        text = f.read()
    block = re.search(r"## Everyday use\n+```sh\n(.*?)```", text, re.S).group(1)
    return [line for line in block.splitlines() if line.strip()]


class ReadmeQuickStartTest(ProjectCase):
    def test_everyday_use_works_after_init(self):
        shutil.rmtree(os.path.join(self.root, ".orchestra-cli"))  # init writes its own
        bin_dir = os.path.join(self.root, "bin")
        os.makedirs(bin_dir)
        claude = os.path.join(bin_dir, "claude")
        with open(claude, "w") as f:  # does the work: reports it done, as the protocol asks
            f.write(f"#!/bin/sh\nexec {sys.executable} {FAKE_AGENT} echo=working done\n")
        os.chmod(claude, 0o755)
        lines = everyday_use()
        watch = [line for line in lines if "--watch" in line]
        self.assertEqual(len(watch), 1, lines)  # interactive: the watch's own tests cover it
        script = "\n".join(line for line in lines if line not in watch)
        self.assertIn("orchestra init", script)
        env = self.env(PATH=bin_dir + os.pathsep + os.environ["PATH"])
        done = subprocess.run(
            ["bash", "-euo", "pipefail", "-c",
             f'orchestra() {{ {sys.executable} -m orchestra "$@"; }}\n{script}'],
            cwd=self.root, env=env, capture_output=True, text=True, timeout=60)
        self.assertEqual(done.returncode, 0, script + "\n" + done.stdout + done.stderr)
        self.assertIn("working", done.stdout)  # the logs line
