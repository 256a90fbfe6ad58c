"""Starting a task's process and recording it, as one transition: the agent of a pending task,
or the verification command of a running one. The supervisor keeps the bookkeeping (its
children, their reapers and followers); this module keeps the rule that no process it starts
outlives a failure to record it."""

import mmap
import os

from orchestra import debug, executor, logfile, process
from orchestra.task import MERGE, SETUP, VERIFY, WORKTREE, Status
from orchestra.transitions import (Outcome, finish, held, launch_failed, launched, placed,
                                   verifying, with_usage)


class Started:
    """What a launch did: `before` and `after` the transition; `proc` the Popen, or None when
    no process was started (a launch failure, a task held for its config); `offset` where this
    run's output begins in the log."""

    __slots__ = ("before", "after", "proc", "offset")

    def __init__(self, before, after, proc, offset=0):
        self.before, self.after, self.proc, self.offset = before, after, proc, offset


def launch(store, task, now, ready_at):
    """Launch a pending task if it is still pending and due (`ready_at(task)`); a Started, or
    None when it is gone or not due any more."""
    layout = store.layout
    started, offset = [], []
    setup = None
    left = _unrecorded(layout, task)
    if left is not None:
        return _adopt(store, task, now, *left)
    if task.isolation == WORKTREE:
        placed_task = _place(store, task, now, ready_at)
        if placed_task is None or isinstance(placed_task, Started):
            return placed_task
        task, setup = placed_task

    def change(current):
        if current.data["not_before"] and ready_at(current) > now:
            return None
        if current.branch != task.branch:
            return None  # placed again meanwhile (by another launch): that one runs it
        store.clear_sentinels(task.id)
        offset.append(_log_size(layout, task))
        try:
            proc = executor.launch(layout, current, int(current.attempt or 0) + 1, now, setup)
        except executor.ConfigError as e:
            debug.log(f"{task.id}: held: {e}")
            return held(current, message=str(e), now=now)
        except executor.LaunchError as e:
            debug.log(f"{task.id}: cannot launch: {e}")
            return launch_failed(current, error=str(e), now=now)
        after = launched(current, pid=proc.pid, pid_start=process.start_token(proc.pid), now=now)
        started.append((proc, after.run_id()))
        return after

    done = _record_or_kill(store, task, change, started, expect=(Status.PENDING,))
    if done is None or done[1] is done[0]:
        return None
    return Started(done[0], done[1], started[0][0] if started else None, offset[0])


def _place(store, task, now, ready_at):
    """Make an isolated task's worktree and branch before its launch, outside the store lock
    (a checkout of a large repository takes a while). What is to be made is recorded first,
    so a launch cut short leaves a worktree that the next one reuses, or `clean` finds.
    Returns (the task as recorded, the setup command line to run first or None); a Started
    when the worktree cannot be made (the run fails: reason `merge` or `setup`); None when
    the task moved on."""
    from orchestra import git, settings, worktree
    from orchestra.errors import NotFound
    layout = store.layout
    try:
        where, branch = worktree.placement(layout, task)
    except git.GitError as e:
        return _failed(store, task, now, SETUP, e.message)
    if (where, branch) != (task.worktree, task.branch):
        done = store.transition(task.id, lambda c: placed(c, worktree=where, branch=branch,
                                                          base=c.base), expect=(Status.PENDING,))
        if done is None or (done[1].not_before and ready_at(done[1]) > now):
            return None
        task = done[1]
    try:
        deps = [store.get(d) for d in task.depends_on]
    except NotFound:
        deps = []  # cleaned since it completed: its branch, if merged, is in the base
    s = settings.load(layout)
    try:
        start, fresh = worktree.make(layout, task, deps, s.worktree_copy)
    except worktree.Conflict as e:
        return _failed(store, task, now, MERGE, e.message)
    except (git.GitError, OSError) as e:
        why = getattr(e, "message", None) or f"{getattr(e, 'strerror', None) or e}"
        return _failed(store, task, now, SETUP, f"cannot make its worktree: {why}")
    if start != task.base:
        done = store.transition(task.id, lambda c: placed(c, worktree=where, branch=branch,
                                                          base=start), expect=(Status.PENDING,))
        if done is None:
            return None
        task = done[1]
    setup = s.worktree_setup if s.worktree_setup and (fresh or task.reason == SETUP) else None
    return task, setup


def _failed(store, task, now, reason, message):
    from orchestra.settle import retry_backoff
    backoff = retry_backoff(store.layout)
    done = store.transition(task.id, lambda c: launch_failed(c, error=message, now=now,
                                                             reason=reason,
                                                             retry_backoff=backoff),
                            expect=(Status.PENDING,))
    debug.log(f"{task.id}: {reason}: {message}")
    return None if done is None else Started(done[0], done[1], None)


def verify(store, task, verdict, now, backoff):
    """The agent of a running task reported success: start its verification command, as part
    of the same run (the task stays running, in phase "verify"). A Started, or None when the
    run moved on; a verification that cannot start is the run's outcome (reason `verify`)."""
    layout = store.layout
    started = []

    def change(current):
        if current.phase:
            return None
        ran = with_usage(current, verdict=verdict)
        try:
            os.unlink(layout.sentinel(task.id, "exit"))
        except FileNotFoundError:
            pass
        try:
            proc = executor.launch_verify(layout, ran)
        except executor.LaunchError as e:
            return finish(ran, outcome=Outcome(Status.FAILED, VERIFY, str(e)), now=now,
                          retry_backoff=backoff)
        started.append((proc, ran.run_id()))
        return verifying(ran, pid=proc.pid, pid_start=process.start_token(proc.pid))

    done = _record_or_kill(store, task, change, started, expect=(Status.RUNNING,),
                           attempt=task.attempt)
    if done is None or done[1] is done[0]:
        return None
    proc = started[0][0] if started else None
    return Started(done[0], done[1], proc, _log_size(layout, task) if proc else 0)


def _unrecorded(layout, task):
    """The task's next run, if a supervisor started it and died before recording it (a
    SIGKILL between the two): its log has the run's header. (attempt, pid) while its wrapper
    lives, (attempt, None) once it has left its exit status; None if there is no such run,
    or it is gone without a word (then it is started afresh)."""
    attempt = int(task.attempt or 0) + 1
    header = f"=== orchestra: {task.id} attempt {attempt},".encode()
    try:
        with logfile.open_read(layout.log_file(task.id)) as f:
            if os.fstat(f.fileno()).st_size < len(header):
                return None  # the common case: never launched, an empty log
            with mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_READ) as text:
                if text.rfind(header) < 0:
                    return None
    except (OSError, ValueError):
        return None
    exit_path = layout.sentinel(task.id, "exit")
    pid = process.wrapper_of(f"{task.id}.{attempt}", exit_path)
    if pid is None and not os.path.exists(exit_path):
        return None
    return attempt, pid


def _adopt(store, task, now, attempt, pid):
    """Record the unrecorded run as this task's run, to be judged as any other (by its exit
    status and sentinels) rather than started a second time."""
    token = process.start_token(pid) if pid else None

    def change(current):
        if int(current.attempt or 0) + 1 != attempt:
            return None
        return launched(current, pid=pid if token else None, pid_start=token, now=now)

    done = store.transition(task.id, change, expect=(Status.PENDING,))
    if done is None or done[1] is done[0]:
        return None
    debug.log(f"{task.id}: adopted its unrecorded run (attempt {attempt}, pid {pid})")
    return Started(done[0], done[1], None)


def _log_size(layout, task):
    """Where the next run's output begins in the task's log (0 when it cannot be told)."""
    try:
        return os.path.getsize(layout.log_file(task.id))
    except OSError:
        return 0


def _record_or_kill(store, task, change, started, **options):
    """store.transition, killing the process `change` started (in `started`, with its run id)
    if the record fails: an unrecorded process would be started again, so it must not outlive
    the failure.

    A record of a running process does not wait for the disk: it matters while the process
    lives, and a crash of the machine that could lose it ends the process too. After one the
    task reads as pending (and runs again) or as running with its process gone (lost), never
    as nothing: see Store.save."""
    with process.uninterrupted():  # a Ctrl-C waits: between the two it would lose the run
        try:
            return store.transition(task.id, change, durable=lambda t: not started, **options)
        except BaseException:
            for proc, run_id in started:
                process.kill_run(proc.pid, process.start_token(proc.pid), run_id, grace=0)
                proc.wait()
                process.release_run(run_id)  # once the wrapper is reaped
            raise
