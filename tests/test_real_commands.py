"""What `init --for` writes, loaded by the real CLIs: Claude Code's and Gemini CLI's slash
commands (against stand-ins of their APIs on 127.0.0.1) are found by the names README gives,
and the user's arguments reach the model in the command line it is told to run; each CLI's
`mcp list` names the orchestra server from the project's config. Run with
ORCHESTRA_REAL_AGENTS=1; each is skipped where its CLI is not installed."""

import json
import os
import shutil
import subprocess
import unittest

from tests import anthropic_api, gemini_api
from tests.test_real_agents import ASKED, RealAgentCase, installed
from tests.test_real_gemini import SETTINGS
from orchestra import slash


@ASKED
@unittest.skipUnless(installed("claude"), "Claude Code is not installed")
class ClaudeLoadsTheCommandsTest(RealAgentCase):
    def test_each_command_is_orchestra_colon_name_and_takes_the_arguments(self):
        self.ok("init", "--for", "claude")
        api = anthropic_api.StandIn()
        self.addCleanup(api.close)
        env = self.env(ANTHROPIC_BASE_URL=api.url, ANTHROPIC_API_KEY="sk-standin", HOME=self.home,
                       DISABLE_AUTOUPDATER="1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
        for name in ("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CONFIG_DIR", "CLAUDECODE"):
            env.pop(name, None)
        run = subprocess.run([installed("claude"), "-p", "/orchestra:status --all",
                              "--output-format", "stream-json", "--verbose"], cwd=self.root,
                             env=env, stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=120)
        events = [json.loads(line) for line in run.stdout.splitlines() if line.startswith("{")]
        init = next((e for e in events if e.get("subtype") == "init"), None)
        self.assertIsNotNone(init, run.stdout + run.stderr)
        for name, *_ in slash.COMMANDS:
            self.assertIn(f"orchestra:{name}", init["slash_commands"])
        asked = json.dumps(api.requests)
        self.assertIn("orchestra status --all", asked)
        self.assertIn("Summarise the table", asked)


@ASKED
@unittest.skipUnless(installed("gemini"), "Gemini CLI is not installed")
class GeminiLoadsTheCommandsTest(RealAgentCase):
    def test_a_command_is_orchestra_colon_name_and_takes_the_arguments(self):
        self.ok("init", "--for", "gemini")
        os.mkdir(os.path.join(self.home, ".gemini"))
        with open(os.path.join(self.home, ".gemini", "settings.json"), "w") as f:
            json.dump(SETTINGS, f)
        api = gemini_api.StandIn()
        self.addCleanup(api.close)
        env = self.env(HOME=self.home, GEMINI_API_KEY="standin-key",
                       GOOGLE_GEMINI_BASE_URL=api.url, GEMINI_CLI_TRUST_WORKSPACE="true")
        for name in ("GOOGLE_API_KEY", "GOOGLE_CLOUD_PROJECT", "GOOGLE_GENAI_USE_VERTEXAI",
                     "GOOGLE_APPLICATION_CREDENTIALS"):
            env.pop(name, None)
        run = subprocess.run([installed("gemini"), "-p", "/orchestra:show abcd",
                              "--output-format", "json"], cwd=self.root, env=env,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=120)
        asked = json.dumps(api.requests)
        self.assertIn("orchestra show abcd", asked, run.stdout + run.stderr)
        self.assertIn("how far its plan got", asked)


@ASKED
class McpRegistrationTest(RealAgentCase):
    """`CLI mcp list` in the project, with a HOME of its own: the server is `orchestra mcp`
    (not running it: `orchestra` need not be on PATH here)."""

    def listed(self, agent, argv, **extra):
        if not installed(agent):
            self.skipTest(f"{agent} is not installed")
        self.ok("init", "--for", agent)
        env = self.env(HOME=self.home, **extra)
        run = subprocess.run([installed(agent), *argv], cwd=self.root, env=env,
                             stdin=subprocess.DEVNULL, capture_output=True, text=True,
                             timeout=120)
        return run

    def test_claude_code(self):
        run = self.listed("claude", ["mcp", "list"])
        out = run.stdout + run.stderr
        self.assertIn("orchestra: orchestra mcp", out)

    def test_gemini_cli(self):
        os.mkdir(os.path.join(self.home, ".gemini"))
        with open(os.path.join(self.home, ".gemini", "settings.json"), "w") as f:
            json.dump(SETTINGS, f)
        run = self.listed("gemini", ["mcp", "list"], GEMINI_API_KEY="standin-key",
                          GEMINI_CLI_TRUST_WORKSPACE="true")
        out = run.stdout + run.stderr
        self.assertIn("orchestra: orchestra mcp (stdio)", out)

    def test_codex_in_a_trusted_project(self):
        codex_home = os.path.join(self.home, "codex")
        os.mkdir(codex_home)
        with open(os.path.join(codex_home, "config.toml"), "w") as f:
            f.write(f"[projects.{json.dumps(os.path.realpath(self.root))}]\n"
                    'trust_level = "trusted"\n')
        run = self.listed("codex", ["mcp", "list", "--json"], CODEX_HOME=codex_home)
        servers = json.loads(run.stdout)
        self.assertEqual([(s["name"], s["transport"]["command"], s["transport"]["args"])
                          for s in servers], [("orchestra", "orchestra", ["mcp"])], run.stderr)

    def test_opencode(self):
        state = {name: os.path.join(self.home, name.lower()) for name in
                 ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME", "XDG_STATE_HOME")}
        run = self.listed("opencode", ["mcp", "list"], OPENCODE_DISABLE_MODELS_FETCH="1",
                          OPENCODE_DISABLE_AUTOUPDATE="1", npm_config_registry="http://127.0.0.1:9/",
                          **state)
        out = run.stdout + run.stderr
        self.assertIn("orchestra", out)
        self.assertIn("orchestra mcp", out)


if __name__ == "__main__":
    unittest.main()
