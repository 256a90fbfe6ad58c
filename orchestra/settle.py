"""Settling running tasks: gather what can be observed of them, let reconcile decide, record
the decision. Used by the supervisor for its own children and adopted ones, and by `status`,
`wait` and `logs -f` for tasks no live supervisor watches."""

import os
import sys
import time

from orchestra import agents, debug, dependencies, process, settings
from orchestra.clock import iso
from orchestra.errors import OrchestraError
from orchestra.reconcile import Facts, decide
from orchestra.task import DEPENDENCY, LIMIT, Status, finish, limited, with_usage


def sentinel_facts(store, snap, task, exited, exit_code, stream=None):
    """Facts from the task's sentinels. Once the process has ended they are looked up afresh:
    an agent may write .done and exit between our listing and now. `stream`: the verdict of
    the output as it arrived, when the caller followed it (else the log is read now)."""
    tid = task.id
    if exited:
        has = lambda kind: os.path.exists(store.layout.sentinel(tid, kind))  # noqa: E731
    else:
        has = lambda kind: snap.has(tid, kind)  # noqa: E731
    error = store.read_error(tid) if has("error") else None
    done = has("done")
    sentinel_at = None
    if done or error is not None:
        sentinel_at = store.sentinel_mtime(tid, "error" if error is not None else "done")
    return Facts(exited=exited, exit_code=exit_code, done=done, error=error,
                 cancelled=has("cancelled"), timed_out=has("timeout"), sentinel_at=sentinel_at,
                 verdict=(stream or read_verdict(store.layout, task)) if exited else None)


LOG_READ_MAX = 16 * 1024 * 1024  # the tail of a log that is parsed for the agent's verdict


def limit_patterns(layout, task):
    try:
        return agents.get(layout, task.agent).spec.get("limitPatterns", ())
    except OrchestraError:
        return ()


def read_verdict(layout, task):
    """What the agent's output says of its last run, for agents that name an output format."""
    if not task.output or task.phase:
        return None
    from orchestra import verdict
    try:
        with open(layout.log_file(task.id), "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - LOG_READ_MAX))
            text = f.read().decode("utf-8", "replace")
    except FileNotFoundError:
        text = ""
    try:
        return verdict.parse(task.output, text, time.time(), limit_patterns(layout, task))
    except ValueError as e:  # a bad limitPatterns regex: judge by exit code, and say why
        sys.stderr.write(f"{task.id}: cannot read its {task.output} output: {e}\n")
        return None


def orphan_facts(store, snap, task):
    """Facts about a running task whose process is no child of ours."""
    code = store.read_exit(task.id)
    exited = code is not None or not process.is_alive(task.pid, task.pid_start)
    if exited and code is None:
        code = store.read_exit(task.id)  # the wrapper may have written it as we looked
    facts = sentinel_facts(store, snap, task, exited, code)
    if code is not None:
        facts.ended_at = store.sentinel_mtime(task.id, "exit")
    return facts


def retry_backoff(layout):
    s = settings.load(layout)
    return (float(s.retry_backoff_base), float(s.retry_backoff_cap))


def apply(store, task, decision, now, backoff=(2.0, 300.0)):
    """Record a decision if the task is still in the run it was made for; the new task or None."""
    with store.locked():
        current = store.get(task.id)
        if current.state is not Status.RUNNING or current.attempt != task.attempt:
            return None
        if decision.record:
            store.write_sentinel(task.id, decision.record, iso(now) + "\n")
        before = current
        if decision.verdict is not None:
            current = with_usage(current, decision.verdict)
        if decision.reason == LIMIT:
            after = limited(current, decision.error, decision.reset_at, decision.ended_at or now)
        else:
            after = finish(current, decision.status, decision.reason, decision.error,
                           decision.exit_code, decision.ended_at or now, backoff)
        store.save(after, before)
    process.release_run(f"{task.id}.{task.attempt}")  # its cgroup, unless processes are left
    debug.log(f"{task.id}: {decision!r} -> {after.status}")
    return after


def settle_orphans(store, now):
    """Settle every running task by observation alone; the caller holds the supervisor lock."""
    snap = store.scan()
    changed = []
    backoff = None
    for task in snap.tasks.values():
        if task.state is not Status.RUNNING:
            continue
        decision = decide(task, orphan_facts(store, snap, task), now)
        if decision is None or decision.verify:
            continue  # starting a verification is a supervisor's job
        if decision.status is None:
            # Judged on a later look, once it has exited.
            process.kill_run(task.pid, task.pid_start, f"{task.id}.{task.attempt}")
            continue
        backoff = backoff or retry_backoff(store.layout)
        after = apply(store, task, decision, now, backoff)
        if after is not None:
            changed.append((task, after))
            if decision.kill:
                process.kill_run(task.pid, task.pid_start, f"{task.id}.{task.attempt}")
    return snap, changed


def fail_doomed(store, snap, now):
    """Fail the pending tasks whose dependencies failed or were cancelled (reason
    `dependency`); returns [(before, after)]. Safe to run from several processes at once."""
    changed = []
    for task, culprit, message in dependencies.doomed(snap.tasks.values()):
        with store.locked():
            try:
                current = store.get(task.id)
            except OrchestraError:
                continue
            if current.state is not Status.PENDING:
                continue
            after = finish(current, Status.FAILED, DEPENDENCY, message, None, now)
            store.save(after, current)
        snap.tasks[task.id] = after
        changed.append((task, after))
        debug.log(f"{task.id}: {message}")
    return changed
