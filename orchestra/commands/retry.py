"""`retry`: queue a failed or cancelled task again, as a new attempt."""

from orchestra import lease
from orchestra.errors import FAILED, OrchestraError
from orchestra.store import Store
from orchestra.task import Status, requeued
from orchestra.commands import args


def run(layout, console, task_id):
    store = Store(layout)
    with store.locked():
        task = store.get(task_id)
        if task.state not in (Status.FAILED, Status.CANCELLED):
            raise OrchestraError(
                f"{task_id} is {task.status}; only failed or cancelled tasks can be retried", FAILED)
        store.clear_sentinels(task_id)
        store.save(requeued(task))
    hint = "" if lease.read_info(layout) else "; `orchestra run` starts it"
    console.out(f"queued {task_id} again (attempt {int(task.attempt or 0) + 1}){hint}")
    return 0


def register(sub):
    p = args.subparser(sub, "retry", help="queue a failed or cancelled task again")
    p.add_argument("id", metavar="ID")
    p.set_defaults(func=lambda layout, console, a: run(layout, console, a.id))
