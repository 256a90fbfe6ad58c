"""`orchestra completion`: the bash script loaded in a real bash completes commands, options,
agent names and live task ids; the zsh and fish scripts parse (where those shells exist)."""

import json
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

from orchestra.commands import completion as command
from orchestra.paths import Layout
from tests.helpers import REPO, main_in_process

# What each case types (the line up to the cursor), as bash splits it.
CASES = {
    "commands": ["orchestra", "st"],
    "options": ["orchestra", "start", "--pri"],
    "agents": ["orchestra", "start", "co"],
    "ids": ["orchestra", "--root", "ROOT", "cancel", "task_1"],
    "depends": ["orchestra", "start", "coder", "--depends-on", ""],
    "prompt": ["orchestra", "start", "coder", ""],
    "actions": ["orchestra", "config", ""],
    "settings": ["orchestra", "config", "set", "par"],
    "help": ["orchestra", "help", "wa"],
}


class Completion(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-completion-")
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)
        config = os.path.join(self.root, ".orchestra-cli", "agent-config.json")
        os.makedirs(os.path.dirname(config))
        with open(config, "w") as f:
            json.dump({"agents": {"coder": {"command": "echo"}}}, f)
        self.ids = []
        for words in (["coder", "one"], ["coder", "two"]):
            code, out, err = main_in_process(self.root, "start", "-q", *words)
            self.assertEqual(code, 0, err)
            self.ids.append(out.strip())
        # The script calls `orchestra` by name, as it is installed.
        self.bin = os.path.join(self.root, "bin")
        os.makedirs(self.bin)
        with open(os.path.join(self.bin, "orchestra"), "w") as f:
            f.write(f'#!/bin/sh\nexec "{sys.executable}" -m orchestra "$@"\n')
        os.chmod(os.path.join(self.bin, "orchestra"), 0o755)

    def env(self):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRA_")}
        env.update(PYTHONPATH=REPO, PATH=self.bin + os.pathsep + env.get("PATH", ""),
                   ORCHESTRA_NO_REGISTER="1")
        return env

    def test_bash_completes_commands_options_agents_and_ids(self):
        path = os.path.join(self.root, "orchestra.bash")
        with open(path, "w") as f:
            f.write(command.script("bash"))
        lines = [f"source {path}"]
        for name, words in CASES.items():
            words = [self.root if w == "ROOT" else w for w in words]
            quoted = " ".join("'" + w + "'" for w in words)
            lines.append(f"COMP_WORDS=({quoted}); COMP_CWORD={len(words) - 1}; _orchestra; "
                         f"echo '== {name}'; printf '%s\\n' \"${{COMPREPLY[@]}}\"")
        result = subprocess.run(["bash", "--norc", "-c", "\n".join(lines)], cwd=self.root,
                                env=self.env(), capture_output=True, text=True, timeout=30)
        self.assertEqual(result.stderr, "")
        got = {}
        for block in result.stdout.split("== ")[1:]:
            name, _, rest = block.partition("\n")
            got[name] = [w for w in rest.splitlines() if w]
        self.assertEqual(got["commands"], ["start", "status", "stats"])
        self.assertEqual(got["options"], ["--priority"])
        self.assertEqual(got["agents"], ["coder", "codex", "copilot"])
        self.assertEqual(sorted(got["ids"]), sorted(self.ids))
        self.assertEqual(sorted(got["depends"]), sorted(self.ids))
        self.assertEqual(got["prompt"], [])
        self.assertEqual(got["actions"], ["list", "get", "set", "unset"])
        self.assertEqual(got["settings"], ["parallel"])
        self.assertEqual(got["help"], ["wait"])

    def test_the_words_it_asks_for(self):
        layout = Layout(self.root)
        self.assertEqual(command._words(layout, "ids"), sorted(self.ids))
        self.assertIn("coder", command._words(layout, "agents"))
        with open(layout.agent_config, "w") as f:
            f.write("{broken")
        self.assertEqual(command._words(layout, "agents"), [])  # quiet: no error in a prompt
        self.assertEqual(command._words(Layout(os.path.join(self.root, "none")), "ids"), [])

    def test_no_shell_named(self):
        code, out, err = main_in_process(self.root, "completion")
        self.assertEqual((code, out), (2, ""))
        self.assertIn("orchestra completion bash|zsh|fish", err)

    @unittest.skipUnless(shutil.which("zsh"), "zsh is not installed")
    def test_zsh_script_loads(self):
        path = os.path.join(self.root, "orchestra.zsh")
        with open(path, "w") as f:
            f.write(command.script("zsh"))
        result = subprocess.run(["zsh", "-f", "-c", f"autoload -U compinit; compinit -u; "
                                 f"source {path} && echo loaded"], capture_output=True,
                                text=True, timeout=30, env=self.env(), cwd=self.root)
        self.assertEqual((result.stdout, result.stderr), ("loaded\n", ""))

    @unittest.skipUnless(shutil.which("fish"), "fish is not installed")
    def test_fish_script_completes_commands(self):
        path = os.path.join(self.root, "orchestra.fish")
        with open(path, "w") as f:
            f.write(command.script("fish"))
        result = subprocess.run(["fish", "--no-config", "-c", f"source {path}; "
                                 "complete -C 'orchestra sta'; complete -C 'orchestra config '"],
                                capture_output=True, text=True, timeout=30, env=self.env())
        self.assertEqual(result.stderr, "")
        words = [line.split("\t")[0] for line in result.stdout.splitlines()]
        self.assertEqual(words, ["start", "stats", "status", "get", "list", "set", "unset"])


if __name__ == "__main__":
    unittest.main()
