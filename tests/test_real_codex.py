"""The real Codex CLI, run by its preset in a task's worktree against a stand-in of OpenAI's
Responses API on 127.0.0.1 (tests/openai_api.py). Run with ORCHESTRA_REAL_AGENTS=1
(`.ci/real-agents`); skipped where Codex is not installed."""

import json
import os
import shutil
import tempfile
import threading
import time
import unittest

from orchestra import agents, lease
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.supervisor import Supervisor
from tests import openai_api
from tests.helpers import git, init_repo, main_in_process
from tests.test_real_agents import ASKED, RealAgentCase, installed

CONFIG = """model = "standin"
model_provider = "standin"

[model_providers.standin]
name = "standin"
base_url = "{url}"
env_key = "STANDIN_API_KEY"
wire_api = "responses"

# The project is in /tmp, which the sandbox lets commands write by default: without it only
# the cwd (the worktree) and --add-dir are writable, as for a project anywhere else.
[sandbox_workspace_write]
exclude_slash_tmp = true
exclude_tmpdir_env_var = true
"""


@ASKED
@unittest.skipUnless(shutil.which("git"), "needs git")
@unittest.skipUnless(installed("codex"), "Codex is not installed (see the docstring)")
class CodexTest(unittest.TestCase):
    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-codex-")
        self.addCleanup(shutil.rmtree, self.root, True)
        init_repo(self.root, {"README.md": "a project\n"})
        self.api = openai_api.StandIn()
        self.addCleanup(self.api.close)
        home = tempfile.mkdtemp(prefix="orchestra-codex-home-")
        self.addCleanup(shutil.rmtree, home, True)
        with open(os.path.join(home, "config.toml"), "w") as f:
            f.write(CONFIG.format(url=self.api.url))
        spec = dict(agents.PRESETS["codex"], command=installed("codex"),
                    env={"CODEX_HOME": home, "HOME": home, "STANDIN_API_KEY": "sk-standin"})
        os.makedirs(os.path.join(self.root, ".orchestra-cli"))
        with open(os.path.join(self.root, ".orchestra-cli", "agent-config.json"), "w") as f:
            json.dump({"agents": {"codex": spec}}, f)
        self.layout = Layout(self.root)
        self.store = Store(self.layout)
        code, out, err = main_in_process(self.root, "start", "-q", "codex", "write hello.txt")
        self.assertEqual(code, 0, err)
        self.task_id = out.strip()

    def supervise(self, clock=time.time, notify=None):
        lock = lease.lock_for(self.layout)
        self.assertTrue(lock.acquire(timeout=0))
        self.addCleanup(lambda: lock.held and lock.release())
        sup = Supervisor(self.layout, lock, 1, clock=clock, notify=notify)
        runner = threading.Thread(target=sup.run, daemon=True)
        runner.start()
        runner.join(60)
        sup.stop_requested = runner.is_alive()
        runner.join(15)
        self.assertFalse(runner.is_alive(), "the supervisor did not drain")
        lock.release()
        return self.store.get(self.task_id)

    def log(self, task):
        with open(self.layout.log_file(task.id), encoding="utf-8") as f:
            return f.read()

    def assert_wrote_its_work(self, task):
        log = self.log(task)
        self.assertEqual((task.status, task.reason), ("completed", None), log)
        # What its exec_command tool wrote in the worktree is on the task's branch ...
        self.assertEqual(git(self.root, "show", f"{task.branch}:hello.txt"),
                         openai_api.FILE_TEXT)
        self.assertFalse(os.path.exists(os.path.join(self.root, "hello.txt")))
        # ... and the .done outside the worktree was written through --add-dir.
        outputs = self.api.tool_outputs()
        self.assertIn("exited with code 0", outputs.get("call_done", ""), outputs)
        with open(self.layout.sentinel(task.id, "done")) as f:
            self.assertEqual(f.read().strip(), openai_api.SUMMARY)
        return log

    def test_a_protocol_following_task_completes_with_its_session_and_tokens(self):
        task = self.supervise()
        log = self.assert_wrote_its_work(task)
        thread = json.loads(next(line for line in log.splitlines()
                                 if '"thread.started"' in line))["thread_id"]
        usage = openai_api.USAGE
        self.assertEqual((task.session_id, task.tokens_in, task.tokens_out),
                         (thread, 3 * usage["input_tokens"], 3 * usage["output_tokens"]))

    def test_an_api_error_fails_the_task_with_the_agent_s_message(self):
        self.api.fail(400, {"message": openai_api.BAD_REQUEST, "type": "invalid_request_error",
                            "param": None, "code": None})
        task = self.supervise()
        self.assertEqual((task.status, task.reason, task.error, task.exit_code),
                         ("failed", "agent_error", openai_api.BAD_REQUEST, 1), self.log(task))

    def test_a_usage_limit_parks_the_task_and_the_resumed_session_can_write(self):
        # Codex's own answer to this 429 is "... try again at 7:45 PM." and exit 1, no retry.
        self.api.fail(429, {"type": "usage_limit_reached", "message": "usage limit reached",
                            "plan_type": "plus", "resets_at": int(time.time()) + 90,
                            "resets_in_seconds": 90})
        store = self.store

        def clock():  # past the reset once the limit has parked the task
            parked = store.get(self.task_id).reason == "limit"
            return time.time() + (300 if parked else 0)

        parked = []
        task = self.supervise(clock, notify=lambda before, after: after.reason == "limit"
                              and parked.append((after.status, after.ready_at(), time.time())))
        # Parked until the end of the minute Codex named, not for a day.
        (status, ready_at, when), = parked
        self.assertEqual(status, "pending")
        self.assertLess(ready_at, when + 90 + 60)
        log = self.log(task)
        first = log[:log.rindex("\n=== orchestra:")]
        self.assertIn("try again at", first)
        self.assertEqual((task.limits, task.retries, task.attempt), (1, 0, 2), log)
        # The second run resumed the first one's session, with the preset's sandbox flags.
        session = json.loads(next(line for line in first.splitlines()
                                  if '"thread.started"' in line))["thread_id"]
        self.assertEqual(task.session_id, session)
        self.assertIn(f'"thread.started","thread_id":"{session}"', log[len(first):])
        resumed = self.api.requests[-1]["input"]
        self.assertEqual(sum(text.startswith("write hello.txt") for text in openai_api.user_texts(resumed)), 2)
        self.assert_wrote_its_work(task)


@ASKED
@unittest.skipUnless(shutil.which("git"), "needs git")
@unittest.skipUnless(installed("codex"), "Codex is not installed (see the docstring)")
class CodexEscapeTest(RealAgentCase):
    """What Codex's exec_command starts in a session of its own ends with the run."""

    def setUp(self):
        super().setUp()
        self.api = openai_api.StandIn()
        self.addCleanup(self.api.close)
        with open(os.path.join(self.home, "config.toml"), "w") as f:
            f.write(CONFIG.format(url=self.api.url))
        self.write_config({"codex": dict(
            agents.PRESETS["codex"], command=installed("codex"),
            env={"CODEX_HOME": self.home, "HOME": self.home, "STANDIN_API_KEY": "sk-standin"})})

    def end_by(self, how):
        task_id = self.ok("start", "-q", "--worktree", "codex", "ESCAPE now").strip()
        self.escape_then_end(task_id, how, self.env())

    def test_a_timeout_ends_what_its_shell_tool_started_in_a_session_of_its_own(self):
        self.end_by("timeout")

    def test_a_cancel_ends_what_its_shell_tool_started_in_a_session_of_its_own(self):
        self.end_by("cancel")


if __name__ == "__main__":
    unittest.main()
