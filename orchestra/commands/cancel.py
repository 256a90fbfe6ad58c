"""`cancel`: pending tasks become cancelled; running ones have their process tree killed."""

import time

from orchestra import process
from orchestra.clock import iso
from orchestra.errors import FAILED, OK, OrchestraError
from orchestra.store import Store, check_id
from orchestra.task import ACTIVE, Status
from orchestra.commands import args


def run(layout, console, ids=(), cancel_all=False, running_only=False):
    """running_only (for `daemon stop --kill`): every running task, and no pending one."""
    cancel_all = cancel_all or running_only
    if not ids and not cancel_all:
        raise OrchestraError("name the tasks to cancel, or use --all")
    for task_id in ids:
        check_id(task_id)
    store = Store(layout)
    now = time.time()
    to_kill, code = [], OK
    with store.locked():
        if cancel_all:
            wanted = (Status.RUNNING,) if running_only else ACTIVE
            targets = sorted(t.id for t in store.scan().tasks.values() if t.state in wanted)
            if not targets:
                console.out("nothing to cancel: no " + ("running" if running_only else
                                                        "pending or running") + " tasks")
                return OK
        else:
            targets = ids
        for task_id in targets:
            task = store.get(task_id)
            if task.is_final:
                console.warn(f"{task_id} is already {task.status}; nothing to cancel")
                code = FAILED
                continue
            was = task.state
            # The sentinel first: if we die before the task file is saved, reconcile finishes it.
            store.write_sentinel(task_id, "cancelled", iso(now) + "\n")
            after = task.copy()
            after.update(status=Status.CANCELLED.value, reason=None, error="cancelled",
                              finished_at=iso(now), not_before=None)
            store.save(after, task)
            if was is Status.RUNNING:
                to_kill.append((task.pid, task.pid_start, f"{task.id}.{task.attempt}"))
            console.out(f"cancelled {task_id} (was {was.value})")
    _kill_all(to_kill)
    return code


def _kill_all(runs, grace=process.KILL_GRACE, poll=0.02):
    """SIGTERM every run at once, then SIGKILL what is left after the grace. A run is
    (pid, pid_start, run_id), as process.signal_run takes it."""
    for run in runs:
        process.signal_run(*run)
    deadline = time.monotonic() + grace
    left = list(runs)
    while left and time.monotonic() < deadline:
        time.sleep(poll)
        alive = process.alive_runs(left)
        left = [run for run in left if run[2] in alive]
    for run in runs:
        if run in left:
            process.kill_run(*run, grace=0)
        else:
            process.release_run(run[2])


def register(sub):
    p = args.subparser(sub, "cancel", help="cancel tasks",
                       description="Cancel pending tasks; kill running ones with their whole "
                       "process tree (SIGTERM, then SIGKILL after 1 s).")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--all", action="store_true", help="every pending and running task")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, ids=a.ids, cancel_all=a.all))
