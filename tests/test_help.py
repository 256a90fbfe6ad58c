"""Help that teaches and errors that suggest: every command's --help, `help CMD`, the closest
match for a mistyped command, choice, agent or setting, and the warnings for unknown keys in
the configs. In-process: these are argparse and string work."""

import argparse
import json
import os
import shutil
import tempfile
import unittest

from orchestra import cli, suggest
from orchestra.paths import Layout
from tests.helpers import main_in_process


def _subcommands(parser):
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return action
    return None


class ProjectCase(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-help-")
        self.addCleanup(shutil.rmtree, self.root, ignore_errors=True)

    def write(self, relative, data):
        path = os.path.join(self.root, relative)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(data if isinstance(data, str) else json.dumps(data))

    def agents(self, agents):
        self.write(".orchestra-cli/agent-config.json", {"agents": agents})


class EveryHelpTeaches(unittest.TestCase):
    def test_every_command_has_a_description_help_lines_and_examples(self):
        commands = _subcommands(cli.build_parser())
        listed = {a.dest: a.help for a in commands._choices_actions}
        for name, parser in commands.choices.items():
            if name in cli.HIDDEN:
                continue
            with self.subTest(command=name):
                self.assertTrue(listed.get(name), "a line in the command list")
                self.assertRegex(parser.epilog or "", r"^examples:\n  \S*.*orchestra ")
                self._check(parser, name)

    def _check(self, parser, name):
        self.assertTrue(parser.description, f"{name}: a description")
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for choice in action._choices_actions:
                    self.assertTrue(choice.help, f"{name} {choice.dest}: a line in its list")
                for verb, sub in action.choices.items():
                    self._check(sub, f"{name} {verb}")
            elif action.help != argparse.SUPPRESS:
                self.assertTrue(action.help, f"{name} {action.option_strings or action.dest}: "
                                "a help line")

    def test_the_examples_keep_their_lines(self):
        code, out, _ = main_in_process(tempfile.gettempdir(), "clean", "--help")
        self.assertEqual(code, 0)
        self.assertIn("\nexamples:\n  orchestra clean ", out)

    def test_timeout_says_it_takes_durations(self):
        code, out, _ = main_in_process(tempfile.gettempdir(), "help", "timeout")
        self.assertEqual(code, 0)
        self.assertIn("ID DURATION", out)
        self.assertIn("15m", out)


class HelpCommand(ProjectCase):
    def test_help_command_is_command_help(self):
        self.assertEqual(main_in_process(self.root, "help", "wait"),
                         main_in_process(self.root, "wait", "--help"))
        code, out, _ = main_in_process(self.root, "help", "config", "set")
        self.assertEqual(code, 0)
        self.assertIn("usage: orchestra config set", out)

    def test_help_alone_is_the_main_help(self):
        code, out, _ = main_in_process(self.root, "help")
        self.assertEqual(code, 0)
        self.assertIn("usage: orchestra", out)
        self.assertIn("orchestra help COMMAND", out)

    def test_help_of_an_unknown_command_suggests(self):
        code, _, err = main_in_process(self.root, "help", "stauts")
        self.assertEqual(code, 2)
        self.assertIn("unknown command 'stauts'; did you mean 'status'?", err)

    def test_start_help_lists_the_configured_agents(self):
        self.agents({"coder": {"command": "echo", "description": "writes the code"}})
        code, out, _ = main_in_process(self.root, "start", "--help")
        self.assertEqual(code, 0)
        self.assertRegex(out, r"\n  coder +writes the code\n")
        self.assertRegex(out, r"\n  claude +Claude Code")

    def test_start_help_survives_a_broken_config(self):
        self.write(".orchestra-cli/agent-config.json", "{not json")
        code, out, _ = main_in_process(self.root, "help", "start")
        self.assertEqual(code, 0)
        self.assertIn("agents (the agent config cannot be read: ", out)
        self.assertRegex(out, r"\n  demo +built-in demo agent")


class Suggestions(ProjectCase):
    def error(self, *argv):
        code, out, err = main_in_process(self.root, *argv)
        self.assertEqual((code, out), (2, ""), err)
        self.assertEqual(err.count("\n"), 1, err)
        return err

    def test_a_misspelled_command(self):
        self.assertIn("unknown command 'stauts'; did you mean 'status'?", self.error("stauts"))
        self.assertIn("unknown command 'lgos'; did you mean 'logs'?", self.error("lgos"))

    def test_words_of_other_tools_are_suggested_not_run(self):
        self.assertIn("unknown command 'log'; did you mean 'logs'?", self.error("log"))
        self.assertIn("unknown command 'ls'; did you mean 'status'?", self.error("ls"))

    def test_no_likely_command_lists_them(self):
        err = self.error("xyzzy")
        self.assertIn("unknown command 'xyzzy'; the commands are init, start,", err)
        self.assertNotIn("supervise", err)

    def test_a_misspelled_action(self):
        self.assertIn("unknown 'lst' (did you mean 'list'?); choose from list, get, set, unset",
                      self.error("config", "lst"))

    def test_a_misspelled_agent(self):
        code, _, err = main_in_process(self.root, "start", "claud", "fix it")
        self.assertNotEqual(code, 0)
        self.assertIn("unknown agent 'claud' (did you mean 'claude'?); known agents: ", err)
        self.assertFalse(os.path.exists(os.path.join(self.root, ".orchestra", "tasks")))

    def test_a_misspelled_setting(self):
        code, _, err = main_in_process(self.root, "config", "set", "paralel", "3")
        self.assertEqual(code, 2)
        self.assertIn("unknown setting 'paralel' (did you mean 'parallel'?)", err)

    def test_closest(self):
        choices = ["status", "stats", "start"]
        self.assertEqual(suggest.closest("stauts", choices), "status")  # a swap is one edit
        self.assertEqual(suggest.closest("bsh", ["bash", "zsh", "fish"]), "bash")
        self.assertEqual(suggest.closest("maxretries", ["maxRetries", "timeout"]), "maxRetries")
        self.assertIsNone(suggest.closest("zzz", choices))
        self.assertIsNone(suggest.closest("x", []))


class UnknownConfigKeys(ProjectCase):
    def test_start_warns_of_a_misspelled_agent_key(self):
        self.agents({"coder": {"command": "echo", "timout": 5, "maxretries": 2},
                     "other": {"command": "echo", "colour": "red"}})
        code, out, err = main_in_process(self.root, "start", "-q", "coder", "hi")
        self.assertEqual(code, 0, err)
        self.assertTrue(out.startswith("task_"))
        where = os.path.join(".orchestra-cli", "agent-config.json")
        self.assertIn(f"orchestra: agent 'coder' in {where}: unknown key 'timout' (did you "
                      "mean 'timeout'?); it is ignored\n", err)
        self.assertIn("unknown key 'maxretries' (did you mean 'maxRetries'?)", err)
        self.assertNotIn("colour", err)  # start speaks of the agent it uses

    def test_config_warns_of_every_agent_and_an_unknown_setting(self):
        self.agents({"other": {"command": "echo", "colour": "red"}})
        self.write(".orchestra/config.json", {"paralel": 3, "hooks": []})
        code, out, err = main_in_process(self.root, "config", "get", "parallel")
        self.assertEqual((code, out), (0, "1\n"))
        self.assertIn("agent 'other'", err)
        self.assertIn("unknown key 'colour'; it is ignored", err)
        self.assertIn("unknown setting 'paralel' (did you mean 'parallel'?); it is ignored", err)
        self.assertNotIn("hooks", err)

    def test_known_keys_and_an_unreadable_config_give_no_warning(self):
        self.agents({"coder": {"command": "echo", "timeout": 5, "maxRetries": 1}})
        self.assertEqual(suggest.config_warnings(Layout(self.root)), [])
        self.write(".orchestra-cli/agent-config.json", "[]")
        self.assertEqual(suggest.config_warnings(Layout(self.root)), [])


if __name__ == "__main__":
    unittest.main()
