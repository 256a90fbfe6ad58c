"""Settling running tasks: gather what can be observed of them, let reconcile decide, record
the decision. Used by the supervisor for its own children and adopted ones, and by `status`,
`wait` and `logs -f` for tasks no live supervisor watches."""

import os
import sys
import time

from orchestra import agents, debug, dependencies, logfile, process, settings
from orchestra.clock import iso
from orchestra.errors import OrchestraError
from orchestra.reconcile import Facts, decide
from orchestra.task import DEPENDENCY, LIMIT, Status
from orchestra.transitions import Outcome, finish, limited, with_usage, with_work


def sentinel_facts(store, snap, task, exited, exit_code, stream=None, tree_alive=None,
                   elapsed=None):
    """Facts from the task's sentinels. Once the process has ended they are looked up afresh:
    an agent may write .done and exit between our listing and now. `stream`: the verdict of
    the output as it arrived, when the caller followed it (else the log is read now)."""
    tid = task.id
    if exited:
        has = lambda kind: os.path.exists(store.layout.sentinel(tid, kind))  # noqa: E731
    else:
        has = lambda kind: snap.has(tid, kind)  # noqa: E731
    error, error_reason = store.read_error(tid, with_reason=True) if has("error") else (None, None)
    done = has("done")
    sentinel_at = None
    if done or error is not None:
        sentinel_at = store.sentinel_mtime(tid, "error" if error is not None else "done")
    limited = has("limit")
    said = done or error is not None
    return Facts(exited=exited, exit_code=exit_code, done=done, error=error,
                 error_reason=error_reason, cancelled=has("cancelled"), timed_out=has("timeout"),
                 limited=limited, reset_at=limit_reset(store, tid) if limited else None,
                 sentinel_at=sentinel_at,
                 verdict=(stream or read_verdict(store.layout, task)) if exited else None,
                 tree_alive=tree_alive, elapsed=elapsed,
                 last_words=(lambda: read_last_words(store.layout, task))
                 if exited and not said else None)


def limit_reset(store, tid):
    """The reset time a `.limit` mark holds (epoch seconds), or None: empty, or unreadable."""
    from orchestra.clock import parse_iso
    try:
        with open(store.layout.sentinel(tid, "limit"), "rb") as f:
            return parse_iso(f.read(64).decode("ascii").strip() or None)
    except (OSError, ValueError):
        return None


LOG_READ_MAX = 16 * 1024 * 1024  # the tail of a log that is parsed for the agent's verdict
WORDS_READ_MAX = 64 * 1024  # the tail of a log searched for the agent's last meaningful line


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
    text = _log_tail(layout, task, LOG_READ_MAX)
    try:
        return verdict.parse(task.output, text, time.time(), limit_patterns(layout, task))
    except ValueError as e:  # a bad limitPatterns regex: judge by exit code, and say why
        sys.stderr.write(f"{task.id}: cannot read its {task.output} output: {e}\n")
        return None


def timed_out_on_limit(layout, task, facts, decision, now):
    """`decision` again for a run no follower parses (adopted, or settled by `status`) that
    has timed out: one whose log says it waits on a usage limit is parked, not failed."""
    if decision is None or decision.record != "timeout" or not task.output:
        return decision
    v = read_verdict(layout, task)
    if v is None or not v.limited:
        return decision
    facts.limit, facts.reset_at = v.message, v.reset_at
    return decide(task, facts, now)


def read_last_words(layout, task):
    """The last meaningful line of the task's last run's output (lastwords.last_words)."""
    if task.phase:
        return None
    from orchestra.lastwords import last_words
    return last_words(_log_tail(layout, task, WORDS_READ_MAX))


def _log_tail(layout, task, most):
    """The last `most` bytes of the task's log as text, from a line's start; "" when unread."""
    try:
        with logfile.open_read(layout.log_file(task.id)) as f:
            start = max(0, os.fstat(f.fileno()).st_size - most)
            f.seek(start)
            data = f.read()
    except FileNotFoundError:
        return ""
    except OSError as e:  # a link planted after the launch, say: judged by the exit code
        sys.stderr.write(f"{task.id}: cannot read its log: {e}\n")
        return ""
    if start:  # the line cut by the seek is not read as if it were whole
        cut = data.find(b"\n")
        data = data[cut + 1:] if cut >= 0 else b""
    return data.decode("utf-8", "replace")


def orphan_facts(store, snap, task):
    """Facts about a running task whose process is no child of ours."""
    code = store.read_exit(task.id)
    exited = code is not None or not process.is_alive(task.pid, task.pid_start)
    if exited and code is None:
        code = store.read_exit(task.id)  # the wrapper may have written it as we looked
    tree_alive = not exited or process.run_alive(task.pid, task.pid_start, task.run_id())
    facts = sentinel_facts(store, snap, task, exited, code, tree_alive=tree_alive)
    if code is not None:
        facts.ended_at = store.sentinel_mtime(task.id, "exit")
    return facts


def retry_backoff(layout):
    s = settings.load(layout)
    return (float(s.retry_backoff_base), float(s.retry_backoff_cap))


def ended(task, decision, now, backoff=(2.0, 300.0)):
    """The task once `decision`'s outcome is recorded: with the run's usage, and final, pending
    for a retry, or pending until a usage limit lifts. Pure."""
    ran = with_usage(task, verdict=decision.verdict)
    when = decision.ended_at or now
    if decision.reason == LIMIT:
        return limited(ran, message=decision.error, reset_at=decision.reset_at, now=when,
                       exit_code=decision.outcome.exit_code)
    return finish(ran, outcome=decision.outcome, now=when, retry_backoff=backoff)


def apply(store, task, decision, now, backoff=(2.0, 300.0)):
    """Record a decided outcome if the task is still in the run it was decided for, with what
    the run left in its worktree committed; the new task or None."""
    work = save_work(store.layout, task, _said(decision))

    def change(current):
        after = ended(current, decision, now, backoff)
        return after if work is None else with_work(after, head=work[0], changes=work[1])

    done = store.transition(task.id, change, expect=(Status.RUNNING,), attempt=task.attempt)
    after = done[1] if done else None
    debug.log(f"{task.id}: {decision!r} -> {after.status if after else 'moved on'}")
    return after


def _said(decision):
    if decision.reason:
        return f"{decision.status.value} ({decision.reason})"
    return decision.status.value


def save_work(layout, task, outcome_word):
    """Commit what a run that has ended left in the task's worktree (worktree.save), once no
    process of it lives; (head, changes), or None. A commit that fails is said on stderr and
    leaves the work where it is, uncommitted: nothing removes a worktree with changes in it."""
    if task.isolation is None:
        return None
    from orchestra import git, worktree
    try:
        with open(layout.sentinel(task.id, "done"), "rb") as f:
            summary = f.read(4096).decode("utf-8", "replace")
    except OSError:
        summary = ""
    try:
        return worktree.save(layout, task, outcome_word, summary)
    except (git.GitError, OSError) as e:
        sys.stderr.write(f"orchestra: {task.id}: cannot commit its work on {task.branch}: "
                         f"{getattr(e, 'message', e)}\n")
        return None


def mark(store, task, decision):
    """Record a decided kill (the sentinel `decision.record`; a `.limit` holds the reset time,
    or nothing when unknown) while the task is still in that run; False if it moved on."""
    text = None
    if decision.record == "limit":
        text = iso(decision.reset_at) if decision.reset_at else ""
    return store.transition(task.id, expect=(Status.RUNNING,), attempt=task.attempt,
                            mark=decision.record, mark_text=text) is not None


def settle_orphans(store, now):
    """Settle every running task by observation alone, for a command run while no supervisor
    is alive. A decided kill is carried out here, to the end, before the task is judged: no
    outcome is recorded while one of its processes lives. A task whose record fails (a full
    disk) is left for a later look, said on stderr; the command goes on."""
    snap = store.scan()
    changed = []
    for task in snap.tasks.values():
        if task.state is not Status.RUNNING:
            continue
        try:
            after = _settle_orphan(store, task, snap, now)
        except OSError as e:
            sys.stderr.write(f"orchestra: cannot record the outcome of {task.id} yet: {e}\n")
            continue
        if after is not None:
            changed.append((task, after))
    return snap, changed


def _settle_orphan(store, task, snap, now):
    facts = orphan_facts(store, snap, task)
    decision = timed_out_on_limit(store.layout, task, facts, decide(task, facts, now), now)
    if decision is not None and decision.kill:
        if decision.record and not mark(store, task, decision):
            return None
        process.kill_run(task.pid, task.pid_start, task.run_id())
        decision = decide(task, orphan_facts(store, store.scan(), task), time.time())
    if decision is None or decision.outcome is None or decision.verify:
        return None  # still running, or its verification is a supervisor's to start
    after = apply(store, task, decision, now, retry_backoff(store.layout))
    if after is not None:
        process.release_run(task.run_id())
    return after


def fail_doomed(store, snap, now):
    """Fail the pending tasks whose dependencies failed or were cancelled (reason
    `dependency`); returns [(before, after)]. Safe to run from several processes at once."""
    changed = []
    for task, culprit, message in dependencies.doomed(snap.tasks.values()):
        outcome = Outcome(Status.FAILED, DEPENDENCY, message)
        done = store.transition(task.id, lambda t: finish(t, outcome=outcome, now=now),
                                expect=(Status.PENDING,))
        if done is None:
            continue
        snap.tasks[task.id] = done[1]
        changed.append((task, done[1]))
        debug.log(f"{task.id}: {message}")
    return changed
