"""Faults a careful operator tries: a killer that dies mid-kill, a pid that is not ours, a
moment of bad config, a full disk. Nothing may escape, nothing may be lost."""

import json
import os
import signal
import subprocess
import sys
import time
import unittest

from orchestra.clock import iso
from orchestra.task import FIELDS
from tests import test_e2e_supervision as supervision
from tests.helpers import fill_disk, pid_alive, wait_until


class FaultCase(supervision.E2ECase):
    def kill_supervisor(self):
        pid = wait_until(self.supervisor_pid, 5, message="a supervisor")
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: not pid_alive(pid), 5, message="the supervisor to die")

    def stubborn(self, *flags):
        """A running task, no supervisor, whose agent ignores SIGTERM; (id, agent pid)."""
        pids = self.path("agent.pids")
        tid = self.start(f"ignore-term pids={pids} sleep=60", *flags)
        self.ok("run")
        self.wait_disk_status(tid, "running")
        (agent,) = self.read_pids(pids, 1)
        self.kill_supervisor()
        return tid, agent


class OwedKillTest(FaultCase):
    def test_a_cancel_killed_during_its_grace_is_finished_by_the_next_status(self):
        tid, agent = self.stubborn()
        cancel = self.popen_cli("cancel", tid)
        wait_until(lambda: os.path.exists(self.sentinel(tid, "cancelled")), 5,
                   message="the cancel's mark")
        cancel.kill()  # within its 1 s grace: the agent ignored the SIGTERM
        cancel.wait()
        self.assertTrue(pid_alive(agent))
        self.assertEqual(self.task(tid)["status"], "running")  # never final while it lives

        self.assertEqual(self.status_json(tid)[tid]["status"], "cancelled")
        self.assertFalse(pid_alive(agent))

    def test_a_supervisor_killed_during_a_timeouts_grace_leaves_the_kill_owed(self):
        pids = self.path("agent.pids")
        tid = self.start(f"ignore-term pids={pids} sleep=60", "--timeout", "1")
        self.ok("run")
        (agent,) = self.read_pids(pids, 1)
        wait_until(lambda: os.path.exists(self.sentinel(tid, "timeout")), 5,
                   message="the timeout's mark")
        self.kill_supervisor()
        self.assertTrue(pid_alive(agent))
        self.assertEqual(self.task(tid)["status"], "running")

        t = self.status_json(tid)[tid]
        self.assertEqual((t["status"], t["reason"]), ("failed", "timeout"))
        self.assertFalse(pid_alive(agent))


class OnlyOursTest(FaultCase):
    def test_a_pid_without_or_with_another_start_time_is_never_signalled(self):
        bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"],
                                     start_new_session=True)
        self.addCleanup(lambda: (bystander.kill(), bystander.wait()))
        now = time.time()
        ms = int(now * 1000)
        tasks_dir = self.path(".orchestra", "tasks")
        os.makedirs(tasks_dir)
        ids = []
        for n, token in enumerate((None, "1")):
            tid = f"task_{ms:013d}_{n:06x}"
            data = dict(FIELDS, id=tid, agent="fake", prompt="sleep=60", status="running",
                        attempt=1, pid=bystander.pid, pid_start=token, timeout=1,
                        created_at=iso(now - 9), started_at=iso(now - 8))
            with open(os.path.join(tasks_dir, tid + ".json"), "w") as f:
                json.dump(data, f)
            ids.append(tid)
        # Past its timeout: `status` settles it, `cancel` is asked to kill it.
        tasks = self.status_json()
        self.assertEqual([tasks[t]["status"] for t in ids], ["failed", "failed"])
        for tid in ids:
            self.run_cli("retry", tid)
            with open(os.path.join(tasks_dir, tid + ".json")) as f:
                data = json.load(f)
            data.update(status="running", pid=bystander.pid, timeout=None)
            with open(os.path.join(tasks_dir, tid + ".json"), "w") as f:
                json.dump(data, f)
        self.ok("cancel", *ids)
        self.assertIsNone(bystander.poll())
        self.assertTrue(pid_alive(bystander.pid))
        # The cleanup must not reach the bystander either.
        for tid in ids:
            os.unlink(os.path.join(tasks_dir, tid + ".json"))


class ConfigTest(FaultCase):
    def test_a_config_that_cannot_be_read_holds_tasks_until_it_is_valid(self):
        tid = self.start("done")
        config = self.path(".orchestra-cli", "agent-config.json")
        with open(config) as f:
            good = f.read()
        with open(config, "w") as f:
            f.write(good[:len(good) // 2])  # half-saved
        self.ok("run")
        wait_until(lambda: self.task(tid)["reason"] == "config", 10,
                   message="the task to wait for its config")
        self.assertIn("waits: agent config", self.ok("status"))
        events = [json.loads(line) for line in self.ok("events", "--json").splitlines()]
        self.assertIn(("pending", "pending", "config"),
                      [(e["from"], e["to"], e["reason"]) for e in events])
        with open(config, "w") as f:
            f.write(good)
        self.assertEqual(self.wait_disk_status(tid, "completed")["attempt"], 1)

    def test_an_agent_that_is_really_gone_still_fails_its_launch(self):
        tid = self.start("done")
        self.write_config({"other": {"command": sys.executable, "args": ["-c", "pass"]}})
        self.run_cli("run", "--wait")
        t = self.task(tid)
        self.assertEqual((t["status"], t["reason"]), ("failed", "launch"))


class FullDiskTest(FaultCase):
    def setUp(self):
        super().setUp()
        self.tmpfs_project("2m")

    def test_cancel_on_a_full_disk_kills_first_and_records_once_there_is_space(self):
        filler = self.path("filler")
        tid, agent = self.stubborn()
        fill_disk(filler)
        r = self.run_cli("cancel", tid)
        self.assertFalse(pid_alive(agent))  # killed, whatever could be written
        self.assertNotIn("Traceback", r.stderr)
        if r.returncode != 0:
            self.assertIn("could not be recorded", r.stderr)
        os.unlink(filler)
        self.assertEqual(self.status_json(tid)[tid]["status"], "cancelled")

    def test_the_supervisor_keeps_an_exit_it_could_not_record(self):
        tid = self.start(f"until=go fill={self.path('filler')} exit=0")
        self.ok("run")
        sup = wait_until(self.supervisor_pid, 5, message="a supervisor")
        wrapper = self.wait_disk_status(tid, "running")["pid"]
        open(self.path("go"), "w").close()
        # The agent fills the disk and exits 0: neither its .exit nor the outcome fit.
        wait_until(lambda: not pid_alive(wrapper), 10, message="the agent to exit")
        with open(self.sentinel(tid, "exit"), "a+") as f:  # absent or empty: it did not fit
            f.seek(0)
            self.assertEqual(f.read(), "")
        self.assertTrue(pid_alive(sup), "the supervisor died on the full disk")
        self.assertEqual(self.task(tid)["status"], "running")
        os.unlink(self.path("filler"))
        t = self.wait_disk_status(tid, "completed", timeout=40)
        self.assertEqual(t["exit_code"], 0)


if __name__ == "__main__":
    unittest.main()
