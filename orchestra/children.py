"""The supervisor's own children: the runs it started, and the threads that reap them, follow
their logs and kill them. The supervisor decides what happens to a run; this keeps the
bookkeeping of its processes and of the exits they report."""

import queue
import threading
import time

from orchestra import process
from orchestra.follow import Followers
from orchestra.reapers import Reapers


class Children:
    def __init__(self, layout):
        self.layout = layout
        self.procs = {}             # task id -> Popen of the run we started
        self.exits = queue.Queue()  # (task id, exit status, when) from the reapers
        self.reapers = Reapers(self.exits)
        self.exited = {}            # task id -> (exit status, when): taken off, not yet recorded
        self.followers = Followers(layout)  # parse and cap our children's logs off the loop
        self._killers = []

    def started(self, task, proc, offset, parse):
        """A run of `task` just started: reap it, and follow its log from `offset` (parsed
        as the task's output format when `parse` and it names one, else only capped)."""
        parser = None
        if parse and task.output:
            from orchestra import verdict
            from orchestra.settle import limit_patterns
            parser = verdict.StreamParser(task.output, time.time,
                                          limit_patterns(self.layout, task))
        self.procs[task.id] = proc
        self.followers.add(task.id, self.layout.log_file(task.id), offset, parser)
        self.reapers.watch(task.id, proc)

    def collect(self):
        """Take the exits the reapers reported into `exited`, where they stay until recorded:
        a tick that fails half-way (a full disk) must not lose the one event that says a child
        of ours ended."""
        while True:
            try:
                tid, code, ended_at = self.exits.get_nowait()
            except queue.Empty:
                return
            if tid is not None:  # None: a kill thread finished, which only wakes us
                self.exited[tid] = (code, ended_at)

    def quiet(self):
        """No child, and no exit reported or still to record."""
        return not self.procs and self.exits.empty() and not self.exited

    def wait(self, timeout):
        """Until a child exits or a kill ends, or `timeout` seconds; the exit is left for
        `collect`."""
        try:
            item = self.exits.get(timeout=max(0.0, timeout))
        except queue.Empty:
            return
        self.exits.put(item)

    def forget(self, tid):
        self.followers.drop(tid)
        self.procs.pop(tid, None)

    def kill(self, task):
        """End every process of the task's run, on a thread: the grace of a SIGTERM-ignoring
        agent must not hold up the loop. Its end wakes `wait`."""
        def kill():
            process.kill_run(task.pid, task.pid_start, task.run_id())
            self.exits.put((None, None, None))

        t = threading.Thread(target=kill, daemon=True)
        t.start()
        self._killers = [k for k in self._killers if k.is_alive()] + [t]

    def close(self):
        for t in self._killers:
            t.join()
        self.followers.close()
