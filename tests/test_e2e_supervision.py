"""End-to-end tests of supervision: background and foreground supervisors, concurrency,
cancellation of process trees, supervisor death and adoption, and Ctrl-C.

Every test drives the real CLI (`python -m orchestra`) in a throw-away project with the fake
agent (tests/fake_agent.py). Waits poll with short deadlines; nothing sleeps for long.
"""

import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
import unittest

from orchestra.clock import iso, parse_iso
from orchestra.task import FIELDS, ID_PATTERN
from tests.helpers import ProjectCase, pid_alive, wait_until

ID_RE = re.compile(ID_PATTERN + r"$")
FINAL = ("completed", "failed", "cancelled")
RANK = {"pending": 0, "running": 1, "completed": 2, "failed": 2, "cancelled": 2}


def _default_sigint():
    # The child must turn SIGINT into KeyboardInterrupt even if this test runner was started
    # with SIGINT ignored (as a background job of a shell without job control).
    signal.signal(signal.SIGINT, signal.SIG_DFL)


class E2ECase(ProjectCase):
    """ProjectCase with a few more ways to look at a project."""

    def path(self, *parts):
        return os.path.join(self.root, *parts)

    def sentinel(self, tid, kind):
        return self.path(".orchestra", "tasks", f"{tid}.{kind}")

    def log_text(self, tid):
        try:
            with open(self.path(".orchestra", "logs", tid + ".log"), encoding="utf-8") as f:
                return f.read()
        except FileNotFoundError:
            return None

    def disk_tasks(self):
        """Every task file as it is on disk right now (no `status` settling): id -> dict."""
        tasks = {}
        d = self.path(".orchestra", "tasks")
        for name in os.listdir(d):
            if name.endswith(".json") and not name.startswith("."):
                with open(os.path.join(d, name)) as f:
                    data = json.load(f)
                tasks[data["id"]] = data
        return tasks

    def count(self, status, ids=None):
        tasks = self.disk_tasks()
        return sum(1 for tid, t in tasks.items()
                   if t["status"] == status and (ids is None or tid in ids))

    def wait_disk_status(self, tid, status, timeout=10):
        """Wait until the task file itself (written by a supervisor or a command) says `status`."""
        def check():
            data = self.task(tid)
            return data if data["status"] == status else None
        return wait_until(check, timeout, message=f"{tid} to be {status} on disk")

    def status_json(self, *ids):
        return {t["id"]: t for t in json.loads(self.ok("status", "--json", *ids))}

    def popen_cli(self, *args, stdout=subprocess.PIPE, stderr=subprocess.PIPE):
        proc = subprocess.Popen([sys.executable, "-S", "-m", "orchestra", *args], cwd=self.root,
                                env=self.env(), stdout=stdout, stderr=stderr, text=True,
                                preexec_fn=_default_sigint)
        self.addCleanup(self._reap, proc)
        return proc

    @staticmethod
    def _reap(proc):
        if proc.poll() is None:
            proc.kill()
        proc.communicate()

    def supervisor_processes(self):
        """Live `orchestra supervise` processes for this project root (from /proc)."""
        roots = {self.root.encode(), os.path.realpath(self.root).encode()}
        found = []
        for name in os.listdir("/proc"):
            if not name.isdigit():
                continue
            try:
                with open(f"/proc/{name}/cmdline", "rb") as f:
                    argv = f.read().split(b"\0")
            except OSError:
                continue
            if b"supervise" in argv and roots & set(argv) and pid_alive(int(name)):
                found.append(int(name))
        return found

    def wait_supervisor_gone(self, pid, timeout=10):
        info = self.path(".orchestra", "supervisor.json")
        wait_until(lambda: not os.path.exists(info) and not pid_alive(pid), timeout,
                   message=f"supervisor {pid} to exit and remove supervisor.json")

    def read_text(self, path):
        with open(path, encoding="utf-8") as f:
            return f.read()

    def read_pids(self, path, n):
        def check():
            try:
                with open(path) as f:
                    pids = [int(x) for x in f.read().split()]
            except FileNotFoundError:
                return None
            return pids if len(pids) == n else None
        return wait_until(check, 10, message=f"{n} pids in {path}")


# -- the background supervisor ------------------------------------------------------------


class BackgroundSupervisorTest(E2ECase):

    def test_run_returns_at_once_and_supervisor_drains_then_exits(self):
        a = self.start("echo=first sleep=0.8 done")
        b = self.start("echo=second sleep=0.8 done")
        t0 = time.monotonic()
        r = self.run_cli("run")
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        self.assertLess(took, 1.5, f"`run` took {took:.2f}s; it must return at once")
        m = re.search(r"in the background \(pid (\d+), parallel 1\)", r.stdout)
        self.assertIsNotNone(m, r.stdout)
        pid = int(m.group(1))
        # `run` returned once the supervisor was up: the very next command sees it.
        self.assertIn(f"supervisor pid {pid}, parallel 1", self.ok("status"))
        self.assertEqual(self.supervisor_pid(), pid)
        self.assertTrue(pid_alive(pid))
        with open(f"/proc/{pid}/cmdline", "rb") as f:  # started as `run` was: with -S
            self.assertEqual(f.read().split(b"\0")[1], b"-S")
        c = self.run_cli("start", "fake", "echo=third done")
        self.assertIn("; the running supervisor starts it", c.stdout)
        c = re.search(r"queued (\S+)", c.stdout).group(1)
        w = self.run_cli("wait", c, timeout=30)
        self.assertEqual((w.returncode, w.stderr), (0, ""))

        # It runs both to completion by itself (the task files, not a `status`, say so)...
        ta = self.wait_disk_status(a, "completed")
        tb = self.wait_disk_status(b, "completed")
        # ...one at a time (parallel 1 by default): b started after a finished.
        self.assertGreaterEqual(parse_iso(tb["started_at"]), parse_iso(ta["finished_at"]))
        for t in (ta, tb):
            self.assertEqual((t["attempt"], t["exit_code"], t["reason"]), (1, 0, None))
        self.assertIn("first", self.log_text(a))
        self.assertIn("second", self.log_text(b))

        # Then it exits on its own and says so.
        self.wait_supervisor_gone(pid)
        self.assertIn("queue drained, supervisor exits",
                      self.read_text(self.path(".orchestra", "supervisor.log")))
        out = self.ok("status")
        self.assertNotIn("supervisor pid", out)
        self.assertIn("3 tasks: 3 completed", out)

    def test_task_queued_while_supervisor_runs_is_picked_up(self):
        long = self.start("sleep=30")
        self.ok("run", "--parallel", "2")
        self.wait_disk_status(long, "running")
        pid = self.supervisor_pid()
        self.assertTrue(pid and pid_alive(pid))

        late = self.start("echo=late done")
        done = self.wait_disk_status(late, "completed", timeout=8)
        self.assertEqual(done["attempt"], 1)
        self.assertIn("late", self.log_text(late))
        # The same supervisor did it, with no second `run`, while the first task still runs.
        self.assertEqual(self.supervisor_pid(), pid)
        self.assertEqual(self.task(long)["status"], "running")
        self.assertEqual(self.supervisor_processes(), [pid])
        # The log line follows the record: the task file can say completed a moment before it.
        wait_until(lambda: f"{late} fake: completed" in self.read_text(
            self.path(".orchestra", "supervisor.log")), 5, message="the completion logged")

        self.ok("cancel", long)
        self.wait_supervisor_gone(pid)

    def test_run_while_running_reports_it_and_changes_parallel(self):
        ids = [self.start("sleep=30") for _ in range(4)]
        self.ok("run")
        wait_until(lambda: self.count("running") == 1, 5, message="one running task")
        pid = self.supervisor_pid()
        # parallel 1: the supervisor's launch pass started exactly one of the four.
        self.assertEqual((self.count("running"), self.count("pending")), (1, 3))

        r = self.run_cli("run")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"supervisor is already running (pid {pid}, parallel 1)", r.stdout)
        self.assertEqual(self.supervisor_processes(), [pid], "a second supervisor was started")

        r = self.run_cli("run", "--parallel", "3")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"supervisor is already running (pid {pid}); parallel set to 3", r.stdout)
        with open(self.path(".orchestra", "supervisor.json")) as f:
            info = json.load(f)
        self.assertEqual((info["pid"], info["parallel"]), (pid, 3))
        wait_until(lambda: self.count("running") == 3, 5, message="three running tasks")
        self.assertEqual(self.count("pending"), 1)
        self.assertEqual(self.supervisor_processes(), [pid])
        self.assertIn(f"supervisor pid {pid}, parallel 3", self.ok("status"))

        running_pids = [t["pid"] for t in self.disk_tasks().values() if t["status"] == "running"]
        out = self.ok("cancel", "--all")
        self.assertEqual(out.count("(was running)"), 3, out)
        self.assertEqual(out.count("(was pending)"), 1, out)
        for tid in ids:
            self.assertEqual(self.task(tid)["status"], "cancelled")
        wait_until(lambda: not any(pid_alive(p) for p in running_pids), 3,
                   message="cancelled task processes to be gone")
        self.wait_supervisor_gone(pid)


# -- concurrency -----------------------------------------------------------------------------


class ConcurrencyTest(E2ECase):

    def test_two_foreground_runs_run_every_task_exactly_once(self):
        ids = [self.start(f"echo=x{i} done") for i in range(6)]
        procs = [self.popen_cli("run", "--wait") for _ in range(2)]
        outs = [p.communicate(timeout=30) for p in procs]
        for p, (out, err) in zip(procs, outs):
            self.assertEqual(p.returncode, 0, out + err)
            self.assertNotIn("Traceback", err)
        for i, tid in enumerate(ids):
            t = self.task(tid)
            self.assertEqual((t["status"], t["attempt"], t["exit_code"]), ("completed", 1, 0), tid)
            log = self.log_text(tid)
            self.assertEqual(log.count("=== orchestra:"), 1, log)
            self.assertEqual(log.splitlines().count(f"x{i}"), 1, log)
        self.assertEqual(self.supervisor_processes(), [])

    def test_fifty_concurrent_starts(self):
        procs = [subprocess.Popen([sys.executable, "-S", "-m", "orchestra", "start", "-q", "fake",
                                   f"echo={i}"], cwd=self.root, env=self.env(),
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for i in range(50)]
        ids = []
        for p in procs:
            out, err = p.communicate(timeout=60)
            self.assertEqual(p.returncode, 0, err)
            ids.append(out.strip())
        self.assertEqual(len(set(ids)), 50, ids)
        for tid in ids:
            self.assertRegex(tid, ID_RE)
        names = os.listdir(self.path(".orchestra", "tasks"))
        self.assertEqual(sorted(names), sorted(tid + ".json" for tid in ids),
                         "exactly the 50 task files, and no stray temporary file")
        prompts = set()
        for tid in ids:
            t = self.task(tid)  # valid JSON, or this raises
            self.assertEqual((t["id"], t["status"], t["agent"]), (tid, "pending", "fake"))
            prompts.add(t["prompt"])
        self.assertEqual(prompts, {f"echo={i}" for i in range(50)})
        self.assertEqual(set(self.status_json()), set(ids))

    def test_concurrent_cancel_and_status_lose_no_update(self):
        long = [self.start("sleep=30", "--priority", "10") for _ in range(2)]
        quick = [self.start(f"echo=q{i} sleep=1 done") for i in range(4)]
        queued = [self.start("sleep=30", "--priority", "-10") for _ in range(2)]
        self.ok("run", "--parallel", "2")
        for tid in long:
            self.wait_disk_status(tid, "running")
        sup = self.supervisor_pid()
        long_pids = [self.task(tid)["pid"] for tid in long]

        stop = threading.Event()
        problems, observations = [], [0]

        def status_loop():
            final_seen, rank_seen = {}, {}
            while not stop.is_set():
                r = self.run_cli("status", "--json")
                try:
                    self.assertEqual(r.returncode, 0, r.stderr)
                    tasks = json.loads(r.stdout)
                except (AssertionError, ValueError) as e:
                    problems.append(f"status: {e}")
                    continue
                observations[0] += 1
                for t in tasks:
                    tid, st = t["id"], t["status"]
                    if RANK[st] < rank_seen.get(tid, 0):
                        problems.append(f"{tid} went back to {st}")
                    rank_seen[tid] = max(RANK[st], rank_seen.get(tid, 0))
                    if tid in final_seen and final_seen[tid] != st:
                        problems.append(f"{tid} was {final_seen[tid]}, then {st}")
                    if st in FINAL:
                        final_seen[tid] = st

        results = {}
        barrier = threading.Barrier(len(long) + len(queued))

        def cancel(tid):
            barrier.wait()
            results[tid] = self.run_cli("cancel", tid)

        loops = [threading.Thread(target=status_loop) for _ in range(2)]
        cancels = [threading.Thread(target=cancel, args=(tid,)) for tid in long + queued]
        for t in loops + cancels:
            t.start()
        try:
            for t in cancels:
                t.join(30)
            for tid in long:
                self.assertEqual(results[tid].returncode, 0, results[tid].stderr)
                self.assertIn(f"cancelled {tid} (was running)", results[tid].stdout)
            for tid in queued:
                self.assertEqual(results[tid].returncode, 0, results[tid].stderr)
                self.assertIn(f"cancelled {tid} (was pending)", results[tid].stdout)
            every = long + quick + queued
            wait_until(lambda: all(self.task(t)["status"] in FINAL for t in every), 15,
                       message="every task to be final")
        finally:
            stop.set()
            for t in loops:
                t.join(30)
        self.assertEqual(problems, [])
        self.assertGreater(observations[0], 0)

        for tid in long:
            t = self.task(tid)
            self.assertEqual((t["status"], t["attempt"]), ("cancelled", 1), tid)
        for tid in queued:
            t = self.task(tid)
            self.assertEqual((t["status"], t["attempt"]), ("cancelled", 0), f"{tid} ran")
            self.assertIsNone(self.log_text(tid))
        for i, tid in enumerate(quick):
            t = self.task(tid)
            self.assertEqual((t["status"], t["attempt"], t["exit_code"]), ("completed", 1, 0), tid)
            self.assertEqual(self.log_text(tid).count("=== orchestra:"), 1)
        self.assertFalse(any(pid_alive(p) for p in long_pids))
        self.wait_supervisor_gone(sup)
        self.assertEqual([t["status"] for t in self.status_json().values()].count("running"), 0)


# -- cancel ------------------------------------------------------------------------------------


class CancelTest(E2ECase):

    def test_cancel_kills_a_tree_that_ignores_sigterm(self):
        pids_file = self.path("tree.pids")
        tid = self.start(f"ignore-term tree=30 pids={pids_file} sleep=30")
        self.ok("run")
        agent, *grandchildren = self.read_pids(pids_file, 3)
        wrapper = self.wait_disk_status(tid, "running")["pid"]
        everyone = [wrapper, agent] + grandchildren
        self.assertTrue(all(pid_alive(p) for p in everyone))
        sup = self.supervisor_pid()

        t0 = time.monotonic()
        r = self.run_cli("cancel", tid)
        took = time.monotonic() - t0
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"cancelled {tid} (was running)", r.stdout)
        self.assertLess(took, 2.5, f"cancel took {took:.2f}s")
        t = self.task(tid)
        self.assertEqual((t["status"], t["error"]), ("cancelled", "cancelled"))
        self.assertTrue(os.path.exists(self.sentinel(tid, "cancelled")))
        wait_until(lambda: not any(pid_alive(p) for p in everyone), 2,
                   message=f"every process of the tree {everyone} to be gone")
        # The supervisor does not overwrite the cancel when it sees the process end.
        self.wait_supervisor_gone(sup)
        self.assertEqual(self.status_json(tid)[tid]["status"], "cancelled")

    @unittest.skipUnless(sys.platform.startswith("linux"), "reaching past the process group")
    def test_cancel_ends_a_process_that_left_the_session(self):
        pids_file = self.path("escape.pids")
        tid = self.start(f"escape=300 pids={pids_file} sleep=300")
        self.ok("run")
        agent, escaped = self.read_pids(pids_file, 2)  # written once it has left the session
        wrapper = self.wait_disk_status(tid, "running")["pid"]
        self.ok("cancel", tid)
        left = [p for p in (wrapper, agent, escaped) if pid_alive(p)]
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        self.assertEqual(left, [])

    def test_cancel_pending_all_and_finished(self):
        skipped = self.start("echo=never done")
        kept = [self.start(f"echo=kept{i} done") for i in range(2)]
        r = self.run_cli("cancel", skipped)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn(f"cancelled {skipped} (was pending)", r.stdout)
        self.ok("run", "--wait")
        for tid in kept:
            self.assertEqual(self.task(tid)["status"], "completed")
        t = self.task(skipped)
        self.assertEqual((t["status"], t["attempt"], t["pid"]), ("cancelled", 0, None))
        self.assertIsNone(self.log_text(skipped), "a cancelled pending task must never run")

        # A finished task cannot be cancelled: exit 1, and it stays as it was.
        r = self.run_cli("cancel", kept[0])
        self.assertEqual(r.returncode, 1, r.stdout + r.stderr)
        self.assertIn("already completed", r.stderr)
        self.assertEqual(self.task(kept[0])["status"], "completed")
        r = self.run_cli("cancel", skipped)
        self.assertEqual(r.returncode, 1)
        self.assertIn("already cancelled", r.stderr)

        r = self.run_cli("cancel", "--all")
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("nothing to cancel", r.stdout)

        # --all: the running task and the pending one behind it.
        running = self.start("sleep=30")
        waiting = self.start("sleep=30")
        self.ok("run")
        pid = self.wait_disk_status(running, "running")["pid"]
        sup = self.supervisor_pid()
        out = self.ok("cancel", "--all")
        self.assertIn(f"cancelled {running} (was running)", out)
        self.assertIn(f"cancelled {waiting} (was pending)", out)
        self.assertNotIn(kept[0], out)
        self.assertEqual(self.task(running)["status"], "cancelled")
        self.assertEqual((self.task(waiting)["status"], self.task(waiting)["attempt"]),
                         ("cancelled", 0))
        self.assertEqual(self.task(kept[0])["status"], "completed")
        wait_until(lambda: not pid_alive(pid), 2, message="the cancelled task's process to end")
        self.wait_supervisor_gone(sup)


# -- supervisor death, adoption and process identity ----------------------------------------


class SupervisorDeathTest(E2ECase):

    def kill_supervisor(self):
        pid = self.supervisor_pid()
        self.assertTrue(pid and pid_alive(pid))
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(pid), 5, message="the supervisor to die")
        return pid

    def test_outcomes_after_supervisor_sigkill_are_recorded_by_status(self):
        failing = self.start("sleep=1.5 exit=3")
        passing = self.start("sleep=1.5 done")
        self.ok("run", "--parallel", "2")
        pids = [self.wait_disk_status(t, "running")["pid"] for t in (failing, passing)]
        self.kill_supervisor()

        # The agents live on, in their own sessions.
        self.assertTrue(all(pid_alive(p) for p in pids))
        for tid in (failing, passing):
            wait_until(lambda: os.path.exists(self.sentinel(tid, "exit")), 6,
                       message=f"{tid} to end")
        # Nobody has recorded anything yet: the task files still say running.
        self.assertEqual(self.count("running"), 2)

        tasks = self.status_json()
        f, p = tasks[failing], tasks[passing]
        self.assertEqual((f["status"], f["reason"], f["exit_code"]), ("failed", "exit", 3))
        self.assertEqual(f["error"], "exited with code 3")
        self.assertEqual((p["status"], p["reason"], p["exit_code"]), ("completed", None, 0))
        # The recorded end is when the process ended (the .exit file), not when status looked.
        for t in (f, p):
            ended = os.stat(self.sentinel(t["id"], "exit")).st_mtime
            self.assertAlmostEqual(parse_iso(t["finished_at"]), ended, delta=0.01)
            self.assertGreaterEqual(parse_iso(t["finished_at"]) - parse_iso(t["started_at"]), 1.4)
        self.assertEqual((self.task(failing)["status"], self.task(passing)["status"]),
                         ("failed", "completed"))

    def test_new_run_adopts_orphan_and_enforces_its_timeout(self):
        pids_file = self.path("agent.pids")
        tid = self.start(f"pids={pids_file} sleep=30", "--timeout", "3")
        self.ok("run")
        wrapper = self.wait_disk_status(tid, "running")["pid"]
        (agent,) = self.read_pids(pids_file, 1)
        old = self.kill_supervisor()
        self.assertTrue(pid_alive(agent))

        out = self.ok("run")
        self.assertIn("1 left running by an earlier supervisor", out)
        new = wait_until(lambda: (self.supervisor_pid() != old and self.supervisor_pid()), 5,
                         message="a new supervisor")
        t = self.wait_disk_status(tid, "failed", timeout=8)
        self.assertEqual((t["reason"], t["error"], t["attempt"]),
                         ("timeout", "timed out after 3s", 1))
        self.assertGreaterEqual(parse_iso(t["finished_at"]) - parse_iso(t["started_at"]), 3.0)
        self.assertTrue(os.path.exists(self.sentinel(tid, "timeout")))
        wait_until(lambda: not pid_alive(agent) and not pid_alive(wrapper), 2,
                   message="the timed-out process to be killed")
        self.wait_supervisor_gone(new)

    def test_task_killed_while_no_supervisor_is_lost(self):
        pids_file = self.path("agent.pids")
        tid = self.start(f"pids={pids_file} sleep=30")
        self.ok("run")
        wrapper = self.wait_disk_status(tid, "running")["pid"]
        (agent,) = self.read_pids(pids_file, 1)
        self.kill_supervisor()
        os.killpg(wrapper, signal.SIGKILL)
        wait_until(lambda: not pid_alive(wrapper) and not pid_alive(agent), 3,
                   message="the task's group to die")
        self.assertEqual(self.task(tid)["status"], "running")

        t = self.status_json(tid)[tid]
        self.assertEqual((t["status"], t["reason"], t["exit_code"]), ("failed", "lost", None))
        self.assertFalse(os.path.exists(self.sentinel(tid, "exit")))
        self.assertEqual(self.task(tid)["status"], "failed")

    def test_alive_pid_with_wrong_start_token_is_lost(self):
        with open("/proc/self/stat", "rb") as f:
            stat = f.read()
        my_token = stat[stat.rindex(b")") + 2:].split()[19].decode()
        self.assertNotEqual(my_token, "1")
        now = time.time()
        ms = int(now * 1000)
        reused, genuine = f"task_{ms:013d}_abc123", f"task_{ms:013d}_def456"
        tasks_dir = self.path(".orchestra", "tasks")
        os.makedirs(tasks_dir)
        # The running tasks name this very process: they must never reach the cleanup's killpg.
        self.addCleanup(lambda: [os.unlink(os.path.join(tasks_dir, n)) for n in os.listdir(tasks_dir)])
        for tid, token in ((reused, "1"), (genuine, my_token)):
            data = dict(FIELDS)
            data.update(id=tid, agent="fake", prompt="sleep=30", status="running", attempt=1,
                        pid=os.getpid(), pid_start=token, created_at=iso(now - 5),
                        started_at=iso(now - 4), log_file=f".orchestra/logs/{tid}.log",
                        plan_file=f".orchestra/plans/{tid}_plan.md")
            with open(os.path.join(tasks_dir, tid + ".json"), "w") as f:
                json.dump(data, f)

        tasks = self.status_json()
        self.assertEqual((tasks[reused]["status"], tasks[reused]["reason"]), ("failed", "lost"))
        # The control: the same live pid with its true start token is left running.
        self.assertEqual(tasks[genuine]["status"], "running")
        self.assertEqual(self.task(reused)["status"], "failed")
        self.assertIn("failed: lost", self.ok("status", reused))

    # A `status` settling orphans (here: killing a timed-out tree, which takes a second) must
    # not look like a live supervisor to a `run` at the same moment.
    def test_run_while_status_settles_an_orphan_still_starts_a_supervisor(self):
        stuck = self.start("ignore-term sleep=30", "--timeout", "2")
        self.ok("run")
        started = parse_iso(self.wait_disk_status(stuck, "running")["started_at"])
        queued = self.start("echo=queued done")
        self.kill_supervisor()
        wait_until(lambda: time.time() > started + 2.1, 5, message="the orphan's deadline")

        # This `status` times the orphan out and kills its tree (1 s of SIGTERM grace, since
        # it ignores SIGTERM), holding the supervisor lock all the while.
        status = self.popen_cli("status")
        wait_until(lambda: os.path.exists(self.sentinel(stuck, "timeout")), 5,
                   message="status to start killing the orphan")
        r = self.run_cli("run")
        if status.poll() is not None:
            self.skipTest("status ended before `run` ran; the window was missed")
        status.communicate(timeout=10)
        self.assertEqual(r.returncode, 0, r.stderr)
        self.assertIn("supervising", r.stdout, "`run` started no supervisor")
        self.wait_disk_status(queued, "completed", timeout=5)


# -- Ctrl-C -------------------------------------------------------------------------------------


class InterruptTest(E2ECase):

    def test_ctrl_c_in_foreground_run_hands_the_task_over(self):
        tid = self.start("until=go done")  # alive after the hand-over, until the test says
        run = self.popen_cli("run", "--wait")
        wrapper = self.wait_disk_status(tid, "running")["pid"]
        self.assertEqual(self.supervisor_pid(), run.pid)
        run.send_signal(signal.SIGINT)
        out, err = run.communicate(timeout=10)
        self.assertEqual(run.returncode, 130, out + err)
        self.assertNotIn("Traceback", err)
        self.assertIn("go on under a background supervisor", err)
        self.assertTrue(pid_alive(wrapper), "Ctrl-C must not stop the agent")

        heir = wait_until(lambda: self.supervisor_pid() not in (None, run.pid) and
                          self.supervisor_pid(), 5, message="a background supervisor")
        open(self.path("go"), "w").close()
        t = self.wait_disk_status(tid, "completed", timeout=8)
        self.assertEqual((t["attempt"], t["exit_code"]), (1, 0))
        self.assertEqual(self.log_text(tid).count("=== orchestra:"), 1, "the task was run again")
        self.wait_supervisor_gone(heir)

    def test_status_watch_exits_0_on_sigint(self):
        self.start("echo=hi done")
        out_path = self.path("watch.out")
        with open(out_path, "w") as out:
            watch = self.popen_cli("status", "--watch", "--interval", "0.2", stdout=out)
        wait_until(lambda: self.read_text(out_path).count("Ctrl-C quits") >= 2, 10,
                   message="two redraws of status --watch")
        watch.send_signal(signal.SIGINT)
        _, err = watch.communicate(timeout=10)
        self.assertEqual(watch.returncode, 0, err)
        self.assertNotIn("Traceback", err)
        self.assertIn("1 pending", self.read_text(out_path))

    def test_logs_follow_exits_0_on_sigint(self):
        tid = self.start("echo=hello-follow sleep=30")
        self.ok("run")
        self.wait_disk_status(tid, "running")
        out_path = self.path("follow.out")
        with open(out_path, "w") as out:
            follow = self.popen_cli("logs", "-f", tid, stdout=out)
        wait_until(lambda: "hello-follow" in self.read_text(out_path), 10,
                   message="logs -f to print the agent's output")
        self.assertIsNone(follow.poll(), "logs -f ended while the task still runs")
        follow.send_signal(signal.SIGINT)
        _, err = follow.communicate(timeout=10)
        self.assertEqual(follow.returncode, 0, err)
        self.assertNotIn("Traceback", err)
        self.assertEqual(self.task(tid)["status"], "running", "Ctrl-C in logs -f stops nothing")


if __name__ == "__main__":
    unittest.main()
