"""Which tasks the default status table shows when not all fit: every running task, the
pending ones that run next and the latest finished ones. Pure.

The rows read from past to future: finished tasks (the latest last), then running ones, then
pending ones in queue order (priority, then oldest first; dependencies and backoff can still
reorder them). Running tasks are never left out, even when they alone take more rows than
there are.
"""

import heapq

from orchestra.task import Status, queue_place

_RUNNING, _PENDING = Status.RUNNING, Status.PENDING


class Fitted:
    def __init__(self, tasks, finished_left, pending_left):
        self.tasks = tasks  # in the order to show them
        self.finished_left = finished_left
        self.pending_left = pending_left

    def note(self, style):
        """The line that says what is left out, or '' when nothing is."""
        parts = [f"{n:,} {what}" for n, what in ((self.finished_left, "finished"),
                                                  (self.pending_left, "pending")) if n]
        if not parts:
            return ""
        return (f"{style.ellipsis} {' and '.join(parts)} not shown; "
                "`orchestra status --all` shows every task")


def fit(tasks, rows):
    """At most `rows` of `tasks` (more only when running tasks alone are more). Pending and
    finished tasks share what the running ones leave, half each; a share one side does not
    need goes to the other."""
    running, pending, finished = [], [], []
    for t in tasks:
        # t.state, the times and not the task's id: what the scan cache has without
        # unpacking the task
        state = t.state
        (running if state is _RUNNING else pending if state is _PENDING else finished).append(t)
    return choose(finished, running, pending, rows, _finished_key, _queued_key, None)


def choose(finished, running, pending, rows, finished_key, queued_key, task):
    """fit() of the running tasks and of finished and pending ones given as anything: in the
    order of the tasks, ordered by finished_key and queued_key (of a task, its _finished_key
    and _queued_key), and turned into tasks by `task` (None: they are tasks)."""
    if len(finished) + len(running) + len(pending) <= rows:
        finished.sort(key=finished_key)
        pending.sort(key=queued_key)
        latest, first = finished, pending
    else:
        room = max(0, rows - len(running))
        n_pending = min(len(pending), max((room + 1) // 2, room - len(finished)))
        n_finished = min(len(finished), room - n_pending)
        latest = heapq.nlargest(n_finished, finished, key=finished_key)
        latest.reverse()
        first = heapq.nsmallest(n_pending, pending, key=queued_key)
    running.sort(key=_started_key)
    if task is not None:
        latest, first = list(map(task, latest)), list(map(task, first))
    return Fitted(latest + running + first, len(finished) - len(latest),
                  len(pending) - len(first))


def _queued_key(t):
    return t.memo(queue_place)[0]


def _finished_key(t):
    return (t.finished() or t.created(), t.created())


def _started_key(t):
    return (t.started() or t.created(), t.data["id"])
