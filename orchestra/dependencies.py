"""The task dependency graph: pure functions over tasks (their `depends_on` lists). No I/O."""

from orchestra.task import Status, queue_place

COMPLETED = Status.COMPLETED.value


def unmet(task, status_of):
    """The dependencies of `task` that have not completed (`status_of`: id -> status or None)."""
    return [d for d in task.data["depends_on"] or () if status_of.get(d) != COMPLETED]


def doomed(tasks):
    """Pending tasks that can never run, with the culprit: [(task, culprit_id, message)].

    A dependency that ended failed (no retries left: it would be pending otherwise) or
    cancelled dooms its dependents, and so on down the graph; a dependency whose task file
    is gone dooms them too. A dependency still pending for a retry keeps them waiting.
    """
    # From the scan cache, queue_place is read without unpacking the task.
    pending = [t for t in tasks if t.state is Status.PENDING and t.memo(queue_place)[1]]
    if not pending:
        return []  # the common case, on every supervisor tick
    by_id = {t.id: t for t in pending}
    status = {t.id: t.data["status"] for t in tasks}
    return [(by_id[tid], dep, message) for tid, dep, message
            in doomed_ids([(t.id, t.data["depends_on"]) for t in pending], status)]


def doomed_ids(pending, status):
    """doomed() as [(id, culprit_id, message)], of `pending`: [(id, depends_on)] of the
    pending tasks that depend on some, in the tasks' order; `status`: id -> status word of
    every task, which it changes (a doomed task reads as failed to its dependents)."""
    out, changed = [], True
    while changed:
        changed = False
        for tid, deps in pending:
            if status[tid] != Status.PENDING.value:
                continue
            for dep in deps:
                state = status.get(dep)
                if state in (Status.FAILED.value, Status.CANCELLED.value):
                    message = f"dependency {dep} {state}"
                elif state is None:
                    message = f"dependency {dep} no longer exists"
                else:
                    continue
                status[tid] = Status.FAILED.value
                out.append((tid, dep, message))
                changed = True
                break
    return out


def children(tasks):
    """id -> ids of the tasks that depend on it."""
    out = {}
    for t in tasks:
        for dep in t.data["depends_on"] or ():
            out.setdefault(dep, []).append(t.id)
    return out


def descendants(task_id, tasks):
    """Every task that depends on `task_id`, directly or not, nearest first."""
    kids, seen, order, frontier = children(tasks), {task_id}, [], [task_id]
    while frontier:
        nxt = []
        for tid in frontier:
            for kid in kids.get(tid, ()):
                if kid not in seen:
                    seen.add(kid)
                    order.append(kid)
                    nxt.append(kid)
        frontier = nxt
    return order


def problems(tasks):
    """What is wrong with the graph: active tasks depending on missing tasks, and cycles."""
    by_id = {t.id: t for t in tasks}
    found = []
    for t in sorted(tasks, key=lambda t: t.id):
        if t.data["status"] not in (Status.PENDING.value, Status.RUNNING.value):
            continue  # a finished task's dependencies may since have been archived or cleaned
        for dep in t.data["depends_on"] or ():
            if dep not in by_id:
                found.append(f"{t.id} depends on {dep}, which does not exist")
    white, grey, black = 0, 1, 2
    color = {tid: white for tid in by_id}
    for root in sorted(by_id):
        if color[root] != white:
            continue
        stack = [(root, iter(by_id[root].data["depends_on"] or ()))]
        path = [root]
        color[root] = grey
        while stack:
            tid, deps = stack[-1]
            dep = next(deps, None)
            if dep is None:
                color[tid] = black
                stack.pop()
                path.pop()
            elif dep in by_id and color[dep] == grey:
                cycle = path[path.index(dep):] + [dep]
                found.append("cycle: " + " -> ".join(cycle))
            elif dep in by_id and color[dep] == white:
                color[dep] = grey
                path.append(dep)
                stack.append((dep, iter(by_id[dep].data["depends_on"] or ())))
    return found
