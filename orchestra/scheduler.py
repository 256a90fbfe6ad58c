"""Which pending tasks to launch next: a pure function of the tasks, the clock and the limits."""

from orchestra.task import LIMIT, Status

_RUNNING = Status.RUNNING.value
_PENDING = Status.PENDING.value
_COMPLETED = Status.COMPLETED.value


def pick(tasks, free_slots, now, busy=(), agent_limits=None):
    """Up to `free_slots` tasks to launch now, highest priority first, then oldest (FIFO).

    A task qualifies when it is pending, past its retry backoff, not still occupying a
    process (`busy` ids), every task it depends on has completed, and its agent is below its
    `agent_limits[agent]` (maxParallel). A task held back by its agent's limit never holds back
    the tasks behind it, and within a priority the oldest ready task always goes first, so
    nothing starves.
    """
    if free_slots <= 0:
        return []
    tasks = list(tasks)
    limits = agent_limits or {}
    status = {t.id: t.data["status"] for t in tasks}
    in_use = {}
    for t in tasks:
        if status[t.id] == _RUNNING or t.id in busy:
            in_use[t.data["agent"]] = in_use.get(t.data["agent"], 0) + 1
    held = limited_agents(tasks, now)
    ready = [t for t in tasks
             if status[t.id] == _PENDING and t.ready_at() <= now and t.id not in busy
             and all(status.get(d) == _COMPLETED for d in t.data["depends_on"] or ())]
    ready.sort(key=lambda t: t.order_key())
    chosen = []
    for t in ready:
        agent = t.data["agent"]
        limit = limits.get(agent)
        if agent in held or (limit is not None and in_use.get(agent, 0) >= limit):
            continue
        chosen.append(t)
        in_use[agent] = in_use.get(agent, 0) + 1
        if len(chosen) == free_slots:
            break
    return chosen


def limited_agents(tasks, now):
    """agent -> when its usage limit lifts, for agents one of whose tasks waits one out: no
    task of that agent starts before then (it would only hit the same limit)."""
    held = {}
    for t in tasks:
        d = t.data
        if d["status"] == _PENDING and d["reason"] == LIMIT and t.ready_at() > now:
            held[d["agent"]] = max(held.get(d["agent"], 0.0), t.ready_at())
    return held


def next_wakeup(tasks, now):
    """When a pending task's backoff ends, if any is in the future."""
    times = [t.ready_at() for t in tasks if t.state is Status.PENDING and t.ready_at() > now]
    return min(times) if times else None


def drained(tasks):
    return not any(t.state in (Status.PENDING, Status.RUNNING) for t in tasks)
