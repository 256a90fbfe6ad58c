"""`init --for AGENT,...`: the files each agent CLI gets, in its own format; a second run
changes nothing; a file the user changed is kept (--force replaces it); configs are merged
into, and one that is not valid JSON is refused with nothing changed. In-process."""

import json
import os
import shutil
import tempfile
import unittest

from orchestra import integrations, mcpconfig, slash, subagents
from tests.helpers import main_in_process

try:
    import tomllib  # 3.11+
except ImportError:
    tomllib = None

NAMES = [name for name, *_ in slash.COMMANDS]


def frontmatter(text):
    """(fields, body) of a Markdown file with `key: value` frontmatter (values JSON or plain)."""
    assert text.startswith("---\n"), text
    head, body = text[4:].split("\n---\n", 1)
    fields, parent = {}, None
    for line in head.splitlines():
        if line.startswith("  "):
            key, value = line.strip().split(": ", 1)
            fields[parent][key] = json.loads(value)
            continue
        key, _, value = line.partition(":")
        value = value.strip()
        if value:
            fields[key] = json.loads(value)
        else:
            fields[key], parent = {}, key
    return fields, body


class InitForTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, self.root, True)

    def init(self, *argv):
        return main_in_process(self.root, "init", *argv)

    def path(self, rel):
        return os.path.join(self.root, *rel.split("/"))

    def read(self, rel):
        with open(self.path(rel), encoding="utf-8") as f:
            return f.read()

    def write(self, rel, text):
        os.makedirs(os.path.dirname(self.path(rel)) or self.root, exist_ok=True)
        with open(self.path(rel), "w", encoding="utf-8") as f:
            f.write(text)

    def files(self):
        out = set()
        for top, dirs, names in os.walk(self.root):
            dirs[:] = [d for d in dirs if d != ".orchestra"]
            out |= {os.path.relpath(os.path.join(top, n), self.root).replace(os.sep, "/")
                    for n in names}
        return out

    def test_writes_exactly_each_agent_s_files(self):
        code, out, err = self.init("--for", "claude,opencode", "--for", "gemini,codex")
        self.assertEqual((code, err), (0, ""))
        expected = {".orchestra-cli/agent-config.json", ".orchestra-cli/prompts/protocol.md",
                    ".orchestra-cli/prompts/coder.md", ".orchestra-cli/prompts/tester.md",
                    ".orchestra-cli/written.json", ".mcp.json", ".gemini/settings.json",
                    "opencode.json", ".codex/config.toml",
                    ".orchestra-cli/agent/coder.md", ".orchestra-cli/agent/tester.md",
                    ".orchestra-cli/agent/opencode.md"}
        expected |= {f".claude/commands/orchestra/{n}.md" for n in NAMES}
        expected |= {f".gemini/commands/orchestra/{n}.toml" for n in NAMES}
        expected |= {f".opencode/commands/orchestra-{n}.md" for n in NAMES}
        self.assertEqual(self.files(), expected)
        self.assertIn("wrote .claude/commands/orchestra/start.md", out)
        self.assertIn("registered the MCP server in .mcp.json", out)
        # Only the agents named.
        other = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, other, True)
        self.assertEqual(main_in_process(other, "init", "--for", "gemini")[0], 0)
        self.assertFalse(os.path.exists(os.path.join(other, ".claude")))
        self.assertFalse(os.path.exists(os.path.join(other, ".mcp.json")))

    def test_an_unknown_agent_is_exit_2_with_the_closest_name_and_writes_nothing(self):
        code, out, err = self.init("--for", "claude,gemnii")
        self.assertEqual(code, 2)
        self.assertIn("unknown agent 'gemnii' (did you mean 'gemini'?)", err)
        self.assertEqual(os.listdir(self.root), [])
        code, out, err = self.init("--force")
        self.assertEqual(code, 2)
        self.assertIn("init --force replaces the files of --for", err)
        self.assertEqual(os.listdir(self.root), [])

    def test_a_second_run_changes_nothing(self):
        self.init("--for", "claude,opencode,gemini,codex")
        before = {rel: (self.read(rel), os.stat(self.path(rel)).st_mtime_ns)
                  for rel in self.files() if rel != ".orchestra-cli/written.json"}
        code, out, _ = self.init("--for", "claude,opencode,gemini,codex")
        self.assertEqual(code, 0)
        self.assertIn("nothing changed", out)
        self.assertNotIn("wrote", out)
        self.assertEqual({rel: (self.read(rel), os.stat(self.path(rel)).st_mtime_ns)
                          for rel in before}, before)

    def test_a_file_the_user_changed_is_kept_and_force_replaces_it(self):
        self.init("--for", "claude")
        rel = ".claude/commands/orchestra/start.md"
        original = self.read(rel)
        self.write(rel, original + "\nAlso say thank you.\n")
        code, out, _ = self.init("--for", "claude")
        self.assertEqual(code, 0)
        self.assertIn(f"kept {rel}: changed since orchestra wrote it; --force replaces it", out)
        self.assertIn("thank you", self.read(rel))
        code, out, _ = self.init("--for", "claude", "--force")
        self.assertIn(f"replaced {rel} (--force)", out)
        self.assertEqual(self.read(rel), original)

    def test_a_file_orchestra_wrote_is_refreshed_by_a_newer_version(self):
        self.init("--for", "opencode")
        rel = ".orchestra-cli/agent/coder.md"
        old = "an older version's text\n"
        self.write(rel, old)
        manifest = json.loads(self.read(".orchestra-cli/written.json"))
        manifest["files"][rel] = integrations.digest(old)
        self.write(".orchestra-cli/written.json", json.dumps(manifest))
        code, out, _ = self.init("--for", "opencode")
        self.assertIn(f"updated {rel}", out)
        self.assertEqual(self.read(rel), subagents.text("coder"))

    def test_a_file_orchestra_did_not_write_is_kept(self):
        self.write(".opencode/commands/orchestra-status.md", "mine\n")
        code, out, _ = self.init("--for", "opencode")
        self.assertIn("kept .opencode/commands/orchestra-status.md: not written by orchestra; "
                      "--force replaces it", out)
        self.assertEqual(self.read(".opencode/commands/orchestra-status.md"), "mine\n")

    def test_existing_configs_are_merged_into(self):
        self.write(".mcp.json", json.dumps({"mcpServers": {"db": {"command": "db-mcp"}},
                                            "other": [1, 2]}))
        self.write(".gemini/settings.json", json.dumps({"theme": "dark"}))
        self.write("opencode.json", json.dumps({"model": "a/b", "mcp": {}}))
        self.write(".codex/config.toml", 'model = "o4"\n\n[mcp_servers.db]\ncommand = "db"\n')
        self.assertEqual(self.init("--for", "claude,gemini,opencode,codex")[0], 0)
        self.assertEqual(json.loads(self.read(".mcp.json")), {
            "mcpServers": {"db": {"command": "db-mcp"},
                           "orchestra": {"command": "orchestra", "args": ["mcp"]}},
            "other": [1, 2]})
        self.assertEqual(json.loads(self.read(".gemini/settings.json")), {
            "theme": "dark", "mcpServers": {"orchestra": {"command": "orchestra", "args": ["mcp"]}}})
        self.assertEqual(json.loads(self.read("opencode.json")), {
            "model": "a/b", "mcp": {"orchestra": {"type": "local", "command": ["orchestra", "mcp"],
                                                  "enabled": True}}})
        codex = self.read(".codex/config.toml")
        self.assertTrue(codex.startswith('model = "o4"\n\n[mcp_servers.db]\ncommand = "db"\n'))
        if tomllib:
            self.assertEqual(tomllib.loads(codex)["mcp_servers"]["orchestra"],
                             {"command": "orchestra", "args": ["mcp"]})
        # Merged once: the second run finds orchestra's entries as they should be.
        code, out, _ = self.init("--for", "claude,gemini,opencode,codex")
        self.assertIn("nothing changed", out)

    def test_an_entry_of_the_user_s_own_is_kept(self):
        self.write(".mcp.json", json.dumps({"mcpServers": {"orchestra": {"command": "/opt/orchestra"}}}))
        self.write(".codex/config.toml", '[mcp_servers.orchestra]\ncommand = "/opt/orchestra"\n')
        code, out, _ = self.init("--for", "claude,codex")
        self.assertIn("kept .mcp.json: its orchestra entry is not the one orchestra writes; "
                      "--force replaces it", out)
        self.assertIn("kept .codex/config.toml: it names an MCP server 'orchestra'", out)
        self.assertEqual(self.read(".codex/config.toml"),
                         '[mcp_servers.orchestra]\ncommand = "/opt/orchestra"\n')
        self.init("--for", "claude", "--force")
        self.assertEqual(json.loads(self.read(".mcp.json"))["mcpServers"]["orchestra"],
                         {"command": "orchestra", "args": ["mcp"]})

    def test_a_config_that_is_not_json_is_refused_and_nothing_is_changed(self):
        for rel in (".mcp.json", ".gemini/settings.json", "opencode.json"):
            with self.subTest(rel):
                shutil.rmtree(self.root)
                os.mkdir(self.root)
                self.write(rel, '{"mcpServers": {')
                code, out, err = self.init("--for", "claude,gemini,opencode")
                self.assertEqual(code, 2)
                self.assertIn(f"orchestra: {rel} is not valid JSON (", err)
                self.assertIn("nothing was changed", err)
                self.assertEqual(self.files(), {rel})
                self.assertFalse(os.path.exists(self.path(".orchestra")))
                self.assertEqual(self.read(rel), '{"mcpServers": {')


class FormatsTest(unittest.TestCase):
    """Each file as its agent reads it (see tests/test_real_commands.py for the CLIs)."""

    def test_claude_code_commands(self):
        for (path, text), (name, description, hint, *_) in zip(slash.claude(), slash.COMMANDS):
            self.assertEqual(path, f".claude/commands/orchestra/{name}.md")
            fields, body = frontmatter(text)
            self.assertEqual(fields, {"description": description, "argument-hint": hint,
                                      "allowed-tools": "Bash(orchestra:*)"})
            self.assertIn(f"orchestra {name} ", body)
            self.assertIn("$ARGUMENTS", body)

    def test_opencode_commands_and_agents(self):
        for path, text in slash.opencode():
            fields, body = frontmatter(text)
            self.assertEqual(set(fields), {"description"})
            self.assertIn("$ARGUMENTS", body)
        specs = {"opencode": {"command": "opencode"}, "mine": {"command": "opencode"},
                 "claude": {"command": "claude"}, "../out": {"command": "opencode"},
                 ".hidden": {"command": "opencode"}}
        self.assertEqual(subagents.names(specs), ["coder", "mine", "opencode", "tester"])
        for path, text in subagents.files(specs):
            fields, body = frontmatter(text)
            self.assertEqual(fields["mode"], "primary")
            self.assertEqual(fields["tools"], {"bash": True, "edit": True, "write": True})
            self.assertTrue(fields["description"].startswith("orchestra's "))
            self.assertIn(".done file", body)
            self.assertIn("orchestra wait", body)
        self.assertIn("Your role: the tester.", subagents.text("tester"))

    def test_gemini_commands(self):
        for (path, text), (name, description, *_) in zip(slash.gemini(), slash.COMMANDS):
            self.assertEqual(path, f".gemini/commands/orchestra/{name}.toml")
            if tomllib:
                data = tomllib.loads(text)
            else:  # by hand: a basic string, then a literal multi-line one
                head, prompt = text.split("\nprompt = '''\n")
                data = {"description": json.loads(head.split(" = ", 1)[1]),
                        "prompt": prompt[:-len("'''\n")]}
            self.assertEqual(set(data), {"description", "prompt"})
            self.assertEqual(data["description"], description)
            self.assertIn(f"orchestra {name} ", data["prompt"])
            self.assertIn("{{args}}", data["prompt"])
            self.assertNotIn("!{", data["prompt"])

    def test_codex_block_appends_to_a_file_without_a_final_newline(self):
        self.assertEqual(mcpconfig.codex_with_entry('model = "o4"'),
                         'model = "o4"\n\n' + mcpconfig.CODEX_BLOCK)
        self.assertTrue(mcpconfig.codex_has_entry('[mcp_servers."orchestra"]\n'))
        self.assertTrue(mcpconfig.codex_has_entry('mcp_servers.orchestra.command = "x"\n'))
        self.assertFalse(mcpconfig.codex_has_entry('[mcp_servers.orchestrator]\n'))


if __name__ == "__main__":
    unittest.main()
