"""How long runs have lasted and when backoffs end, on the monotonic clock.

Task files hold wall-clock times, and a step of the wall clock (NTP, `date -s`, a laptop
waking) must neither time a run out nor stretch a backoff. So the supervisor counts both from
the moment it launched a run or first saw it (or set the backoff): the wall clock is read once
there, the monotonic clock after. Both clocks are passed in, so tests can step either."""

import time

from orchestra.task import LIMIT, SCHEDULED, Status

_WALL = (LIMIT, SCHEDULED)


class RunClock:
    def __init__(self, wall=time.time, mono=time.monotonic):
        self.wall, self.mono = wall, mono
        self._began = {}  # task id -> ((id, attempt), monotonic time its run began)
        self._ready = {}  # task id -> (not_before, monotonic time it is reached)

    def launched(self, task):
        self._began[task.id] = ((task.id, task.attempt), self.mono())
        self._ready.pop(task.id, None)

    def elapsed(self, task, now):
        """Seconds the task's run has lasted (from its started_at, the first time it is seen)."""
        key = (task.id, task.attempt)
        began = self._began.get(task.id)
        mono = self.mono()
        if began is None or began[0] != key:
            began = self._began[task.id] = (key, mono - max(0.0, now - (task.started() or now)))
        return mono - began[1]

    def next_deadline(self, tasks, now):
        """When the first running task times out, as a wall-clock time."""
        times = [now + float(t.timeout) - self.elapsed(t, now) for t in tasks
                 if t.state is Status.RUNNING and t.timeout]
        return min(times) if times else None

    def settled(self, task, now):
        """The task's run was recorded at `now`; a backoff it got is counted from then."""
        self._began.pop(task.id, None)
        if task.state is Status.PENDING:
            self._note(task, now)

    def ready_at(self, task):
        """When a pending task's backoff ends, as a wall-clock time for the scheduler. A usage
        limit's reset is a time of day the agent named, and `start --at` one the user named,
        so those stay on the wall clock."""
        d = task.data
        if not d["not_before"] or d["reason"] in _WALL:
            return task.ready_at()
        now = self.wall()
        seen = self._ready.get(d["id"])
        if seen is None or seen[0] != d["not_before"]:
            seen = self._note(task, now)
        return now + seen[1] - self.mono()

    def _note(self, task, now):
        d = task.data
        if not d["not_before"] or d["reason"] in _WALL:
            return None
        seen = self._ready[d["id"]] = (d["not_before"], self.mono() + task.ready_at() - now)
        return seen
