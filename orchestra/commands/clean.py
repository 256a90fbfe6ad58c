"""`clean`: delete finished tasks with all their files. Pending and running ones are never touched."""

import time

from orchestra.store import Store
from orchestra.task import Status
from orchestra.commands import args


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
        # A pending task must still find what it waits on: keep its dependencies.
        needed = {d for t in snap.tasks.values() if not t.is_final for d in t.data["depends_on"]}
        kept = 0
        for task in snap.tasks.values():
            if task.state not in states:
                continue
            if task.id in needed:
                kept += 1
                continue
            finished = task.finished() or task.created()
            if older_than is not None and now - finished < older_than:
                continue
            store.delete(task.id)
            removed += 1
    names = "/".join(sorted(s.value for s in states))
    console.out(f"removed {removed} {names} task{'s' if removed != 1 else ''}"
                + (f"; kept {kept} that pending tasks depend on" if kept else ""))
    return 0


def register(sub):
    p = args.subparser(sub, "clean", help="delete finished tasks and their files",
                       description="Delete finished tasks with their json, sentinels, plan and "
                       "log. Without a state flag, completed tasks. Never touches pending or "
                       "running tasks.")
    p.add_argument("--completed", action="store_true")
    p.add_argument("--failed", action="store_true")
    p.add_argument("--cancelled", action="store_true")
    p.add_argument("--all", action="store_true", help="completed, failed and cancelled")
    p.add_argument("--older-than", type=args.seconds, metavar="DURATION",
                   help="only tasks finished at least this long ago, e.g. 7d, 12h")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, completed=a.completed, failed=a.failed, cancelled=a.cancelled,
        clean_all=a.all, older_than=a.older_than))
