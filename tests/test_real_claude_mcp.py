"""The real Claude Code CLI driving orchestra through `orchestra mcp`: its (scripted) model
calls the MCP `start` tool, and the sub-task it queued runs. Against the stand-in of the
Anthropic API (tests/anthropic_api.py); only with ORCHESTRA_REAL_AGENTS=1, and skipped where
Claude Code is not installed."""

import json
import os
import subprocess
import sys
import unittest

from tests import anthropic_api
from tests.helpers import REPO, ProjectCase
from tests.test_real_agents import ASKED, installed


@ASKED
@unittest.skipUnless(installed("claude"), "Claude Code is not installed (see test_real_agents)")
class ClaudeCallsTheMcpServerTest(ProjectCase):
    def setUp(self):
        super().setUp()
        import shutil
        import tempfile
        self.api = anthropic_api.StandIn()
        self.addCleanup(self.api.close)
        home = tempfile.mkdtemp(prefix="orchestra-agent-home-")
        self.addCleanup(shutil.rmtree, home, True)
        self.agent_env = self.env(
            ANTHROPIC_BASE_URL=self.api.url, ANTHROPIC_API_KEY="sk-standin", HOME=home,
            DISABLE_AUTOUPDATER="1", CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC="1")
        for name in ("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CONFIG_DIR", "CLAUDECODE"):
            self.agent_env.pop(name, None)

    def test_the_model_queues_a_sub_task_with_the_start_tool_and_it_runs(self):
        config = os.path.join(self.root, "mcp.json")
        with open(config, "w") as f:
            json.dump({"mcpServers": {"orchestra": {
                "command": sys.executable, "args": ["-m", "orchestra", "mcp"],
                "env": {"PYTHONPATH": REPO}}}}, f)
        done = subprocess.run(
            [installed("claude"), "-p", "QUEUE_SUBTASK: hand the work to another agent",
             "--output-format", "json", "--mcp-config", config, "--strict-mcp-config",
             "--allowedTools", anthropic_api.MCP_START],
            cwd=self.root, env=self.agent_env, capture_output=True, text=True, timeout=120,
            stdin=subprocess.DEVNULL)
        why = done.stdout + done.stderr
        self.assertEqual(done.returncode, 0, why)
        offered = {t.get("name") for body in self.api.requests for t in body.get("tools") or ()}
        self.assertIn(anthropic_api.MCP_START, offered, why)
        is_error, text = self.api.tool_results()["toolu_queue"]
        self.assertFalse(is_error, text)
        self.assertIn(text, json.loads(done.stdout)["result"])

        tasks = json.loads(self.ok("status", "--json"))
        self.assertEqual([(t["agent"], t["prompt"]) for t in tasks],
                         [("fake", anthropic_api.SUBTASK_PROMPT)], why)
        self.assertIn(tasks[0]["id"], text)  # the tool told the model the id
        self.ok("run", "--wait", timeout=60)
        self.assertEqual(self.status_of(tasks[0]["id"]), "completed")


if __name__ == "__main__":
    unittest.main()
