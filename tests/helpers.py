"""Shared test plumbing: a throw-away project directory and a way to run orchestra in it."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from orchestra import process

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
FAKE_AGENT = os.path.join(REPO, "tests", "fake_agent.py")


def wait_until(condition, timeout=10.0, interval=0.05, message="condition"):
    """Poll `condition` until it returns a truthy value; fail the test after `timeout` s."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {message}")
        time.sleep(interval)


def row_of(task_id, text):
    """The line of a table (or tree) in `text` whose first cell names task_id as tables do:
    an abbreviation (orchestra.ids) or the whole id; None if there is none."""
    for line in text.splitlines():
        cell = line.strip().split(" ", 1)[0]
        if cell == task_id or (len(cell) >= 4 and task_id[19:].startswith(cell)):
            return line
    return None


def settings_project(case, settings):
    """A throw-away project whose .orchestra/config.json holds `settings`; its Layout."""
    from orchestra.paths import Layout
    root = tempfile.mkdtemp(prefix="orchestra-test-")
    case.addCleanup(shutil.rmtree, root, True)
    layout = Layout(root)
    os.makedirs(layout.state)
    with open(layout.settings, "w") as f:
        json.dump(settings, f)
    return layout


def fill_disk(path):
    """Write `path` until its file system is full."""
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def pid_alive(pid):
    """True if pid runs (a zombie counts as gone)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except FileNotFoundError:
        return False


class ProjectCase(unittest.TestCase):
    """Each test gets its own project root with the fake agent configured."""

    agents = None  # extra agent specs: name -> spec

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(self._cleanup)
        config = {"fake": {"command": sys.executable, "args": ["-S", FAKE_AGENT, "{prompt}"],
                           "promptTemplate": "{prompt}"}}
        config.update(self.agents or {})
        self.write_config(config)

    def write_config(self, agents):
        os.makedirs(os.path.join(self.root, ".orchestra-cli"), exist_ok=True)
        with open(os.path.join(self.root, ".orchestra-cli", "agent-config.json"), "w") as f:
            json.dump({"agents": agents}, f)

    def env(self, **extra):
        env = {k: v for k, v in os.environ.items() if not k.startswith("ORCHESTRA_")}
        env.update(PYTHONPATH=REPO, NO_COLOR="1", COLUMNS="200", ORCHESTRA_NO_REGISTER="1")
        env.pop("FORCE_COLOR", None)
        env.update(extra)
        return env

    def run_cli(self, *args, input=None, timeout=60, cwd=None, env=None):
        return subprocess.run([sys.executable, "-S", "-m", "orchestra", *args], cwd=cwd or self.root,
                              env=env or self.env(), input=input, capture_output=True, text=True,
                              timeout=timeout)

    def ok(self, *args, **kw):
        """Run and require exit 0; returns stdout."""
        r = self.run_cli(*args, **kw)
        self.assertEqual(r.returncode, 0, f"orchestra {' '.join(args)} failed:\n{r.stdout}{r.stderr}")
        return r.stdout

    def start(self, prompt, *flags, agent="fake"):
        return self.ok("start", "-q", agent, prompt, *flags).strip()

    def task(self, task_id):
        with open(os.path.join(self.root, ".orchestra", "tasks", task_id + ".json")) as f:
            return json.load(f)

    def status_of(self, task_id):
        """The task's status after letting `status` settle what it can."""
        return json.loads(self.ok("status", "--json", task_id))[0]["status"]

    def wait_status(self, task_id, status, timeout=15):
        return wait_until(lambda: self.status_of(task_id) == status, timeout,
                          message=f"{task_id} to be {status}")

    def supervisor_pid(self):
        try:
            with open(os.path.join(self.root, ".orchestra", "supervisor.json")) as f:
                return json.load(f).get("pid")
        except (OSError, ValueError):
            return None

    def tmpfs_project(self, size="1m"):
        """Move this project onto a fresh tmpfs of `size` (for full-disk tests): the agent
        config comes along, the old root goes. Returns the new root; skips the test unless
        run as root where tmpfs can be mounted."""
        if not hasattr(os, "geteuid") or os.geteuid() != 0:
            raise unittest.SkipTest("mounting a tmpfs needs root")
        mount = tempfile.mkdtemp(prefix="orchestra-tmpfs-")
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", mount],
                           capture_output=True, text=True)
        if r.returncode != 0:
            os.rmdir(mount)
            raise unittest.SkipTest(f"cannot mount a tmpfs: {r.stderr.strip()}")
        self.addCleanup(os.rmdir, mount)
        # Cleanups run last first: the processes are stopped before the unmount.
        self.addCleanup(subprocess.run, ["umount", "-l", mount])
        self.addCleanup(self._stop_processes)
        shutil.copytree(os.path.join(self.root, ".orchestra-cli"),
                        os.path.join(mount, ".orchestra-cli"))
        shutil.rmtree(self.root)
        self.root = mount
        return mount

    def _cleanup(self):
        self._stop_processes()
        shutil.rmtree(self.root, ignore_errors=True)

    def _stop_processes(self):
        # Leave no process behind: the supervisor first, then every task's tree.
        pid = self.supervisor_pid()
        if pid:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        tasks = os.path.join(self.root, ".orchestra", "tasks")
        if os.path.isdir(tasks):
            for name in os.listdir(tasks):
                if name.endswith(".json"):
                    try:
                        with open(os.path.join(tasks, name)) as f:
                            data = json.load(f)
                        if data.get("status") == "running":
                            run_id = f"{data['id']}.{data.get('attempt')}"
                            process.kill_run(data.get("pid"), data.get("pid_start"), run_id,
                                             grace=0)
                            # Its cgroup, which no orchestra process is left to remove, goes
                            # once init has reaped the killed wrapper.
                            deadline = time.monotonic() + 2
                            process.release_run(run_id)
                            while (process.LINUX and process.linux.find(run_id) is not None
                                   and time.monotonic() < deadline):
                                time.sleep(0.02)
                                process.release_run(run_id)
                    except (OSError, ValueError, KeyError):
                        pass


GIT_ENV = {"GIT_AUTHOR_NAME": "Test", "GIT_AUTHOR_EMAIL": "test@example.com",
           "GIT_COMMITTER_NAME": "Test", "GIT_COMMITTER_EMAIL": "test@example.com"}


def git(cwd, *argv):
    """Run git in cwd as a test's user would; its stdout (text). Fails the test on an error."""
    done = subprocess.run(["git", *argv], cwd=cwd, capture_output=True, text=True,
                          env=dict(os.environ, **GIT_ENV))
    if done.returncode != 0:
        raise AssertionError(f"git {' '.join(argv)} failed: {done.stderr}")
    return done.stdout


def init_repo(path, files=None):
    """A git repository at path on branch main, with `files` (name -> text) committed."""
    git(path, "init", "-q", "-b", "main")
    for name, text in (files or {"README": "hello\n"}).items():
        os.makedirs(os.path.dirname(os.path.join(path, name)) or path, exist_ok=True)
        with open(os.path.join(path, name), "w") as f:
            f.write(text)
    git(path, "add", "-A")
    git(path, "commit", "-q", "-m", "initial")


def main_in_process(root, *argv):
    """cli.main(["--root", root, *argv]) with captured streams: (code, stdout, stderr)."""
    import contextlib
    import io
    from orchestra import cli
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(["--root", root, *argv])
    return code, out.getvalue(), err.getvalue()
