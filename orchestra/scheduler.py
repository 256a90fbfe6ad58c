"""Which pending tasks to launch next: a pure function of the tasks, the clock and the limits."""

from orchestra.task import LIMIT, Status, Task

_RUNNING = Status.RUNNING.value
_PENDING = Status.PENDING.value
_COMPLETED = Status.COMPLETED.value


def pick(tasks, free_slots, now, busy=(), agent_limits=None, ready_at=Task.ready_at, loans=()):
    """Up to `free_slots` tasks to launch now, highest priority first, then oldest (FIFO),
    and for each of `loans` (sets of ids: see `loans`) one more among those ids.

    A task qualifies when it is pending, past its retry backoff, not still occupying a
    process (`busy` ids), every task it depends on has completed, and its agent is below its
    `agent_limits[agent]` (maxParallel). A task held back by its agent's limit never holds back
    the tasks behind it, and within a priority the oldest ready task always goes first, so
    nothing starves. `ready_at(task)`: when its backoff ends (the supervisor measures that on
    the monotonic clock).
    """
    if free_slots <= 0 and not loans:
        return []
    # One pass with plain dict reads: the supervisor calls this on every tick it launches on,
    # over every task of the project.
    status, in_use, pending = {}, {}, []
    for t in tasks:
        d = t.data
        tid, state = d["id"], d["status"]
        status[tid] = state
        if state == _PENDING:
            pending.append(t)
        if state == _RUNNING or tid in busy:
            in_use[d["agent"]] = in_use.get(d["agent"], 0) + 1
    if not pending:
        return []
    limits = agent_limits or {}
    held = limited_agents(pending, now)
    ready = []
    for t in pending:
        d = t.data
        if d["id"] in busy or (d["not_before"] and ready_at(t) > now):
            continue
        deps = d["depends_on"]
        if deps and any(status.get(dep) != _COMPLETED for dep in deps):
            continue
        ready.append(t)
    ready.sort(key=Task.order_key)
    chosen = []

    def take(t):
        agent = t.data["agent"]
        limit = limits.get(agent)
        if t in chosen or agent in held or (limit is not None and in_use.get(agent, 0) >= limit):
            return False
        chosen.append(t)
        in_use[agent] = in_use.get(agent, 0) + 1
        return True

    for t in ready:
        if len(chosen) >= free_slots:
            break
        take(t)
    for wanted in loans:
        for t in ready:
            if t.data["id"] in wanted and take(t):
                break
    return chosen


def loans(tasks, alive):
    """The slots of running tasks whose agents block in `orchestra wait` (the `waiting` field,
    while `alive(waiting)` says that wait's process lives) for tasks not yet final: a task
    waiting on sub-tasks it queued would otherwise hold a slot they need, and with every slot
    so held nothing would run again. Each such task lends its slot to what it waits for (and
    what that depends on). Returns (riders, open): riders, how many running tasks use a lent
    slot (not to be counted against `parallel`); open, the id sets of the loans still free."""
    lenders = [t for t in tasks if t.state is Status.RUNNING and t.data["waiting"]]
    riders, free, taken = 0, [], set()
    if not lenders:  # every launch tick asks; almost always nobody waits
        return riders, free
    by_id = {t.data["id"]: t for t in tasks}
    for t in lenders:
        w = t.data["waiting"]
        if not alive(w):
            continue
        wanted = _unfinished(w["ids"], by_id)
        if not wanted:
            continue
        rider = next((i for i in sorted(wanted)
                      if by_id[i].data["status"] == _RUNNING and i not in taken), None)
        if rider is None:
            free.append(wanted)
        else:
            taken.add(rider)
            riders += 1
    return riders, free


def _unfinished(ids, by_id):
    """`ids` and what they depend on, transitively, that is pending or running."""
    found, todo = set(), list(ids)
    while todo:
        tid = todo.pop()
        t = by_id.get(tid)
        if tid in found or t is None or t.data["status"] not in (_PENDING, _RUNNING):
            continue
        found.add(tid)
        todo.extend(t.data["depends_on"])
    return found


def limited_agents(tasks, now):
    """agent -> when its usage limit lifts, for agents one of whose tasks waits one out: no
    task of that agent starts before then (it would only hit the same limit)."""
    held = {}
    for t in tasks:
        d = t.data
        if d["status"] == _PENDING and d["reason"] == LIMIT and t.ready_at() > now:
            held[d["agent"]] = max(held.get(d["agent"], 0.0), t.ready_at())
    return held


def next_wakeup(tasks, now, ready_at=Task.ready_at):
    """When a pending task's backoff ends, if any is in the future."""
    times = [ready_at(t) for t in tasks
             if t.data["not_before"] and t.state is Status.PENDING and ready_at(t) > now]
    return min(times) if times else None


def drained(tasks):
    return not any(t.state in (Status.PENDING, Status.RUNNING) for t in tasks)
