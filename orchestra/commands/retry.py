"""`retry`: queue a failed or cancelled task again, as a new attempt, and re-open the tasks
that failed only because it did."""

from orchestra import dependencies, lease
from orchestra.commands import args, full_id
from orchestra.errors import FAILED, OrchestraError
from orchestra.store import Store
from orchestra.task import DEPENDENCY, Status
from orchestra.transitions import requeued

_GAVE_UP = (Status.FAILED.value, Status.CANCELLED.value)


def run(layout, console, task_id):
    task_id = full_id(layout, task_id)
    store = Store(layout)
    with store.locked():
        task = store.get(task_id)
        if task.state not in (Status.FAILED, Status.CANCELLED):
            raise OrchestraError(
                f"{task_id} is {task.status}; only failed or cancelled tasks can be retried", FAILED)
        tasks = store.scan().tasks
        if task.reason == DEPENDENCY:
            culprit = next((d for d in task.depends_on
                            if d not in tasks or tasks[d].status in _GAVE_UP), None)
            if culprit is not None:
                raise OrchestraError(f"{task_id} failed because {culprit} did not complete; "
                                     f"retry {culprit} instead (this one is re-opened with it)",
                                     FAILED)
        reopened = [tasks[d] for d in dependencies.descendants(task_id, tasks.values())
                    if tasks[d].status == Status.FAILED.value and tasks[d].reason == DEPENDENCY]

        def requeue(t):
            store.clear_sentinels(t.id)
            return requeued(t)

        for t in [task] + reopened:
            store.transition(t.id, requeue, expect=(Status.FAILED, Status.CANCELLED))
    hint = "" if lease.read_info(layout) else "; `orchestra run` starts it"
    console.out(f"queued {task_id} again (attempt {int(task.attempt or 0) + 1}){hint}")
    if reopened:
        console.out(f"re-opened {len(reopened)} task{'s' if len(reopened) != 1 else ''} that "
                    f"depend on it: " + ", ".join(t.id for t in reopened))
    return 0


def register(sub):
    p = args.subparser(sub, "retry", help="queue a failed or cancelled task again")
    p.add_argument("id", metavar="ID")
    p.set_defaults(func=lambda layout, console, a: run(layout, console, a.id))
