import json
import os
import tempfile
import unittest

from orchestra import agents
from orchestra.errors import OrchestraError
from orchestra.paths import Layout


class SubstituteTest(unittest.TestCase):
    def test_one_pass_leaves_braces_in_values_alone(self):
        values = {"prompt": "use {taskId} and {prompt} literally", "taskId": "T"}
        self.assertEqual(agents.substitute("[{prompt}] {taskId}", values),
                         "[use {taskId} and {prompt} literally] T")

    def test_unknown_and_json_braces_stay(self):
        text = 'write {"error": "x"} to {errorFile} {nope}'
        self.assertEqual(agents.substitute(text, {"errorFile": "E"}),
                         'write {"error": "x"} to E {nope}')

    def test_default_template_has_the_protocol(self):
        for name in ("{prompt}", "{planFile}", "{doneFile}", "{errorFile}", "{taskId}"):
            self.assertIn(name, agents.DEFAULT_TEMPLATE)


class ConfigTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp()
        self.layout = Layout(self.root)
        os.makedirs(self.layout.config_dir)

    def tearDown(self):
        import shutil
        shutil.rmtree(self.root)

    def write(self, data):
        with open(self.layout.agent_config, "w") as f:
            f.write(data if isinstance(data, str) else json.dumps(data))

    def test_presets_without_any_config(self):
        os.rmdir(self.layout.config_dir)
        for name in ("demo", "claude", "codex", "gemini", "opencode", "aider", "cursor", "auggie"):
            self.assertEqual(agents.get(self.layout, name).name, name)

    def test_sandboxed_presets_open_the_state_directory_in_both_runs(self):
        from orchestra import executor
        from orchestra.task import Task
        task = Task.new("task_1780000000000_abcdef", "codex", "p", 0)
        values = dict(executor.placeholders(self.layout, task), prompt="P", sessionId="S")
        codex = agents.get(self.layout, "codex")
        for argv in (codex.argv(values), codex.argv(values, resume=True)):
            self.assertEqual(argv[argv.index("--add-dir") + 1], self.layout.state)
        resumed = codex.argv(values, resume=True)
        self.assertEqual(resumed[-3:], ["resume", "S", "P"])  # sandbox options come before it
        self.assertLess(resumed.index("workspace-write"), resumed.index("resume"))
        gemini = agents.get(self.layout, "gemini").argv(values)
        self.assertEqual(gemini[gemini.index("--include-directories") + 1], self.layout.state)

    def test_old_tool_config_works(self):
        os.makedirs(self.layout.prompts)
        with open(os.path.join(self.layout.prompts, "coder.md"), "w") as f:
            f.write("You are {agent}. Task {taskId}: {prompt}")
        self.write({"agents": {"coder": {"command": "claude", "args": ["-p", "{prompt}"],
                                         "promptTemplateFile": "prompts/coder.md"}}})
        agent = agents.get(self.layout, "coder")
        values = {"agent": "coder", "taskId": "T1"}
        prompt = agents.substitute(agent.template(), dict(values, prompt="fix $(rm -rf /)"))
        self.assertEqual(agent.argv(dict(values, prompt=prompt)),
                         ["claude", "-p", "You are coder. Task T1: fix $(rm -rf /)"])

    def test_unknown_agent_lists_the_known_ones(self):
        self.write({"agents": {"mine": {"command": "x"}}})
        with self.assertRaises(OrchestraError) as e:
            agents.get(self.layout, "nobody")
        self.assertIn("mine", e.exception.message)
        self.assertEqual(e.exception.code, 2)

    def test_invalid_configs_are_usage_errors(self):
        cases = ["{not json", '{"agents": []}', {"agents": {"a": {"args": []}}},
                 {"agents": {"a": {"command": "x", "args": "notalist"}}},
                 {"agents": {"a": {"command": "x", "timeout": -1}}},
                 {"agents": {"a": {"command": "x", "maxRetries": 1.5}}},
                 {"agents": {"a": {"command": "x", "completion": "maybe"}}},
                 {"agents": {"a": {"command": "x", "env": {"A": 1}}}}]
        for case in cases:
            self.write(case)
            with self.assertRaises(OrchestraError, msg=str(case)) as e:
                agents.get(self.layout, "a")
            self.assertEqual(e.exception.code, 2)

    def test_missing_template_file_is_an_error(self):
        self.write({"agents": {"a": {"command": "x", "promptTemplateFile": "prompts/none.md"}}})
        with self.assertRaises(OrchestraError):
            agents.get(self.layout, "a").template()

    def test_init_config_is_loadable(self):
        self.write(agents.config_text())
        self.assertEqual(agents.get(self.layout, "claude").command, "claude")


if __name__ == "__main__":
    unittest.main()
