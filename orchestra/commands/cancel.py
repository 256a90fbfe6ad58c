"""`cancel`: pending tasks become cancelled; running ones have every process of their run
killed first, and are recorded cancelled once none is left."""

import time

from orchestra import process
from orchestra.errors import FAILED, OK
from orchestra.store import Store
from orchestra.settle import read_verdict, save_work
from orchestra.task import ACTIVE, Status
from orchestra.transitions import cancelled, with_usage, with_work
from orchestra.commands import args, full_ids, picked


def run(layout, console, ids=(), cancel_all=False, running_only=False, where=None):
    """running_only (for `daemon stop --kill`): every running task, and no pending one;
    where: a filters.Filter, selecting among the pending and running tasks."""
    cancel_all = cancel_all or running_only or bool(where)
    picked(ids, cancel_all, where, "cancel")
    ids = full_ids(layout, ids)
    store = Store(layout)
    if cancel_all:
        wanted = (Status.RUNNING,) if running_only else ACTIVE
        targets = sorted(t.id for t in store.scan().tasks.values() if t.state in wanted
                         and (not where or where.matches(t)))
        if not targets:
            console.out("nothing to cancel: no " + ("running" if running_only else
                                                    "pending or running") + " tasks"
                        + (f" among the {where.describe()}" if where else ""))
            return OK
    else:
        targets = ids
    code, running = OK, []
    for task_id in targets:
        task = store.get(task_id)
        if task.is_final:
            console.warn(f"{task_id} is already {task.status}; nothing to cancel")
            code = FAILED
            continue
        if task.state is Status.RUNNING:
            running.append(task)
            continue
        now = time.time()
        done = store.transition(task_id, lambda t: cancelled(t, now=now), expect=(Status.PENDING,))
        if done is None:  # launched meanwhile: cancelled as a running task
            running.append(store.get(task_id))
            continue
        console.out(f"cancelled {task_id} (was pending)")
    if running:
        code = max(code, _cancel_running(store, console, running))
    return code


def _cancel_running(store, console, tasks, grace=process.KILL_GRACE, poll=0.02):
    """Kill first, then record: the signals need no disk, so an agent filling the disk can be
    stopped. The `.cancelled` mark comes before the signals (a supervisor that sees the agent
    die must judge it cancelled, not failed), and is written empty when the disk is full: it
    makes the kill owed, so should this command die during the grace, the next `status`,
    `cancel`, `run` or supervisor completes it before the task is recorded cancelled."""
    unmarked = {}
    for t in tasks:
        try:
            store.transition(t.id, expect=(Status.RUNNING,), attempt=t.attempt, mark="cancelled")
        except OSError as e:
            unmarked[t.id] = e
    for t in tasks:
        process.signal_run(t.pid, t.pid_start, t.run_id())
    deadline = time.monotonic() + grace
    left = list(tasks)
    while left and time.monotonic() < deadline:
        time.sleep(poll)
        alive = process.alive_runs((t.pid, t.pid_start, t.run_id()) for t in left)
        left = [t for t in left if t.run_id() in alive]
    for t in left:
        process.kill_run(t.pid, t.pid_start, t.run_id(), grace=0)
    code = OK
    for t in tasks:
        now = time.time()
        work = save_work(store.layout, t, "cancelled")
        said = read_verdict(store.layout, t)  # its session and tokens so far are kept

        def change(current):
            after = cancelled(with_usage(current, verdict=said), now=now)
            return after if work is None else with_work(after, head=work[0], changes=work[1])

        try:
            done = store.transition(t.id, change, expect=(Status.RUNNING,), attempt=t.attempt)
        except OSError as e:
            where = ("its .cancelled mark is written, so `orchestra status` records it once there "
                     "is space" if t.id not in unmarked else
                     "run `orchestra cancel` again once there is space")
            console.warn(f"{t.id}: its processes were killed, but the cancel could not be "
                         f"recorded ({e.strerror or e}); {where}")
            code = FAILED
            continue
        process.release_run(t.run_id())
        if done is not None or store.get(t.id).state is Status.CANCELLED:
            console.out(f"cancelled {t.id} (was running)")
        else:
            console.warn(f"{t.id} ended before it could be cancelled: {store.get(t.id).status}")
            code = FAILED
    return code


def register(sub):
    p = args.subparser(sub, "cancel", help="cancel tasks",
                       description="Cancel pending tasks; kill running ones with every process "
                       "they started (SIGTERM, then SIGKILL after 1 s), then record them "
                       "cancelled.",
                       epilog=args.examples(
                           ("orchestra cancel ID", "cancel one task"),
                           ("orchestra cancel ID1 ID2", "several"),
                           ("orchestra cancel --all", "everything pending or running")))
    p.add_argument("ids", nargs="*", metavar="ID", help="the tasks to cancel")
    p.add_argument("--all", action="store_true", help="every pending and running task")
    args.add_filters(p, "the pending and running tasks")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, ids=a.ids, cancel_all=a.all, where=args.task_filter(a)))
