"""How a run ends and how a task changes: the pure transitions. Each takes a task as it is and
gives the task it becomes; Store.transition applies them under the lock, to the task as re-read
there. No I/O."""

from orchestra import limits
from orchestra.clock import iso
from orchestra.task import (BACKOFF_CAP, CONFIG, EDITABLE, ERROR, EXIT, LAUNCH, LIMIT, LOST,
                            NOT_RETRIED, SCHEDULED, VERIFY, Status)


class Outcome:
    """How a run ended: its status, with the reason, message and exit code recorded with it."""

    __slots__ = ("status", "reason", "error", "exit_code")

    def __init__(self, status, reason=None, error=None, exit_code=None):
        self.status, self.reason, self.error, self.exit_code = status, reason, error, exit_code

    def __eq__(self, other):
        return isinstance(other, Outcome) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self):
        return f"Outcome({self.status.value}, {self.reason!r}, {self.error!r}, {self.exit_code!r})"


def outcome(completion, exit_code, done, error, error_reason=None):
    """How a run ended, from what it left behind.

    `done`: the agent wrote `.done`; `error`: the message of its `.error`, or None, and
    `error_reason` the reason it names (`setup`), if any.
    `exit_code` None means the process vanished without a recorded exit status.
    """
    if error is not None:
        return Outcome(Status.FAILED, error_reason or ERROR, error, exit_code)
    if done and completion != "exit":
        return Outcome(Status.COMPLETED, None, None, exit_code)
    if exit_code is None:
        return Outcome(Status.FAILED, LOST,
                       "the process ended without a recorded exit status or sentinel")
    if completion == "sentinel":
        return Outcome(Status.FAILED, EXIT, f"exited with code {exit_code} without writing .done",
                       exit_code)
    if exit_code == 0:
        return Outcome(Status.COMPLETED, None, None, 0)
    return Outcome(Status.FAILED, EXIT, f"exited with code {exit_code}", exit_code)


def backoff(attempt, base=2.0, cap=BACKOFF_CAP):
    try:
        return min(cap, base ** max(1, attempt))
    except OverflowError:  # float ** raises past ~1e308 (attempt 1024 at base 2)
        return cap


def finish(task, *, outcome, now, retry_backoff=(2.0, BACKOFF_CAP)):
    """The task after its run ended: final, or pending again when it has automatic retries left,
    `retry_backoff` = (base, cap): the n-th retry waits min(cap, base ** n) seconds.

    Doing both in one step is what makes a failure cause exactly one retry.
    """
    t = task.copy()
    t.update(status=outcome.status.value, reason=outcome.reason, error=outcome.error,
             exit_code=outcome.exit_code, finished_at=iso(now), phase=None)
    d = t.data
    if (outcome.status is Status.FAILED and outcome.reason not in NOT_RETRIED
            and int(d["retries"] or 0) < int(d["max_retries"] or 0)):
        t.update(status=Status.PENDING.value, retries=int(d["retries"] or 0) + 1,
                 not_before=iso(now + backoff(int(d["attempt"] or 1), *retry_backoff)))
    return t


def limited(task, *, message, reset_at, now, exit_code=None, base=300.0, cap=6 * 3600.0,
            soon=30.0):
    """The task after a usage limit stopped its run (which ended with `exit_code`): pending
    again, not before the limit lifts (`reset_at`; `soon` when that passed a moment ago; or a
    doubling guess from 5 minutes when the agent gave no time, or one long past), without
    using up a retry."""
    t = task.copy()
    hits = int(t.data["limits"] or 0) + 1
    if reset_at and reset_at > now - limits.PAST_GRACE:
        until = reset_at if reset_at > now else now + soon
    else:
        until = now + min(cap, base * 2 ** (hits - 1))
    t.update(status=Status.PENDING.value, reason=LIMIT, error=message, exit_code=exit_code,
             finished_at=iso(now), not_before=iso(until), limits=hits, phase=None)
    return t


def held(task, *, message, now, wait=2.0):
    """A pending task whose launch must wait for the agent config to be readable and valid
    again: still pending, with why, tried again in `wait` seconds. Uses no retry."""
    t = task.copy()
    t.update(reason=CONFIG, error=message, not_before=iso(now + wait))
    return t


def with_usage(task, *, verdict):
    """The task with what the agent reported of this run: its session id, and tokens and cost
    added to those of earlier attempts."""
    if verdict is None:
        return task
    t = task.copy()
    d = t.data
    changes = {}
    if verdict.session_id:
        changes["session_id"] = verdict.session_id
    for key in ("tokens_in", "tokens_out", "cost_usd"):
        value = getattr(verdict, key)
        if value is not None:
            changes[key] = (d[key] or 0) + value
    if changes:
        t.update(**changes)
    return t


def verifying(task, *, pid, pid_start):
    """The task once the agent reported success and its verification command started."""
    t = task.copy()
    t.update(phase=VERIFY, pid=pid, pid_start=pid_start)
    return t


def launched(task, *, pid, pid_start, now):
    t = task.copy()
    t.update(status=Status.RUNNING.value, phase=None, attempt=int(t.data["attempt"] or 0) + 1,
             pid=pid, pid_start=pid_start, started_at=iso(now), finished_at=None,
             not_before=None, exit_code=None, reason=None, error=None, waiting=None)
    return t


def waiting(task, *, ids, pid, pid_start):
    """A running task whose agent now blocks in `orchestra wait` (process `pid`) for `ids`.
    Waits of one process at once add up (an MCP server answers an agent's parallel calls on
    threads): each wait's ids are kept, repeated where two wait for the same task."""
    w = task.data["waiting"]
    if w and (w["pid"], w["pid_start"]) == (pid, pid_start):
        ids = list(w["ids"]) + list(ids)
    t = task.copy()
    t.update(waiting={"ids": list(ids), "pid": pid, "pid_start": pid_start})
    return t


def waited(task, *, ids, pid, pid_start):
    """That wait of process `pid` is over: its ids leave the task's `waiting`, which is gone
    once none is left; None (no change) when the task waits through another process now."""
    w = task.data["waiting"]
    if not w or (w["pid"], w["pid_start"]) != (pid, pid_start):
        return None
    left = list(w["ids"])
    for tid in ids:
        if tid in left:
            left.remove(tid)
    t = task.copy()
    t.update(waiting=dict(w, ids=left) if left else None)
    return t


def launch_failed(task, *, error, now, reason=LAUNCH, retry_backoff=(2.0, BACKOFF_CAP)):
    """A launch that could not start its process: a run of its own that failed (reason
    `launch`, never retried; `setup` or `merge` for its worktree)."""
    return finish(launched(task, pid=None, pid_start=None, now=now),
                  outcome=Outcome(Status.FAILED, reason, error), now=now,
                  retry_backoff=retry_backoff)


def cancelled(task, *, now):
    """A pending task cancelled, or a running one once its processes are gone."""
    t = task.copy()
    t.update(status=Status.CANCELLED.value, reason=None, error="cancelled", exit_code=None,
             finished_at=iso(now), not_before=None, phase=None)
    return t


def requeued(task):
    """A failed or cancelled task queued again by hand: a fresh budget of automatic retries."""
    t = task.copy()
    t.update(status=Status.PENDING.value, retries=0, not_before=None, reason=None,
             error=None, exit_code=None, finished_at=None, pid=None, pid_start=None)
    return t


def retimed(task, *, timeout):
    """The task with a new timeout (None: none), counted from its start."""
    t = task.copy()
    t.update(timeout=timeout)
    return t


def edited(task, **changes):
    """A pending task with the fields of EDITABLE given: `not_before` is a time (seconds since
    the epoch) it may start at, or None for as soon as it can, and replaces whatever held it
    back (a retry's backoff, a usage limit's wait): the user's word is the last. A task parked
    on a usage limit stays so (reason `limit`), at the new time: its next run resumes its
    session."""
    unknown = set(changes) - set(EDITABLE)
    if unknown:
        raise TypeError(f"not editable: {', '.join(sorted(unknown))}")
    t = task.copy()
    if "depends_on" in changes:
        changes["depends_on"] = list(changes["depends_on"])
    if "not_before" in changes:
        at = changes["not_before"]
        changes["not_before"] = iso(at)
        if t.data["reason"] != LIMIT:
            changes.update(reason=SCHEDULED if at is not None else None, error=None)
    t.update(**changes)
    return t


def placed(task, *, worktree, branch, base):
    """A pending isolated task with the worktree and branch it is to run in (before they are
    made: a launch that dies half-way leaves a record of what to reuse or clean)."""
    t = task.copy()
    t.update(worktree=worktree, branch=branch, base=base)
    return t


def with_work(task, *, head, changes):
    """The task with its branch's head and `changes` ([files, added, removed]) since its base,
    as committed when a run ended."""
    t = task.copy()
    t.update(head=head, changes=list(changes))
    return t


def merged(task, *, into, now):
    t = task.copy()
    t.update(merged=iso(now), merged_into=into)
    return t


def retired(task):
    """The task once its worktree is removed, its work committed on its branch, which stays
    (a retry makes the worktree again on it)."""
    t = task.copy()
    t.update(worktree=None)
    return t


def unplaced(task):
    """The task once its worktree is gone and its branch deleted (merged, or discarded)."""
    t = task.copy()
    t.update(worktree=None, branch=None)
    return t
