"""End-to-end: dependencies, per-agent limits, pause/resume and the daemon."""

import json
import os
import shutil
import sys
import tempfile
import time
import unittest
from unittest import mock

from orchestra.clock import parse_iso
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.task import Task
from tests.helpers import (FAKE_AGENT, ProjectCase, main_in_process, pid_alive, row_of,
                           wait_until)

FAKE = {"command": sys.executable, "args": ["-S", FAKE_AGENT, "{prompt}"], "promptTemplate": "{prompt}"}


class SchedulingCase(ProjectCase):
    def times(self, tid):
        t = self.task(tid)
        return parse_iso(t["started_at"]), parse_iso(t["finished_at"])

    def run_wait(self, *extra, expect=0):
        r = self.run_cli("run", "--wait", *extra, timeout=60)
        self.assertEqual(r.returncode, expect, r.stdout + r.stderr)
        return r

    def stop_daemon(self):
        self.run_cli("daemon", "stop")


class SubTaskTest(SchedulingCase):
    def test_a_task_waiting_on_its_sub_task_lends_it_the_only_slot(self):
        # parallel 1: without the loan the sub-task could never start, and the parent would
        # wait until its timeout
        orchestra = f"{sys.executable},-S,-m,orchestra"
        parent = self.start(f"sh={orchestra},wait,$({orchestra},start,-q,fake,echo=sub,done) done",
                            "--timeout", "30")
        self.start("echo=later done")  # queued before the sub-task: the loan passes it by
        t0 = time.monotonic()
        self.run_wait("--parallel", "1")
        self.assertLess(time.monotonic() - t0, 20)
        tasks = json.loads(self.ok("status", "--json", "--all"))
        self.assertEqual([t["status"] for t in tasks], ["completed"] * 3)
        sub = next(t for t in tasks if t["prompt"] == "echo=sub done")
        later = next(t for t in tasks if t["prompt"] == "echo=later done")
        self.assertLess(parse_iso(sub["finished_at"]), parse_iso(self.task(parent)["finished_at"]))
        self.assertGreaterEqual(parse_iso(later["started_at"]),
                                parse_iso(self.task(parent)["finished_at"]))
        self.assertIsNone(self.task(parent)["waiting"])


class DependencyTest(SchedulingCase):
    def test_diamond_runs_in_a_valid_order_with_parallelism(self):
        a = self.start("sleep=0.3 done")
        b = self.start("sleep=0.6 done", "--depends-on", a)
        c = self.start("sleep=0.6 done", "--after", a)
        d = self.start("done", "--depends-on", b, c)
        self.assertEqual(self.task(d)["depends_on"], [b, c])
        self.run_wait("--parallel", "2")
        (a0, a1), (b0, b1), (c0, c1), (d0, d1) = (self.times(t) for t in (a, b, c, d))
        self.assertGreaterEqual(min(b0, c0), a1)
        self.assertLess(max(b0, c0), min(b1, c1), "b and c should run side by side")
        self.assertGreaterEqual(d0, max(b1, c1))

    def test_failed_dependency_fails_descendants_and_retry_reopens_them(self):
        a = self.start("flaky=2")
        b = self.start("done", "--depends-on", a)
        c = self.start("done", "--depends-on", b)
        other = self.start("done")
        self.run_wait(expect=1)
        self.assertEqual(self.task(a)["status"], "failed")
        for tid in (b, c):
            t = self.task(tid)
            self.assertEqual((t["status"], t["reason"], t["attempt"]), ("failed", "dependency", 0))
        self.assertIn(a, self.task(b)["error"])
        self.assertIn(b, self.task(c)["error"])
        self.assertEqual(self.task(other)["status"], "completed")

        r = self.run_cli("retry", b)
        self.assertEqual(r.returncode, 1)
        self.assertIn(f"retry {a}", r.stderr)
        out = self.ok("retry", a)
        self.assertIn("re-opened 2 tasks", out)
        self.assertEqual({self.task(t)["status"] for t in (a, b, c)}, {"pending"})
        self.run_wait()
        self.assertEqual({self.task(t)["status"] for t in (a, b, c)}, {"completed"})

    def test_dependency_with_retries_left_keeps_dependents_waiting(self):
        a = self.start("flaky=2", "--max-retries", "1")
        b = self.start("done", "--depends-on", a)
        self.run_wait()
        self.assertEqual((self.task(a)["attempt"], self.task(b)["status"]), (2, "completed"))

    def test_status_shows_what_a_task_waits_on_and_deps_tree(self):
        a = self.start("sleep=30", "--timeout", "20")
        b = self.start("done", "--depends-on", a)
        c = self.start("done", "--depends-on", b)
        table = self.ok("status")
        self.assertIn(f"waits: task_…{a[-6:]}", table)
        tree = self.ok("deps", b)
        lines = tree.splitlines()
        self.assertEqual(row_of(b, tree), lines[0])
        self.assertIn("depends on:", tree)
        self.assertTrue(row_of(a, tree).startswith("  "))
        self.assertIn("needed by:", tree)
        self.assertTrue(row_of(c, tree).startswith("  "))
        self.assertIn("no missing task, no cycle", self.ok("deps", "--check"))

    def test_deps_check_reports_cycles_and_missing_tasks(self):
        a, b = self.start("done"), self.start("done")
        for tid, dep in ((a, b), (b, a)):
            path = os.path.join(self.root, ".orchestra", "tasks", tid + ".json")
            data = self.task(tid)
            data["depends_on"] = [dep, "task_1700000000000_000000"] if tid == a else [dep]
            with open(path, "w") as f:
                json.dump(data, f)
        r = self.run_cli("deps", "--check")
        self.assertEqual(r.returncode, 1)
        self.assertIn("cycle:", r.stderr)
        self.assertIn("does not exist", r.stderr)
        self.assertEqual(self.run_cli("deps", "task_1700000000000_00000x").returncode, 2)
        self.assertEqual(self.run_cli("deps").returncode, 2)

    def test_clean_keeps_what_pending_tasks_depend_on(self):
        a = self.start("done")
        self.run_wait()
        b = self.start("done", "--depends-on", a)
        self.assertIn("kept 1", self.ok("clean"))
        self.assertEqual(self.task(a)["status"], "completed")
        self.run_wait()
        self.assertEqual(self.task(b)["status"], "completed")


class LimitTest(SchedulingCase):
    agents = {"solo": dict(FAKE, maxParallel=1)}

    def test_per_agent_limit_under_a_larger_parallel(self):
        solo = [self.start("sleep=0.4 done", agent="solo") for _ in range(3)]
        free = [self.start("sleep=0.4 done") for _ in range(2)]
        self.run_wait("--parallel", "4")
        spans = sorted(self.times(t) for t in solo)
        for (s0, e0), (s1, e1) in zip(spans, spans[1:]):
            self.assertGreaterEqual(s1, e0, "two `solo` tasks overlapped")
        f0, f1 = self.times(free[0]), self.times(free[1])
        self.assertLess(max(f0[0], f1[0]), min(f0[1], f1[1]), "the other agent was held back")

    def test_bad_max_parallel_is_a_config_error(self):
        self.write_config({"fake": dict(FAKE, maxParallel=0)})
        r = self.run_cli("start", "fake", "done")
        self.assertEqual(r.returncode, 2)
        self.assertIn("maxParallel", r.stderr)


class PauseTest(SchedulingCase):
    def test_pause_holds_new_launches_and_resume_releases_them(self):
        self.ok("pause")
        self.assertIn("already paused", self.ok("pause"))
        tid = self.start("done")
        self.ok("run")
        self.assertIn("PAUSED", self.ok("status"))
        time.sleep(0.8)  # several supervisor ticks: a paused queue must stay put
        self.assertEqual(self.task(tid)["status"], "pending")
        self.ok("resume")
        self.wait_status(tid, "completed")
        self.assertIn("not paused", self.ok("resume"))


class DaemonTest(SchedulingCase):
    def setUp(self):
        super().setUp()
        self.addCleanup(self.stop_daemon)

    def info(self):
        with open(os.path.join(self.root, ".orchestra", "supervisor.json")) as f:
            return json.load(f)

    def test_daemon_stays_up_and_picks_up_new_tasks(self):
        out = self.ok("daemon", "start", "--parallel", "2")
        pid = self.info()["pid"]
        self.assertIn(str(pid), out)
        self.assertIn("already running", self.ok("daemon", "start"))
        self.assertEqual(self.info()["pid"], pid, "a second daemon was started")
        tid = self.start("done")
        self.wait_status(tid, "completed")
        time.sleep(0.7)  # idle past the point where a `run` supervisor would exit
        self.assertTrue(pid_alive(pid))
        later = self.start("done")
        self.wait_status(later, "completed")
        status = self.run_cli("daemon", "status")
        self.assertEqual(status.returncode, 0)
        self.assertIn(f"pid {pid}", status.stdout)
        self.assertIn("is already running", self.ok("run"))
        self.ok("daemon", "stop")
        wait_until(lambda: not pid_alive(pid), 5, message="the daemon to exit")
        self.assertEqual(self.run_cli("daemon", "status").returncode, 1)

    def test_two_daemon_starts_at_once_leave_one_daemon(self):
        import subprocess
        starts = [subprocess.Popen([sys.executable, "-S", "-m", "orchestra", "daemon", "start"],
                                   cwd=self.root, env=self.env(), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for p in starts:
            out, err = p.communicate(timeout=20)
            self.assertEqual(p.returncode, 0, out + err)
        pid = self.info()["pid"]
        time.sleep(3.5)  # past the time a second supervisor waits for the lock
        procs = []
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        cmd = f.read().split(b"\0")
                except OSError:
                    continue
                if b"supervise" in cmd and self.root.encode() in cmd:
                    procs.append(int(entry))
        self.assertEqual(procs, [pid])

    def test_stop_leaves_agents_running_and_the_next_daemon_adopts_them(self):
        self.ok("daemon", "start")
        tid = self.start("sleep=1.5 done")
        self.wait_status(tid, "running")
        agent = self.task(tid)["pid"]
        self.ok("daemon", "stop")
        self.assertTrue(pid_alive(agent), "daemon stop killed the agent")
        self.assertEqual(self.task(tid)["status"], "running")
        self.ok("daemon", "start")
        t = self.wait_status(tid, "completed") and self.task(tid)
        self.assertEqual(t["attempt"], 1)

    def test_stop_kill_ends_running_tasks(self):
        self.ok("daemon", "start")
        tid = self.start("sleep=30")
        self.wait_status(tid, "running")
        agent = self.task(tid)["pid"]
        self.ok("daemon", "stop", "--kill")
        self.assertEqual(self.task(tid)["status"], "cancelled")
        wait_until(lambda: not pid_alive(agent), 3, message="the agent to die")

    def test_daemon_survives_a_corrupt_task_file_and_a_crashing_agent(self):
        self.ok("daemon", "start")
        pid = self.info()["pid"]
        os.makedirs(os.path.join(self.root, ".orchestra", "tasks"), exist_ok=True)
        with open(os.path.join(self.root, ".orchestra", "tasks", "task_1700000000000_abcdef.json"), "w") as f:
            f.write("{broken")
        crash = self.start("exit=139")
        self.wait_status(crash, "failed")
        fine = self.start("done")
        self.wait_status(fine, "completed")
        self.assertTrue(pid_alive(pid))


if __name__ == "__main__":
    unittest.main()


class SubTaskRefusalTest(unittest.TestCase):
    """A wait an agent could never see the end of is refused at once (in-process)."""

    def test_waiting_for_itself_or_for_a_task_that_depends_on_it_is_exit_2(self):
        root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, root)
        store = Store(Layout(root))
        me = Task.new("task_1790000000000_aaaaaa", "fake", "parent", time.time())
        me.update(status="running", attempt=1, started_at="2026-12-01T00:00:00Z")
        after = Task.new("task_1790000000001_bbbbbb", "fake", "after me", time.time(),
                         depends_on=[me.id])
        other = Task.new("task_1790000000002_cccccc", "fake", "unrelated", time.time())
        for t in (me, after, other):
            store.create(t)
        with mock.patch.dict(os.environ, {"ORCHESTRA_TASK_ID": me.id}):
            code, out, err = main_in_process(root, "wait", me.id)
            self.assertEqual(code, 2)
            self.assertIn("cannot wait for itself", err)
            code, out, err = main_in_process(root, "wait", other.id, after.id, "--timeout", "1")
            self.assertEqual(code, 2)
            self.assertIn(f"{after.id} depends on {me.id}", err)
            self.assertNotIn("Traceback", err)
