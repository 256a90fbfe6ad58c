"""`retry`: queue failed or cancelled tasks again, each as a new attempt, and re-open the tasks
that failed only because one did."""

from orchestra import dependencies, lease
from orchestra.commands import args, picked, resolve
from orchestra.errors import FAILED, OK, OrchestraError
from orchestra.store import Store
from orchestra.task import DEPENDENCY, Status
from orchestra.transitions import requeued

_GAVE_UP = (Status.FAILED.value, Status.CANCELLED.value)


def run(layout, console, ids=(), failed=False, where=None):
    """ids, or every failed task (`failed`) and/or the failed or cancelled tasks `where` (a
    filters.Filter) selects."""
    picked(ids, failed, where, "retry", "--failed")
    store = Store(layout)
    if ids:
        targets = [t.id for t in resolve(store, store.scan(), ids)]
    else:
        targets = _selected(store, failed, where)
        if not targets:
            which = "failed" if failed else "failed or cancelled"
            what = (where.describe() if where and where.statuses
                    else f"{which} {where.describe() if where else 'tasks'}")
            console.out(f"nothing to retry: no {what}")
            return OK
    code, hint = OK, "; " + lease.next_step(layout)
    for task_id in targets:
        try:
            code = max(code, _retry(store, console, task_id, hint, quiet_if_pending=not ids))
        except OrchestraError as e:
            if len(targets) == 1:
                raise
            console.warn(e.message)
            code = max(code, e.code)
    return code


def _selected(store, failed, where):
    """The selected tasks, the ones that failed for a dependency last: retrying the one they
    waited for re-opens them first."""
    tasks = store.scan().tasks.values()
    chosen = [t for t in tasks if t.status in _GAVE_UP
              and (not failed or t.state is Status.FAILED)
              and (not where or where.matches(t))]
    chosen.sort(key=lambda t: (t.reason == DEPENDENCY, t.order_key()))
    return [t.id for t in chosen]


def _retry(store, console, task_id, hint, quiet_if_pending=False):
    with store.locked():
        task = store.get(task_id)
        if task.state not in (Status.FAILED, Status.CANCELLED):
            if quiet_if_pending and task.state is Status.PENDING:
                return OK  # re-opened with a task it depends on, retried just before
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
    console.out(f"queued {task_id} again (attempt {int(task.attempt or 0) + 1}){hint}")
    if reopened:
        console.out(f"re-opened {len(reopened)} task{'s' if len(reopened) != 1 else ''} that "
                    f"depend on it: " + ", ".join(t.id for t in reopened))
    return OK


def register(sub):
    p = args.subparser(sub, "retry", help="queue failed or cancelled tasks again",
                       usage="%(prog)s [options] (ID... | --failed | filters)",
                       description="Queue failed or cancelled tasks again, each as a new "
                       "attempt with a fresh budget of automatic retries; the tasks that failed "
                       "only because one of them did are re-opened with it. Exit 1 if any "
                       "named task cannot be retried.",
                       epilog=args.examples(
                           ("orchestra retry ID1 ID2", "queue them again"),
                           ("orchestra retry --failed --agent claude", "every failed Claude task"),
                           ("orchestra retry --status cancelled --label docs",
                            "the cancelled tasks labelled docs")))
    p.add_argument("ids", nargs="*", metavar="ID", help="the tasks to queue again")
    p.add_argument("--failed", action="store_true", help="every failed task (with filters: "
                   "every failed task they select)")
    args.add_filters(p, "the failed or cancelled tasks")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, a.ids, failed=a.failed, where=args.task_filter(a)))
