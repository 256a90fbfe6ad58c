"""`clean`: delete finished tasks with all their files. Pending and running ones are never touched."""

import time

from orchestra import tidy
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

    def chosen(snap):
        # A pending task must still find what it waits on: keep its dependencies.
        needed = {d for t in snap.tasks.values() if not t.is_final for d in t.data["depends_on"]}
        tasks, kept = [], 0
        for task in snap.tasks.values():
            if task.state not in states or task.id in stays:
                continue
            if task.id in needed:
                kept += 1
                continue
            finished = task.finished() or task.created()
            if older_than is None or now - finished >= older_than:
                tasks.append(task)
        return tasks, kept

    stays = set()
    snap = store.scan()
    for problem in snap.problems:
        console.warn(problem)
    # Worktrees and branches first, outside the lock (git takes its time): a task whose
    # worktree holds work that could not be committed is kept, a branch with work on it stays.
    kept, notes = tidy.before_removal(store, chosen(snap)[0], "cleaned")
    stays.update(kept)
    for note in notes:
        console.warn(note)
    with store.locked():
        tasks, kept = chosen(store.scan())
        for task in tasks:
            store.delete(task.id)
    removed = len(tasks)
    names = "/".join(sorted(s.value for s in states))
    console.out(f"removed {removed} {names} task{'s' if removed != 1 else ''}"
                + (f"; kept {kept} that pending tasks depend on" if kept else "")
                + (f"; kept {len(stays)} whose worktree holds uncommitted work" if stays else ""))
    return 0


def register(sub):
    p = args.subparser(sub, "clean", help="delete finished tasks and their files",
                       description="Delete finished tasks with their json, sentinels, plan and "
                       "log. Without a state flag, completed tasks. Never touches pending or "
                       "running tasks.",
                       epilog=args.examples(
                           ("orchestra clean", "delete the completed tasks"),
                           ("orchestra clean --failed --cancelled", "those that did not complete"),
                           ("orchestra clean --all --older-than 7d", "every finished task a week old")))
    p.add_argument("--completed", action="store_true", help="completed tasks (the default)")
    p.add_argument("--failed", action="store_true", help="failed tasks")
    p.add_argument("--cancelled", action="store_true", help="cancelled tasks")
    p.add_argument("--all", action="store_true", help="completed, failed and cancelled")
    p.add_argument("--older-than", type=args.seconds, metavar="DURATION",
                   help="only tasks finished at least this long ago, e.g. 7d, 12h")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, completed=a.completed, failed=a.failed, cancelled=a.cancelled,
        clean_all=a.all, older_than=a.older_than))
