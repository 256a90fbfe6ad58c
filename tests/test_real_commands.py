"""The slash commands `init --for` writes, loaded by the real Claude Code and Gemini CLI (against
stand-ins of their APIs on 127.0.0.1): each is found by the name README gives, and the
user's arguments reach the model in the command line it is told to run. Run with
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


if __name__ == "__main__":
    unittest.main()
