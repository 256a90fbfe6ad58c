"""Which pending tasks to launch next: a pure function of the tasks, the clock and free slots."""

from orchestra.task import Status


def pick(tasks, free_slots, now, busy=()):
    """Up to `free_slots` tasks to launch now: pending, past their retry backoff, not still
    occupying a process (`busy` ids), highest priority first, then oldest (FIFO)."""
    if free_slots <= 0:
        return []
    ready = [t for t in tasks
             if t.state is Status.PENDING and t.ready_at() <= now and t.id not in busy]
    ready.sort(key=lambda t: t.order_key())
    return ready[:free_slots]


def next_wakeup(tasks, now):
    """When a pending task's backoff ends, if any is in the future."""
    times = [t.ready_at() for t in tasks if t.state is Status.PENDING and t.ready_at() > now]
    return min(times) if times else None


def drained(tasks):
    return not any(t.state in (Status.PENDING, Status.RUNNING) for t in tasks)
