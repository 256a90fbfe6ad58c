"""`clean`: delete finished tasks with all their files. Pending and running ones are never touched."""

import time

from orchestra.store import Store
from orchestra.task import Status


def run(layout, console, completed=False, failed=False, cancelled=False, clean_all=False,
        older_than=None):
    if clean_all:
        states = {Status.COMPLETED, Status.FAILED, Status.CANCELLED}
    else:
        states = {s for s, on in ((Status.COMPLETED, completed), (Status.FAILED, failed),
                                  (Status.CANCELLED, cancelled)) if on} or {Status.COMPLETED}
    store = Store(layout, persist_cache=True)
    now = time.time()
    removed = 0
    with store.locked():
        snap = store.scan()
        for problem in snap.problems:
            console.warn(problem)
        for task in snap.tasks.values():
            if task.state not in states:
                continue
            finished = task.finished() or task.created()
            if older_than is not None and now - finished < older_than:
                continue
            store.delete(task.id)
            removed += 1
    names = "/".join(sorted(s.value for s in states))
    console.out(f"removed {removed} {names} task{'s' if removed != 1 else ''}")
    return 0
