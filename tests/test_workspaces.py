"""The workspaces registry (orchestra.workspaces), `orchestra workspaces`, a project added when
orchestra runs in it, and `status --workspaces`. In-process, each test with its own
XDG_CONFIG_HOME."""

import io
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest
from unittest import mock

from orchestra import workspaces
from orchestra.clock import iso
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.task import Task
from tests.helpers import REPO, main_in_process


class Case(unittest.TestCase):
    def setUp(self):
        self.home = tempfile.mkdtemp(prefix="orchestra-ws-")
        self.addCleanup(shutil.rmtree, self.home, True)
        self.config = os.path.join(self.home, "config")
        self.env = {"XDG_CONFIG_HOME": self.config, "HOME": self.home}
        self.registry = os.path.join(self.config, "orchestra", "workspaces.json")

    def project(self, name):
        root = os.path.join(self.home, name)
        os.makedirs(os.path.join(root, ".orchestra"))
        return root

    def write_registry(self, raw):
        os.makedirs(os.path.dirname(self.registry), exist_ok=True)
        with open(self.registry, "w") as f:
            f.write(raw)

    def cli(self, root, *argv, env=None):
        """cli.main in-process with this test's environment (registering switched on)."""
        environ = dict(self.env, **(env or {}))
        with mock.patch.dict(os.environ, environ):
            os.environ.pop("ORCHESTRA_NO_REGISTER", None)
            if env and "ORCHESTRA_NO_REGISTER" in env:
                os.environ["ORCHESTRA_NO_REGISTER"] = env["ORCHESTRA_NO_REGISTER"]
            return main_in_process(root, *argv)


class RegistryTest(Case):
    def test_path_per_platform(self):
        self.assertEqual(workspaces.path(self.env), self.registry)
        home = {"HOME": "/h"}
        self.assertEqual(workspaces.path(home, "linux"), "/h/.config/orchestra/workspaces.json")
        self.assertEqual(workspaces.path(home, "darwin"),
                         "/h/Library/Application Support/orchestra/workspaces.json")
        self.assertTrue(workspaces.path({"APPDATA": "C:\\Users\\u\\AppData\\Roaming"}, "win32")
                        .startswith("C:\\Users\\u\\AppData\\Roaming"))
        # A relative XDG_CONFIG_HOME is invalid by the XDG spec: the default applies.
        self.assertEqual(workspaces.path({"HOME": "/h", "XDG_CONFIG_HOME": "rel"}, "linux"),
                         "/h/.config/orchestra/workspaces.json")

    def test_add_remove_keep_the_order_added(self):
        self.assertEqual(workspaces.roots(self.env), [])  # no file: none, and nothing said
        self.assertTrue(workspaces.add("/p/b", self.env))
        self.assertTrue(workspaces.add("/p/a", self.env))
        self.assertFalse(workspaces.add("/p/b", self.env))
        self.assertEqual(workspaces.roots(self.env), ["/p/b", "/p/a"])
        self.assertTrue(workspaces.remove("/p/b", self.env))
        self.assertFalse(workspaces.remove("/p/b", self.env))
        self.assertEqual(workspaces.roots(self.env), ["/p/a"])
        with open(self.registry) as f:
            self.assertEqual(json.load(f), ["/p/a"])

    def test_hostile_files_are_ignored_and_named(self):
        for raw, kept in (("{not json", []), ('{"roots": ["/a"]}', []), ("[" * 100000, []),
                          ('["/a", 3, "relative", "/a", null, "/b\\u0000x", "/b"]', ["/a", "/b"]),
                          (json.dumps(["/a"]) + " " * workspaces.SIZE_MAX, [])):
            self.write_registry(raw)
            said = []
            self.assertEqual(workspaces.roots(self.env, warn=said.append), kept, raw[:40])
            self.assertEqual(len(said), 1, raw[:40])
            self.assertIn(self.registry, said[0])
            # Rewriting it would lose what the person wrote: `add` refuses, the file stays.
            with self.assertRaises(workspaces_error()):
                workspaces.add("/c", self.env)
            with open(self.registry) as f:
                self.assertEqual(f.read(), raw)

    def test_an_unreadable_registry_is_none_with_a_warning(self):
        os.makedirs(self.registry)  # a directory where the file should be
        said = []
        self.assertEqual(workspaces.roots(self.env, warn=said.append), [])
        self.assertIn("cannot read the workspaces registry", said[0])

    def test_concurrent_adds_from_threads_and_processes_all_land(self):
        code = ("import sys; from orchestra import workspaces\n"
                "for i in range(15): workspaces.add(f'/proc{sys.argv[1]}/{i}', "
                f"{self.env!r})")
        children = [subprocess.Popen([sys.executable, "-c", code, str(n)], cwd=REPO)
                    for n in range(2)]
        threads = [threading.Thread(target=lambda n=n: [workspaces.add(f"/thread{n}/{i}",
                                                                        self.env)
                                                         for i in range(5)])
                   for n in range(6)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for child in children:
            self.assertEqual(child.wait(timeout=30), 0)
        self.assertEqual(len(workspaces.roots(self.env)), 2 * 15 + 6 * 5)


def workspaces_error():
    from orchestra.errors import OrchestraError
    return OrchestraError


class AutoAddTest(Case):
    def test_added_once_then_the_marker_is_enough(self):
        root = self.project("app")
        code, _, err = self.cli(root, "status")
        self.assertEqual((code, err), (0, ""))
        self.assertEqual(workspaces.roots(self.env), [root])
        with open(os.path.join(root, ".orchestra", "registered")) as f:
            self.assertEqual(f.read(), self.registry)
        # The marker names this registry: the next command does not read or write it.
        os.remove(self.registry)
        self.assertEqual(self.cli(root, "status")[0], 0)
        self.assertFalse(os.path.exists(self.registry))
        # Another registry (another XDG_CONFIG_HOME) is not the one it was added to.
        other = os.path.join(self.home, "other")
        self.cli(root, "status", env={"XDG_CONFIG_HOME": other})
        self.assertEqual(workspaces.roots({"XDG_CONFIG_HOME": other}), [root])

    def test_a_command_that_creates_the_project_adds_it(self):
        root = os.path.join(self.home, "fresh")
        os.makedirs(root)
        code, _, err = self.cli(root, "start", "-q", "demo", "hello")
        self.assertEqual(code, 0, err)
        self.assertEqual(workspaces.roots(self.env), [root])

    def test_switched_off_by_the_variable_and_the_setting(self):
        root = self.project("quiet")
        self.cli(root, "status", env={"ORCHESTRA_NO_REGISTER": "1"})
        self.assertFalse(os.path.exists(self.registry))
        self.assertEqual(self.cli(root, "config", "set", "register", "false",
                                  env={"ORCHESTRA_NO_REGISTER": "1"})[0], 0)
        self.assertEqual(self.cli(root, "config", "get", "register")[1], "false\n")
        self.cli(root, "status")
        self.assertFalse(os.path.exists(self.registry))
        self.assertEqual(self.cli(root, "config", "set", "register", "maybe")[0], 2)
        self.cli(root, "config", "set", "register", "yes")
        self.cli(root, "status")
        self.assertEqual(workspaces.roots(self.env), [root])

    def test_a_task_worktree_is_never_added(self):
        worktree = os.path.join(self.project("main"), ".orchestra", "worktrees", "abc123")
        os.makedirs(os.path.join(worktree, ".orchestra"))
        self.assertTrue(workspaces.note(Layout(worktree), self.env))
        self.assertFalse(os.path.exists(self.registry))

    def test_removed_is_not_added_back_by_running_there(self):
        root = self.project("gone")
        self.cli(root, "status")
        self.assertEqual(self.cli(root, "workspaces", "remove", root)[0], 0)
        self.cli(root, "status")
        self.assertEqual(workspaces.roots(self.env), [])


class CommandTest(Case):
    def setUp(self):
        super().setUp()
        self.elsewhere = os.path.join(self.home, "elsewhere")  # not a project
        os.makedirs(self.elsewhere)

    def test_add_list_remove(self):
        a, b = self.project("alpha"), self.project("beta")
        os.makedirs(os.path.join(b, "src"))
        self.assertEqual(self.cli(self.elsewhere, "workspaces", "add", a)[1], f"added {a}\n")
        # A directory inside a project adds the project.
        self.cli(self.elsewhere, "workspaces", "add", os.path.join(b, "src"))
        code, out, _ = self.cli(self.elsewhere, "workspaces", "list")
        self.assertEqual(code, 0)
        self.assertEqual([line.split()[:3] for line in out.splitlines()],
                         [["1", "alpha", a], ["2", "beta", b]])
        listed = json.loads(self.cli(self.elsewhere, "workspaces", "list", "--json")[1])
        self.assertEqual([(w["number"], w["root"], w["state"]) for w in listed],
                         [(1, a, "ok"), (2, b, "ok")])
        self.assertEqual(self.cli(self.elsewhere, "workspaces", "remove", "1")[1],
                         f"removed {a}\n")
        code, _, err = self.cli(self.elsewhere, "workspaces", "remove", "5")
        self.assertEqual(code, 2)
        self.assertIn("numbers them 1 to 1", err)
        code, _, err = self.cli(self.elsewhere, "workspaces", "remove", a)
        self.assertEqual(code, 2)
        self.assertIn("not a registered workspace", err)
        code, _, err = self.cli(self.elsewhere, "workspaces", "add")
        self.assertEqual(code, 2)
        self.assertIn("give the project's directory", err)

    def test_status_workspaces_with_a_vanished_one(self):
        busy, gone = self.project("busy"), self.project("gone")
        now = time.time()
        store = Store(Layout(busy))
        states = {"pending": None, "running": None, "failed": 300, "completed": 60}
        for n, (state, ago) in enumerate(states.items()):
            task = Task.new(f"task_{int(now * 1000) - n:013d}_abc00{n}", "claude", "p", now - 900)
            task.update(status=state)
            if ago is not None:
                task.update(started_at=iso(now - ago - 10), finished_at=iso(now - ago))
            if state == "completed":
                task.update(branch="orchestra/abc003", merged=False, changes=[1, 5, 2])
            store.create(task)
        for root in (busy, gone):
            workspaces.add(root, self.env)
        shutil.rmtree(gone)
        code, out, err = self.cli(self.elsewhere, "status", "--workspaces")
        self.assertEqual((code, err), (0, ""))
        first, second = out.splitlines()
        for part in ("busy", busy, "4 tasks: 1 pending, 1 running, 1 completed, 1 failed",
                     "1 to review", "latest abc003 completed 1m00s ago (claude)"):
            self.assertIn(part, first)
        self.assertIn("vanished", second)
        self.assertIn("`orchestra workspaces remove 2`", second)
        seen = json.loads(self.cli(self.elsewhere, "status", "--workspaces", "--json")[1])
        self.assertEqual([w["state"] for w in seen], ["ok", "vanished"])
        self.assertEqual((seen[0]["running"], seen[0]["review"], seen[0]["latest"]["id"]),
                         (1, 1, f"task_{int(now * 1000) - 3:013d}_abc003"))
        self.assertEqual(self.cli(self.elsewhere, "status", "--workspaces", "--all")[0], 2)


if __name__ == "__main__":
    unittest.main()
