"""The supervisor loop in-process: a failing disk must cost a retry, never a task."""

import errno
import io
import os
import shutil
import signal
import sys
import tempfile
import threading
import time
import unittest
from contextlib import redirect_stderr, redirect_stdout
from unittest import mock

from orchestra import lease
from orchestra.cli import make_console
from orchestra.commands import supervise
from orchestra.errors import OrchestraError
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.supervisor import Supervisor
from orchestra.task import Task, new_id
from tests.helpers import FAKE_AGENT, pid_alive


class InProcessCase(unittest.TestCase):
    prompt = "echo=ran done"

    def setUp(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.layout = Layout(self.root)
        os.makedirs(self.layout.config_dir)
        with open(self.layout.agent_config, "w") as f:
            f.write('{"agents": {"fake": {"command": "%s", "args": ["%s", "{prompt}"], '
                    '"promptTemplate": "{prompt}"}}}' % (sys.executable, FAKE_AGENT))
        self.store = Store(self.layout)
        self.task = Task.new(new_id(), "fake", self.prompt, 1_790_000_000.0, timeout=60)
        self.store.create(self.task)

    def supervise(self):
        lock = lease.lock_for(self.layout)
        self.assertTrue(lock.acquire(timeout=0))
        err = io.StringIO()
        try:
            with redirect_stderr(err):
                Supervisor(self.layout, lock, 1).run()
        finally:
            if lock.held:
                lock.release()
        return err.getvalue()


class FullDiskTest(InProcessCase):
    def test_a_launch_that_cannot_be_recorded_is_killed_and_tried_again(self):
        real_save = Store.save
        failures = []

        def save(store, task, before=None, **options):
            if task.status == "running" and not failures:
                failures.append(task.pid)
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_save(store, task, before, **options)

        with mock.patch.object(Store, "save", save):
            log = self.supervise()
        self.assertIn("tick failed", log)
        self.assertIn("No space left on device", log)
        done = self.store.get(self.task.id)
        self.assertEqual((done.status, done.attempt), ("completed", 1))
        with open(self.layout.log_file(self.task.id)) as f:
            text = f.read()
        # The unrecorded first launch was killed before it could print; the second ran.
        self.assertEqual(text.count("=== orchestra:"), 2)
        self.assertEqual(text.count("ran"), 1)

    def test_a_ctrl_c_during_a_launch_waits_till_the_run_is_recorded(self):
        from orchestra import process
        self.store.delete(self.task.id)
        real_spawn = process.spawn
        for where in ("spawned", "recorded"):
            task = Task.new(new_id(), "fake", "until=go done", 1_790_000_000.0)
            self.store.create(task)
            real_record = Store.record

            spawned = []

            def spawn(*a, **k):
                proc = real_spawn(*a, **k)
                spawned.append(proc)
                if where == "spawned":  # started, not yet recorded
                    signal.raise_signal(signal.SIGINT)
                return proc

            def record(store, before, *afters):
                real_record(store, before, *afters)
                if where == "recorded" and afters[0].status == "running":
                    signal.raise_signal(signal.SIGINT)  # recorded, the transition not ended

            with mock.patch.object(process, "spawn", spawn), \
                    mock.patch.object(Store, "record", record), process.StopSignals(), \
                    self.assertRaises(KeyboardInterrupt):
                self.supervise()
            pid = self.store.get(task.id).pid
            self.assertEqual(self.store.get(task.id).status, "running", where)
            self.addCleanup(lambda: pid_alive(pid) and os.kill(pid, 9))
            # A kill would have been done, and the wrapper reaped, before the interrupt went on.
            self.assertTrue(pid_alive(pid), f"the run was killed ({where})")
            with open(os.path.join(self.root, "go"), "w"):
                pass
            self.assertEqual(spawned[0].pid, pid)
            self.assertEqual(spawned[0].wait(timeout=10), 0)  # it ends when told to, on its own
            os.unlink(os.path.join(self.root, "go"))
            self.store.delete(task.id)

    def test_a_ctrl_c_in_a_tick_lands_at_the_wait_after_it(self):
        from orchestra import hooks, process
        real_poll = hooks.Runner.poll
        runners, polled = [], []

        def poll(runner):
            runners.append(runner)
            first = len(runners) == 1
            if first:
                signal.raise_signal(signal.SIGINT)  # mid-tick: in a queue's put, it could be
            real_poll(runner)
            if first:
                polled.append(1)

        with mock.patch.object(hooks.Runner, "poll", poll), process.StopSignals(), \
                self.assertRaises(KeyboardInterrupt):
            self.supervise()
        self.assertGreaterEqual(len(polled), 1, "the tick did not finish before the interrupt")
        self.assertFalse(runners[0]._thread.is_alive(), "the hooks' thread outlived its close")

    def unrecorded_run(self, prompt):
        """A run started as a supervisor starts one, whose record was never written: that
        supervisor was SIGKILLed between the two."""
        from orchestra import executor
        self.store.delete(self.task.id)
        self.task = Task.new(new_id(), "fake", prompt, 1_790_000_000.0)
        self.store.create(self.task)
        return executor.launch(self.layout, self.task, 1, time.time())

    def assertRanOnce(self):
        done = self.store.get(self.task.id)
        self.assertEqual((done.status, done.attempt), ("completed", 1))
        with open(self.layout.log_file(self.task.id)) as f:
            self.assertEqual(f.read().count("=== orchestra:"), 1, "the task was run again")

    def test_a_run_that_was_started_but_never_recorded_is_adopted_not_run_again(self):
        proc = self.unrecorded_run("sleep=0.5 echo=once done")
        reaper = threading.Thread(target=proc.wait)  # its dead parent's part, as init would
        reaper.start()
        self.supervise()
        reaper.join()
        self.assertRanOnce()

    def test_one_that_has_ended_unrecorded_is_judged_by_its_exit_status(self):
        proc = self.unrecorded_run("echo=once done")
        self.assertEqual(proc.wait(timeout=10), 0)
        self.supervise()
        self.assertRanOnce()

    def test_one_gone_without_a_word_is_started_afresh(self):
        proc = self.unrecorded_run("sleep=30")
        from orchestra import process
        process.kill_run(proc.pid, process.start_token(proc.pid), f"{self.task.id}.1", grace=0)
        proc.wait(timeout=10)  # its wrapper killed too: no exit status left
        self.assertFalse(os.path.exists(self.layout.sentinel(self.task.id, "exit")))
        task = self.store.get(self.task.id)
        task.update(prompt="echo=again done")
        self.store.save(task)
        self.supervise()
        done = self.store.get(self.task.id)
        self.assertEqual((done.status, done.attempt), ("completed", 1))
        with open(self.layout.log_file(self.task.id)) as f:
            self.assertEqual(f.read().count("=== orchestra:"), 2)

    def test_launch_records_do_not_wait_for_the_disk_and_leave_nothing_behind(self):
        real_save = Store.save
        durable = {}

        def save(store, task, before=None, **options):
            durable[task.status] = options.get("durable", True)
            return real_save(store, task, before, **options)

        with mock.patch.object(Store, "save", save):
            self.supervise()
        self.assertEqual(durable, {"running": False, "completed": True})
        self.assertEqual(self.store.get(self.task.id).status, "completed")
        hidden = [n for n in os.listdir(self.layout.tasks) if n.startswith(".")]
        self.assertEqual(hidden, [])

    def test_in_the_foreground_a_failing_tick_is_one_line_and_it_gives_up(self):
        def save(store, task, before=None, **options):
            raise OSError(errno.ENOSPC, "No space left on device")

        lock = lease.lock_for(self.layout)
        self.assertTrue(lock.acquire(timeout=0))
        self.addCleanup(lambda: lock.held and lock.release())
        err = io.StringIO()
        with mock.patch.object(Store, "save", save), mock.patch("time.sleep"), \
                redirect_stderr(err), self.assertRaises(OrchestraError) as caught:
            Supervisor(self.layout, lock, 1, give_up_after=3).run()
        self.assertIn("3 ticks failed in a row, giving up", caught.exception.message)
        self.assertIn("No space left on device", caught.exception.message)
        lines = err.getvalue().splitlines()
        self.assertEqual(len(lines), 2, lines)  # the two retried ticks, a line each
        self.assertIn("tick failed (1 in a row), retrying in 1s: [Errno 28] No space left", lines[0])
        self.assertNotIn("Traceback", err.getvalue())

    def test_a_failing_outcome_write_is_retried_until_it_lands(self):
        real_save = Store.save
        failures = []

        def save(store, task, before=None, **options):
            if task.status == "completed" and len(failures) < 1:
                failures.append(1)
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_save(store, task, before, **options)

        with mock.patch.object(Store, "save", save):
            self.supervise()
        done = self.store.get(self.task.id)
        self.assertEqual((done.status, done.attempt, done.exit_code), ("completed", 1, 0))

    def test_the_background_supervisor_outlives_a_log_it_cannot_write(self):
        class FullDisk(io.StringIO):
            def write(self, text):
                raise OSError(errno.ENOSPC, "No space left on device")

            def flush(self):
                self.write("")

        real_save = Store.save
        failures = []

        def save(store, task, before=None, **options):
            if task.status == "completed" and not failures:
                failures.append(1)  # the tick fails, and so does saying so
                raise OSError(errno.ENOSPC, "No space left on device")
            return real_save(store, task, before, **options)

        log = FullDisk()
        console = make_console(True, stdout=log, stderr=log)
        with mock.patch.object(Store, "save", save), mock.patch("time.sleep"), \
                redirect_stdout(log), redirect_stderr(log):
            code = supervise.run(self.layout, console, parallel=1)
        self.assertEqual(code, 0)
        self.assertEqual(failures, [1])
        self.assertEqual(self.store.get(self.task.id).status, "completed")


class ClockStepTest(InProcessCase):
    prompt = "sleep=1 done"

    def supervise_with(self, step):
        """Supervise with a wall clock that steps `step` seconds once the task is running."""
        def clock():
            running = self.store.get(self.task.id).status == "running"
            return time.time() + (step if running else 0)

        lock = lease.lock_for(self.layout)
        self.assertTrue(lock.acquire(timeout=0))
        self.addCleanup(lambda: lock.held and lock.release())
        Supervisor(self.layout, lock, 1, clock=clock).run()
        return self.store.get(self.task.id)

    def test_a_wall_clock_step_back_does_not_stretch_a_retrys_backoff(self):
        self.store.delete(self.task.id)
        self.task = Task.new(new_id(), "fake", "flaky=2 done", time.time(), max_retries=1)
        self.store.create(self.task)

        def clock():  # an hour back once the first run has failed
            return time.time() - (3600 if self.store.get(self.task.id).retries else 0)

        lock = lease.lock_for(self.layout)
        self.assertTrue(lock.acquire(timeout=0))
        self.addCleanup(lambda: lock.held and lock.release())
        sup = Supervisor(self.layout, lock, 1, clock=clock)
        runner = threading.Thread(target=sup.run, daemon=True)
        runner.start()
        runner.join(20)  # the 2 s backoff, not an hour
        sup.stop_requested = runner.is_alive()
        self.assertFalse(runner.is_alive(), "the retry waited for the wall clock")
        self.assertEqual(self.store.get(self.task.id).status, "completed")

    def test_a_wall_clock_step_moves_no_deadline(self):
        # An hour ahead: a task with a minute's timeout that runs a second is not timed out.
        done = self.supervise_with(3600)
        self.assertEqual((done.status, done.reason), ("completed", None))


if __name__ == "__main__":
    unittest.main()


class StreamedOutputTest(unittest.TestCase):
    def test_own_childrens_output_is_parsed_as_it_arrives_not_reread(self):
        root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, root, True)
        layout = Layout(root)
        os.makedirs(layout.config_dir)
        fake = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fake_claude.py")
        with open(layout.agent_config, "w") as f:
            f.write('{"agents": {"claude": {"command": "%s", "args": ["%s", "{prompt}"], '
                    '"promptTemplate": "{prompt}", "output": "claude-json"}}}'
                    % (sys.executable, fake))
        store = Store(layout)
        task = Task.new(new_id(), "claude", "ok", 1_790_000_000.0, output="claude-json")
        store.create(task)
        lock = lease.lock_for(layout)
        self.assertTrue(lock.acquire(timeout=0))
        self.addCleanup(lambda: lock.held and lock.release())
        with mock.patch("orchestra.settle.read_verdict", return_value=None) as reread:
            Supervisor(layout, lock, 1).run()
        self.assertEqual(reread.call_count, 0, "the log was read again at the end")
        done = store.get(task.id)
        self.assertEqual((done.status, done.session_id, done.cost_usd), ("completed", "sess-1", 0.25))
