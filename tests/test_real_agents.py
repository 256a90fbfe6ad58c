"""Real agent CLIs, run by their presets in a task's worktree, against stand-ins of their
providers' APIs on 127.0.0.1. They take half a minute and more, so they run only with
ORCHESTRA_REAL_AGENTS=1, as `.ci/real-agents` runs them after installing the CLIs into the
ignored .agent-clis/ folder; and each is skipped where its CLI is not installed."""

import json
import os
import shutil
import subprocess
import tempfile
import threading
import time
import unittest
from unittest import mock

from tests import anthropic_api, openai_chat_api, opencode_api
from tests.helpers import REPO, ProjectCase, pid_alive, wait_until

CLI_DIR = os.path.join(REPO, ".agent-clis", "node_modules", ".bin")
AIDER = os.path.join(REPO, ".agent-clis", "aider-venv", "bin", "aider")  # pip install aider-chat


def installed(name):
    return shutil.which(name, path=CLI_DIR) or shutil.which(name)


def escaped(cwd):
    """The pids of `sleep 300` processes running in `cwd`."""
    found = []
    for name in os.listdir("/proc"):
        try:
            with open(f"/proc/{name}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
            if argv[:2] == [b"sleep", b"300"] and os.readlink(f"/proc/{name}/cwd") == cwd:
                found.append(int(name))
        except (OSError, ValueError):
            pass
    return found


ASKED = unittest.skipUnless(os.environ.get("ORCHESTRA_REAL_AGENTS"),
                            "real agent CLIs run with ORCHESTRA_REAL_AGENTS=1 (.ci/real-agents)")


class RealAgentCase(ProjectCase):
    """A project that is a git repository with one commit, and `home`, a HOME of its own for
    the CLI (its config and state)."""

    def git(self, *args, cwd=None):
        return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com",
                               *args], cwd=cwd or self.root, capture_output=True, text=True,
                              check=True).stdout

    def setUp(self):
        super().setUp()
        self.git("init", "-q", "-b", "main")
        with open(os.path.join(self.root, "README.md"), "w") as f:
            f.write("a project\n")
        self.git("add", "README.md")
        self.git("commit", "-q", "-m", "init")
        self.home = tempfile.mkdtemp(prefix="orchestra-agent-home-")
        self.addCleanup(shutil.rmtree, self.home, True)

    def log(self, task):
        with open(os.path.join(self.root, task["log_file"]), encoding="utf-8") as f:
            return f.read()

    def cli_env(self, cli, drop=(), **extra):
        """The environment to run the CLI `cli` in: the test's with `extra`, the CLI's folder
        first on PATH, and none of the variables in `drop` (a user's settings for it)."""
        env = self.env(**extra, PATH=os.pathsep.join((os.path.dirname(installed(cli)),
                                                     os.environ["PATH"])))
        for name in drop:
            env.pop(name, None)
        return env

    def done_file(self, task_id):
        return os.path.join(self.root, ".orchestra", "tasks", task_id + ".done")

    def start_in_worktree(self, agent, prompt, env=None):
        return self.ok("start", "-q", "--worktree", agent, prompt,
                       env=env or self.agent_env).strip()

    def run_task(self, agent, prompt, env=None, timeout=180):
        """Start a task in a worktree and `run --wait` it: (the run, the task, its log)."""
        env = env or self.agent_env
        task_id = self.start_in_worktree(agent, prompt, env)
        run = self.run_cli("run", "--wait", env=env, timeout=timeout)
        task = self.task(task_id)
        return run, task, self.log(task)

    def limited_then_resumed(self, agent, prompt="write hello.txt"):
        """park_then_resume a task whose first run meets the stand-in `self.api` limited:
        (the task when parked, the task at the end, its log)."""
        self.api.server.limited = True
        task_id = self.start_in_worktree(agent, prompt)
        parked, task = self.park_then_resume(
            task_id, self.agent_env, lambda: setattr(self.api.server, "limited", False))
        return parked, task, self.log(task)

    def park_then_resume(self, task_id, env, release, timeout=240):
        """Supervise the queue in this process until it drains, with a clock that jumps ten
        minutes on once the task is parked on a usage limit (as if its reset had come): the
        next run is the resumed one. `release()` is called at the park, to let the stand-in
        answer again. Returns (the task when parked, the task at the end)."""
        from orchestra import lease
        from orchestra.paths import Layout
        from orchestra.store import Store
        from orchestra.supervisor import Supervisor
        layout = Layout(self.root)
        parked = []

        def notify(before, after):
            if after.reason == "limit" and not parked:
                parked.append(dict(after.data))
                release()

        def clock():
            return time.time() + (600 if parked else 0)

        lock = lease.lock_for(layout)
        self.assertTrue(lock.acquire(timeout=0))
        self.addCleanup(lambda: lock.held and lock.release())
        sup = Supervisor(layout, lock, 1, clock=clock, notify=notify)
        # The agents it starts get exactly the test's environment.
        with mock.patch.dict(os.environ, env, clear=True):
            runner = threading.Thread(target=sup.run, daemon=True)
            runner.start()
            runner.join(timeout)
            sup.stop_requested = runner.is_alive()
            runner.join(30)
        self.assertFalse(runner.is_alive(), "the supervisor did not drain")
        lock.release()
        task = Store(layout).get(task_id).data
        self.assertTrue(parked, f"the task was never parked on a limit:\n{self.log(task)}")
        return parked[0], task

    def assert_resumed(self, parked, task, log):
        """The task completed at its second run, parked once on a limit, not retried, in the
        session its first run began."""
        self.assertEqual((task["status"], task["limits"], task["retries"], task["attempt"]),
                         ("completed", 1, 0, 2), log)
        self.assertTrue(parked["session_id"], parked)
        self.assertEqual(task["session_id"], parked["session_id"])

    def assert_asked_twice_and_wrote(self, task):
        """Of a task resumed against tests/opencode_api.py's stand-in: the last request sent
        the model the first prompt again with the new one, and the resumed run could write,
        in its worktree and the .done outside it."""
        last = self.api.requests[-1]["messages"]
        asked = [m for m in last if m.get("role") == "user"
                 and "write hello.txt" in opencode_api._text(m)]
        self.assertEqual(len(asked), 2, last)
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), opencode_api.FILE_TEXT)
        self.assertTrue(os.path.exists(self.done_file(task["id"])))

    def assert_escaped_gone(self, task, how):
        """The pid file the escaped process wrote, committed at the run's end, names a process
        that is gone."""
        pid = int(self.git("show", f"{task['branch']}:escaped.pid").strip())
        self.assertFalse(pid_alive(pid), f"the escaped process {pid} outlived the {how}")

    def time_out_once_escaped(self, task_id, env=None):
        """Run the task in the background; once its tool's escaped process has written its
        pid, time the task out (due at once, counted from its start): it fails so, and that
        process is gone. (escape_then_end finds the process by /proc instead.)"""
        env = env or self.agent_env
        self.ok("run", env=env)
        pid_file = os.path.join(self.root, ".orchestra", "worktrees", task_id, "escaped.pid")
        wait_until(lambda: os.path.exists(pid_file) and os.path.getsize(pid_file), 90,
                   message="the escaped process")
        self.ok("timeout", task_id, "1", env=env)
        wait_until(lambda: self.task(task_id)["status"] != "running", 30, message="the timeout")
        task = self.task(task_id)
        self.assertEqual((task["status"], task["reason"]), ("failed", "timeout"), task)
        self.assert_escaped_gone(task, "timeout")

    def assert_parked_far(self, parked, wait):
        """The park waits `wait` s: the reset the API named, or where the agent does not say
        it, orchestra's first guess (5 minutes)."""
        from orchestra.clock import parse_iso
        self.assertEqual(parked["status"], "pending", parked)
        self.assertAlmostEqual(parse_iso(parked["not_before"]) - time.time(), wait, delta=120)

    def escape_then_end(self, task_id, how, env=None):
        """Run the task in the background until the process its tool started in a session of
        its own (`sleep 300`, see the stand-ins' ESCAPE) runs in its worktree, then end the
        run by `how` ("cancel" or "timeout"): the task ends so, and that process is gone too.
        The process is found by its command and cwd: the pid it wrote to escaped.pid is one
        of a PID namespace of its own where a sandbox (Codex's) gives it one."""
        env = env or self.agent_env
        worktree = os.path.join(self.root, ".orchestra", "worktrees", task_id)
        self.ok("run", env=env)
        wait_until(lambda: os.path.exists(os.path.join(worktree, "escaped.pid"))
                   and escaped(worktree), 120, message="the escaped process")
        pids = escaped(worktree)
        if how == "cancel":
            self.ok("cancel", task_id, env=env)
        else:
            self.ok("timeout", task_id, "1", env=env)  # due at once, counted from its start
        wait_until(lambda: self.task(task_id)["status"] != "running", 30, message="the end")
        task = self.task(task_id)
        expected = ("cancelled", None) if how == "cancel" else ("failed", "timeout")
        self.assertEqual((task["status"], task["reason"]), expected, task)
        self.assertEqual([p for p in pids if pid_alive(p)], [],
                         f"the escaped processes outlived the {how}")
        return task


@ASKED
@unittest.skipUnless(shutil.which("git"), "needs git")
@unittest.skipUnless(installed("claude"), "Claude Code is not installed (see the docstring)")
class ClaudeInAWorktreeTest(RealAgentCase):
    def setUp(self):
        super().setUp()
        self.api = anthropic_api.StandIn()
        self.addCleanup(self.api.close)
        self.agent_env = self.cli_env(
            "claude", drop=("ANTHROPIC_AUTH_TOKEN", "CLAUDE_CONFIG_DIR", "CLAUDECODE"),
            ANTHROPIC_BASE_URL=self.api.url, ANTHROPIC_API_KEY="sk-standin", HOME=self.home,
            IS_SANDBOX="1")  # as root, bypassPermissions is refused without it

    def test_the_preset_runs_in_the_task_s_worktree_and_writes_the_protocol_files(self):
        before = self.git("status", "--porcelain")  # the test's own .orchestra-cli/
        run, task, log = self.run_task("claude", "write hello.txt", timeout=120)
        task_id = task["id"]
        self.assertEqual((run.returncode, task["status"]), (0, "completed"),
                         run.stdout + run.stderr + log)

        # The agent ran in the worktree: what its Bash tool wrote is on the task's branch.
        worktree = os.path.join(self.root, *task["worktree"].split("/"))
        self.assertIn(worktree, json.dumps(self.api.requests[0]))
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), anthropic_api.FILE_TEXT)
        self.assertEqual(task["changes"][0], 1)
        # ... and its Write tool created the .done in the project's .orchestra/, outside it.
        self.assertEqual(self.api.tool_results()["toolu_done"][0], False,
                         self.api.tool_results())
        with open(self.done_file(task_id)) as f:
            self.assertEqual(f.read().strip(), anthropic_api.SUMMARY)
        # The main worktree is untouched.
        self.assertFalse(os.path.exists(os.path.join(self.root, "hello.txt")))
        self.assertEqual(self.git("status", "--porcelain"), before)
        self.assertEqual(self.git("branch", "--show-current").strip(), "main")
        # The stream of its run reads as a line per step; --raw gives the JSON lines.
        shown = self.ok("logs", task_id, env=self.agent_env)
        self.assertIn("⚙ Bash ", shown)
        self.assertIn("✔ success: ", shown)
        self.assertNotIn('{"type":', shown)
        self.assertIn('{"type":"result"', self.ok("logs", "--raw", task_id, env=self.agent_env))
        self.assertIsNotNone(task["session_id"])

    def test_an_api_error_fails_with_the_agent_s_message(self):
        task_id = self.ok("start", "-q", "--no-worktree", "claude", "API_ERROR please",
                          env=self.agent_env).strip()
        self.run_cli("run", "--wait", env=self.agent_env, timeout=120)
        task = self.task(task_id)
        self.assertEqual((task["status"], task["reason"]), ("failed", "agent_error"), task)
        self.assertIn(anthropic_api.API_ERROR, task["error"])

    def test_a_timeout_ends_what_its_tools_started_in_a_session_of_their_own(self):
        task_id = self.ok("start", "-q", "--worktree", "--timeout", "4", "claude", "ESCAPE now",
                          env=self.agent_env).strip()
        self.run_cli("run", "--wait", env=self.agent_env, timeout=120)
        task = self.task(task_id)
        self.assertEqual((task["status"], task["reason"]), ("failed", "timeout"), task)
        # The run's end committed the pid file the escaped process wrote.
        self.assert_escaped_gone(task, "timeout")

    def test_a_cancel_ends_what_its_tools_started_in_a_session_of_their_own(self):
        self.escape_then_end(self.start_in_worktree("claude", "ESCAPE now"), "cancel")

    def test_a_usage_limit_parks_the_task_and_the_resumed_session_can_write(self):
        parked, task, log = self.limited_then_resumed("claude")
        # Claude 2.1 gives up on a 429 whose retry-after is this far at once, saying
        # "API Error: Request rejected (429)" without the time: the park is orchestra's guess.
        self.assert_parked_far(parked, 300)
        self.assertIn(anthropic_api.RATE_LIMIT, parked["error"])
        # The second run resumed the first one's session: Claude sent the first prompt again
        # with the new one, and its init event named the same session.
        self.assert_resumed(parked, task, log)
        first = log[:log.rindex("\n=== orchestra:")]
        self.assertIn(f'"session_id":"{parked["session_id"]}"', log[len(first):])
        last = self.api.requests[-1]["messages"]
        asked = [t for m in last if m.get("role") == "user" for t in anthropic_api._texts(m)
                 if t.startswith("write hello.txt")]
        self.assertEqual(len(asked), 2, last)
        # ... and could write: in its worktree, and the .done outside it.
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), anthropic_api.FILE_TEXT)
        self.assertTrue(os.path.exists(self.done_file(task["id"])))


@ASKED
@unittest.skipUnless(shutil.which("git"), "needs git")
@unittest.skipUnless(os.access(AIDER, os.X_OK), f"Aider is not installed at {AIDER}")
class AiderInAWorktreeTest(ProjectCase):
    git = RealAgentCase.git

    def setUp(self):
        super().setUp()
        self.git("init", "-q", "-b", "main")
        with open(os.path.join(self.root, ".gitignore"), "w") as f:
            f.write(".orchestra/\n")  # where Aider refused to write the protocol files
        self.git("add", ".gitignore")
        self.git("commit", "-q", "-m", "init")
        self.api = openai_chat_api.StandIn()
        self.addCleanup(self.api.close)
        home = tempfile.mkdtemp(prefix="orchestra-aider-home-")
        self.addCleanup(shutil.rmtree, home, True)
        # A user with a name, as people are: without one, each Aider writes it into the
        # repository's config, which parallel worktrees share (its lock then fails one).
        with open(os.path.join(home, ".gitconfig"), "w") as f:
            f.write("[user]\n\tname = t\n\temail = t@example.com\n")
        # Aider fetches model prices unless its cache (a day old at most) knows the model.
        os.makedirs(os.path.join(home, ".aider", "caches"))
        with open(os.path.join(home, ".aider", "caches", "model_prices_and_context_window.json"),
                  "w") as f:
            json.dump({"openai/standin": {"max_input_tokens": 128000, "max_output_tokens": 4096,
                                          "input_cost_per_token": 0.0001,
                                          "output_cost_per_token": 0.0,
                                          "litellm_provider": "openai", "mode": "chat"}}, f)
        self.agent_env = self.env(
            HOME=home, OPENAI_API_BASE=self.api.url, OPENAI_API_KEY="sk-standin",
            AIDER_MODEL="openai/standin", AIDER_CHECK_UPDATE="false", AIDER_ANALYTICS="false",
            LITELLM_LOCAL_MODEL_COST_MAP="True",
            GIT_AUTHOR_NAME="t", GIT_AUTHOR_EMAIL="t@example.com",
            GIT_COMMITTER_NAME="t", GIT_COMMITTER_EMAIL="t@example.com",
            PATH=os.pathsep.join((os.path.dirname(AIDER), os.environ["PATH"])))

    def test_an_edit_lands_on_the_branch_and_an_api_error_fails_the_task(self):
        # Both in one run: Aider takes seconds to start, the two start side by side.
        edit = self.ok("start", "-q", "aider", "create hello.txt", env=self.agent_env).strip()
        error = self.ok("start", "-q", "aider", "create hello.txt standin-400",
                        env=self.agent_env).strip()
        run = self.run_cli("run", "--wait", "--parallel", "2", env=self.agent_env, timeout=120)
        tasks = {name: self.task(task_id) for name, task_id in (("edit", edit), ("error", error))}
        logs = {}
        for name, task in tasks.items():
            with open(os.path.join(self.root, task["log_file"])) as f:
                logs[name] = f.read()
        why = run.stdout + run.stderr + json.dumps(tasks, indent=1) + "".join(logs.values())

        task = tasks["edit"]
        self.assertEqual(task["status"], "completed", why)
        self.assertEqual((task["tokens_in"], task["tokens_out"]),
                         (openai_chat_api.TOKENS_IN, openai_chat_api.TOKENS_OUT), why)
        self.assertAlmostEqual(task["cost_usd"], 0.01, msg=why)
        self.assertEqual(self.git("show", f"{task['branch']}:hello.txt"), openai_chat_api.FILE_TEXT)
        # Aider committed nothing itself: the branch holds orchestra's one commit of the work,
        # and nothing of .orchestra/ or the user's branch.
        commits = self.git("log", "--format=%s", f"main..{task['branch']}").splitlines()
        self.assertEqual(len(commits), 1, commits)
        files = self.git("diff", "--name-only", f"main...{task['branch']}").split()
        self.assertEqual(sorted(files), [".gitignore", "hello.txt"])  # Aider ignores its .aider*
        self.assertEqual(self.git("log", "--format=%s", "main").splitlines(), ["init"])

        task = tasks["error"]
        self.assertEqual((task["status"], task["reason"]), ("failed", "agent_error"), why)
        self.assertIn(openai_chat_api.BAD_REQUEST, task["error"])
        self.assertIn("litellm.BadRequestError", task["error"])

    def test_a_cancel_ends_it_while_it_retries_a_rate_limit(self):
        # Its shell tool starts nothing headless (--yes-always answers no to "Run shell
        # command?"): what a cancel must end is Aider itself, here sleeping between retries.
        task_id = self.ok("start", "-q", "aider", "create hello.txt standin-429",
                          env=self.agent_env).strip()
        self.ok("run", env=self.agent_env)
        log = os.path.join(self.root, ".orchestra", "logs", task_id + ".log")

        def retrying():
            with open(log, encoding="utf-8") as f:
                return "RateLimitError" in f.read()
        wait_until(lambda: os.path.exists(log) and retrying(), 90, message="Aider's retry")
        pid = self.task(task_id)["pid"]
        self.ok("cancel", task_id, env=self.agent_env)
        wait_until(lambda: self.task(task_id)["status"] != "running", 30, message="the cancel")
        self.assertEqual(self.task(task_id)["status"], "cancelled")
        self.assertFalse(pid_alive(pid), f"Aider ({pid}) outlived the cancel")


if __name__ == "__main__":
    unittest.main()
