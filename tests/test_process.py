"""Containment of a run (orchestra.process): every process a run starts is found and ended,
whatever session it moved to, and a pid that is not ours is never signalled. Real processes,
as few as show it: an agent that starts one child that calls setsid and one daemon (fork,
setsid, fork)."""

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import unittest

from orchestra import process
from tests.helpers import pid_alive, wait_until

LINUX = sys.platform.startswith("linux")

# argv: the file to write the two escaped pids to, and "stay" or "exit" once written.
AGENT = """
import os, subprocess, sys, time
out, then = sys.argv[1:]
child = subprocess.Popen([sys.executable, "-c", "import os, time; os.setsid(); time.sleep(300)"])
r, w = os.pipe()
middle = os.fork()
if middle == 0:
    os.setsid()
    if os.fork() == 0:
        os.write(w, str(os.getpid()).encode())
        time.sleep(300)
    os._exit(0)
os.close(w)
daemon = os.read(r, 32).decode()
os.waitpid(middle, 0)
with open(out + ".tmp", "w") as f:
    f.write(f"{child.pid} {daemon}\\n")
os.replace(out + ".tmp", out)
if then == "stay":
    time.sleep(300)
"""


def _read_pids(path):
    try:
        with open(path) as f:
            return [int(p) for p in f.read().split()]
    except FileNotFoundError:
        return None


class Containment:
    """The tests for one way of finding a run's processes; `cgroup` says which."""

    cgroup = None

    def run_agent(self, then):
        """Spawn the agent as a run; (Popen, its start token, run id, escaped pids) once
        both escaped processes are out of the session the run's wrapper leads."""
        d = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, d, True)
        run_id = f"test_{os.getpid()}_{type(self).__name__}_{self._testMethodName}.1"
        out = os.path.join(d, "pids")
        proc = process.spawn([sys.executable, "-c", AGENT, out, then], cwd=d, env=os.environ,
                             log_path=os.path.join(d, "log"), exit_path=os.path.join(d, "exit"),
                             run_id=run_id, cgroup=self.cgroup)
        token = process.start_token(proc.pid)
        self.addCleanup(proc.wait)
        self.addCleanup(process.kill_run, proc.pid, token, run_id, 0)
        pids = wait_until(lambda: _read_pids(out), 10, message="the escaped pids")
        wait_until(lambda: all(os.getsid(p) != proc.pid for p in pids), 5,
                   message="both to leave the run's session")
        return proc, token, run_id, pids

    def assertGone(self, pids):
        # A process killed is "gone" for the run once it has let go of its memory (the scan)
        # or its cgroup, a moment before it turns zombie.
        wait_until(lambda: not any(pid_alive(p) for p in pids), 2, message=f"{pids} to end")

    def test_kill_run_ends_processes_that_left_the_session(self):
        proc, token, run_id, escaped = self.run_agent("stay")
        self.assertTrue(process.run_alive(proc.pid, token, run_id))
        with open(f"/proc/{escaped[1]}/cgroup") as f:
            self.assertEqual(f"/orchestra-{run_id}\n" in f.read(), self.cgroup)
        process.kill_run(proc.pid, token, run_id)
        self.assertFalse(process.run_alive(proc.pid, token, run_id))
        self.assertGone(escaped)
        self.assertEqual(proc.wait(timeout=5), -signal.SIGTERM)
        self.assertIsNone(process.linux.find(run_id))  # kill_run released its cgroup

    def test_a_run_lives_while_what_it_started_lives_and_is_found_without_its_leader(self):
        proc, token, run_id, escaped = self.run_agent("exit")
        self.assertEqual(proc.wait(timeout=10), 0)
        self.assertTrue(process.run_alive(proc.pid, token, run_id))
        self.assertEqual(process.alive_runs([(proc.pid, token, run_id),
                                             (None, None, "test_not_a_run.1")]), {run_id})
        process.signal_run(None, None, run_id, force=True)
        wait_until(lambda: not process.run_alive(proc.pid, token, run_id), 5,
                   message="the run to end")
        self.assertGone(escaped)

    def test_a_reaped_run_is_over_only_once_what_it_started_has_ended(self):
        proc, token, run_id, escaped = self.run_agent("exit")
        self.assertEqual(proc.wait(timeout=10), 0)
        self.assertFalse(process.over(proc.pid, token, run_id))
        if self.cgroup:  # what is left keeps its cgroup
            self.assertIsNotNone(process.linux.find(run_id))
        process.signal_run(None, None, run_id, force=True)
        wait_until(lambda: process.over(proc.pid, token, run_id), 5, message="the run to end")
        self.assertGone(escaped)
        self.assertIsNone(process.linux.find(run_id))  # released on the way


@unittest.skipUnless(LINUX and process.containment() == "cgroup", "no writable cgroup v2")
class CgroupTest(Containment, unittest.TestCase):
    cgroup = True


@unittest.skipUnless(LINUX, "the environment scan reads /proc")
class EnvironmentScanTest(Containment, unittest.TestCase):
    cgroup = False


@unittest.skipIf(process.WINDOWS, "POSIX process groups")
class OnlyOursTest(unittest.TestCase):
    def test_a_pid_whose_start_does_not_match_is_never_signalled(self):
        other = subprocess.Popen(["sleep", "30"], start_new_session=True)
        self.addCleanup(other.wait)
        self.addCleanup(other.kill)
        token = wait_until(lambda: process.start_token(other.pid), 5, message="a start token")
        run_id = f"test_{os.getpid()}_not_carried.1"
        self.assertTrue(process.run_alive(other.pid, token, run_id))  # it can be seen
        for start in (None, token + "0"):
            self.assertFalse(process.run_alive(other.pid, start, run_id))
            process.signal_run(other.pid, start, run_id, force=True)
            process.kill_run(other.pid, start, run_id, grace=0)
        self.assertIsNone(other.poll())
        self.assertTrue(pid_alive(other.pid))


if __name__ == "__main__":
    unittest.main()
