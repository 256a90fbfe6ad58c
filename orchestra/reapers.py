"""The supervisor's reaper threads: they wait for its children, so that its loop need not."""

import queue
import threading
import time


class Reapers:
    """Threads that wait for our children and put (task id, exit status, exit time) on `exits`:
    the time is taken here, so that a tick that records the exit late does not stretch the
    run to when it was recorded. A thread done with one child waits for the next: starting a
    thread for every launch cost about as much as the rest of the launch's bookkeeping."""

    def __init__(self, exits):
        self.exits = exits
        self.jobs = queue.Queue()
        self.idle = 0
        self.mutex = threading.Lock()

    def watch(self, tid, proc):
        with self.mutex:
            start = self.idle == 0
            if not start:
                self.idle -= 1
        self.jobs.put((tid, proc))
        if start:
            threading.Thread(target=self._work, daemon=True).start()

    def _work(self):
        while True:
            tid, proc = self.jobs.get()
            code = proc.wait()
            ended_at = time.time()
            with self.mutex:
                # Idle before the exit is seen: the launch it frees a slot for may use us.
                self.idle += 1
            self.exits.put((tid, code, ended_at))
