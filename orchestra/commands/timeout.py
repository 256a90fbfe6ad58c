"""`timeout`: set or change the timeout of a pending or running task (0 removes it)."""

import time

from orchestra.clock import human
from orchestra.errors import FAILED, OrchestraError
from orchestra.store import Store
from orchestra.task import ACTIVE
from orchestra.transitions import retimed
from orchestra.commands import args, full_id


def run(layout, console, task_id, seconds):
    task_id = full_id(layout, task_id)
    store = Store(layout)
    done = store.transition(task_id, lambda t: retimed(t, timeout=seconds or None),
                            expect=ACTIVE)
    if done is None:
        task = store.get(task_id)
        raise OrchestraError(f"{task_id} is already {task.status}; its timeout no longer applies",
                             FAILED)
    after = done[1]
    if not seconds:
        console.out(f"{task_id}: no timeout")
    elif after.deadline() is not None:
        left = after.deadline() - time.time()
        when = f"times out in {human(left)}" if left > 0 else "past its deadline: it is stopped now"
        console.out(f"{task_id}: timeout {seconds:g}s, {when}")
    else:
        console.out(f"{task_id}: timeout {seconds:g}s from its start")
    return 0


def register(sub):
    p = args.subparser(sub, "timeout", help="set a task's timeout",
                       description="Set or change the timeout of a pending or running task, "
                       "counted from its start; 0 removes it. It applies to the running process.",
                       epilog=args.examples(("orchestra timeout ID 45m", "stop it 45 minutes after it started"),
                                            ("orchestra timeout ID 0", "no timeout")))
    p.add_argument("id", metavar="ID", help="a pending or running task")
    p.add_argument("seconds", type=args.seconds_or_zero, metavar="DURATION",
                   help=f"the new limit: {args.DURATION_FORMS}; 0 for none")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, a.id, a.seconds))
