"""Starting a task's process and recording it, as one transition: the agent of a pending task,
or the verification command of a running one. The supervisor keeps the bookkeeping (its
children, their reapers and followers); this module keeps the rule that no process it starts
outlives a failure to record it."""

import os

from orchestra import debug, executor, process
from orchestra.task import (VERIFY, Outcome, Status, finish, held, launch_failed, launched,
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

    def change(current):
        if current.data["not_before"] and ready_at(current) > now:
            return None
        store.clear_sentinels(task.id)
        try:
            offset.append(os.path.getsize(layout.log_file(task.id)))
        except OSError:
            offset.append(0)
        try:
            proc = executor.launch(layout, current, int(current.attempt or 0) + 1, now)
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
    offset = os.path.getsize(layout.log_file(task.id)) if proc else 0
    return Started(done[0], done[1], proc, offset)


def _record_or_kill(store, task, change, started, **options):
    """store.transition, killing the process `change` started (in `started`, with its run id)
    if the record fails: an unrecorded process would be started again, so it must not outlive
    the failure.

    A record of a running process does not wait for the disk: it matters while the process
    lives, and a crash of the machine that could lose it ends the process too. After one the
    task reads as pending (and runs again) or as running with its process gone (lost), never
    as nothing: see Store.save."""
    try:
        return store.transition(task.id, change, durable=lambda t: not started, **options)
    except BaseException:
        for proc, run_id in started:
            process.kill_run(proc.pid, process.start_token(proc.pid), run_id, grace=0)
            proc.wait()
            process.release_run(run_id)  # once the wrapper is reaped
        raise
