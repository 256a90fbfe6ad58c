"""End-to-end: the queue outlives its terminal, a closed stdout, a SIGTERM, a full disk under
the supervisor's own log, and the git commands an agent runs in the project.

Agents wait for a file the test creates (`until=go`) rather than sleep: each test decides
when a task may end, so nothing depends on how fast this machine is.
"""

import os
import shutil
import signal
import subprocess
import unittest

from tests.helpers import fill_disk, pid_alive, wait_until
from tests.test_e2e_supervision import E2ECase


class SignalsTest(E2ECase):

    def heir(self, *not_these):
        return wait_until(lambda: self.supervisor_pid() not in (None, *not_these)
                          and self.supervisor_pid(), 5, message="a background supervisor")

    def test_hang_up_and_sigterm_hand_the_queue_over_and_a_sigterm_stops_a_supervisor_cleanly(self):
        first = self.start("until=go done")
        second = self.start("done")

        # The terminal (or ssh connection) of `run --wait` closes.
        run = self.popen_cli("run", "--wait")
        wrapper = self.wait_disk_status(first, "running")["pid"]
        run.send_signal(signal.SIGHUP)
        out, err = run.communicate(timeout=10)
        self.assertEqual(run.returncode, 129, out + err)
        self.assertIn("hung up: 2 task(s) go on under a background supervisor", err)
        self.assertNotIn("Traceback", err)
        background = self.heir(run.pid)

        # The detached supervisor shrugs off a SIGHUP; a SIGTERM stops it, leaving the agent.
        os.kill(background, signal.SIGHUP)
        os.kill(background, signal.SIGTERM)
        self.wait_supervisor_gone(background, timeout=5)
        log = self.read_text(self.path(".orchestra", "supervisor.log"))
        self.assertIn("stopped (terminated); running tasks go on", log)
        self.assertTrue(pid_alive(wrapper), "stopping the supervisor must not stop the agent")
        self.assertEqual(self.task(first)["status"], "running")

        # A second `run --wait` adopts the agent, then is sent SIGTERM.
        run = self.popen_cli("run", "--wait")
        wait_until(lambda: self.supervisor_pid() == run.pid, 5, message="run --wait to supervise")
        run.send_signal(signal.SIGTERM)
        out, err = run.communicate(timeout=10)
        self.assertEqual(run.returncode, 143, out + err)
        self.assertIn("terminated: 2 task(s) go on under a background supervisor", err)
        self.heir(run.pid)

        open(self.path("go"), "w").close()
        for tid in (first, second):
            t = self.wait_disk_status(tid, "completed", timeout=10)
            self.assertEqual(t["attempt"], 1, f"{tid} was run again")

    def test_a_closed_stdout_hands_the_queue_over(self):
        first = self.start("until=go done")
        second = self.start("done")
        run = self.popen_cli("run", "--wait")  # `orchestra run --wait | head -1`
        self.assertIn(first, run.stdout.readline())
        run.stdout.close()
        open(self.path("go"), "w").close()  # its completion is the next line written
        run.wait(timeout=10)
        err = run.stderr.read()
        self.assertEqual(run.returncode, 141, err)
        self.assertIn("standard output was closed: 1 task(s) go on under a background", err)
        self.assertNotIn("Traceback", err)
        self.assertEqual(self.wait_disk_status(second, "completed")["attempt"], 1)
        self.assertEqual(self.task(first)["status"], "completed")


class FullDiskTest(E2ECase):

    def test_the_supervisor_outlives_a_disk_too_full_for_its_log(self):
        self.tmpfs_project("1m")
        first = self.start("until=go exit=0")
        second = self.start("done")
        self.ok("run")
        wrapper = self.wait_disk_status(first, "running")["pid"]
        background = self.supervisor_pid()
        # tmpfs gives a file whole pages: fill the log's last page, or its next line fits.
        log = self.path(".orchestra", "supervisor.log")
        with open(log, "a") as f:
            f.write("\n" * (-os.path.getsize(log) % os.sysconf("SC_PAGE_SIZE")))
        fill = self.path("fill")
        fill_disk(fill)
        open(self.path("go"), "w").close()  # an empty file needs no room
        # Recording the exit fails, and so does saying so in supervisor.log.
        wait_until(lambda: not os.path.exists(f"/proc/{wrapper}"), 5,
                   message="the supervisor to reap the agent")
        with self.assertRaises(AssertionError, msg="the supervisor died on the full disk"):
            wait_until(lambda: not pid_alive(background), 0.3)
        self.assertEqual(self.task(first)["status"], "running")
        os.unlink(fill)
        self.wait_disk_status(first, "completed", timeout=10)
        self.wait_disk_status(second, "completed", timeout=10)  # launched by that supervisor


@unittest.skipUnless(shutil.which("git"), "needs git")
class AgentGitTest(E2ECase):

    def git(self, *args):
        subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@example.com", *args],
                       cwd=self.root, check=True, capture_output=True)

    def test_git_clean_and_stash_by_an_agent_lose_no_task_outcome_or_log(self):
        self.git("init", "-q")
        self.git("add", ".orchestra-cli")  # the agent config is the project's, versioned
        self.git("commit", "-q", "-m", "config")
        cleaner = self.start("echo=cleaning sh=git,clean,-fdx done")
        stasher = self.start("sh=echo,scratch>scratch.txt sh=git,stash,-u done")
        last = self.start("done")
        self.ok("run", "--wait")
        for tid in (cleaner, stasher, last):
            self.assertEqual(self.task(tid)["status"], "completed", self.log_text(tid))
        self.assertIn("cleaning", self.log_text(cleaner))
        self.assertFalse(os.path.exists(self.path("scratch.txt")), "the stash did not clean")
        self.git("add", "-A")  # excluded: neither refused as a nested repository nor added
        staged = subprocess.run(["git", "diff", "--cached", "--name-only"], cwd=self.root,
                                capture_output=True, text=True, check=True).stdout
        self.assertNotIn(".orchestra", staged)

    def test_a_supervisor_writes_back_the_tasks_of_a_deleted_state_directory(self):
        # `rm -rf .orchestra` (or `git clean -ffdx`) by an agent while the queue runs.
        wiper = self.start("sh=rm,-rf,.orchestra until=.orchestra/tasks done")
        later = [self.start("done"), self.start("echo=after exit=0")]
        r = self.run_cli("run", "--wait")
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        for tid in [wiper] + later:
            self.assertEqual(self.task(tid)["status"], "completed")
        self.assertIn("after", self.log_text(later[1]))


if __name__ == "__main__":
    unittest.main()
