"""`wait`: block until tasks reach a final outcome (after any automatic retries)."""

import os
import time

from orchestra import lease, process
from orchestra.commands import refresh
from orchestra.errors import FAILED, INTERRUPTED, OK, TIMED_OUT, USAGE, OrchestraError
from orchestra.store import Store
from orchestra.table import printable
from orchestra.task import Status
from orchestra.transitions import waited, waiting
from orchestra.commands import args, full_ids


def run(layout, console, ids, timeout=None, every=False, where=None, cancelled=None):
    """ids, or the tasks chosen at the call: every pending and running one (`every`) and/or
    those `where` (a filters.Filter) selects. `cancelled`: an event that, once set, ends the
    wait as Ctrl-C does (exit 130)."""
    from orchestra.commands import picked
    picked(ids, every, where, "wait for")
    ids = full_ids(layout, ids)
    store = Store(layout, persist_cache=True)
    start = time.monotonic()
    if ids:
        snap = store.scan()
        ids = [t.id for t in _resolve(store, snap, ids)]  # unknown ids fail before any waiting
    else:
        snap = refresh(store, time.time())
        me = os.environ.get("ORCHESTRA_TASK_ID")  # an agent's `wait --all` is for the others
        chosen = [t for t in snap.tasks.values() if t.id != me
                  and (not every or not t.is_final) and (not where or where.matches(t))]
        if not chosen:
            what = where.describe() if where else "tasks"
            console.out(f"nothing to wait for: no {'pending or running ' if every else ''}{what}")
            return OK
        ids = [t.id for t in sorted(chosen, key=lambda t: (t.created(), t.id))]
    me = _waiting_task(snap, ids)
    if me is None:
        return _wait(layout, console, store, ids, timeout, start, cancelled)
    # An agent waiting on tasks (sub-tasks it queued, most likely): its slot is theirs while
    # it waits (scheduler.loans), so they run even when every slot is taken by such waits.
    pid = os.getpid()
    token = process.start_token(pid)
    store.transition(me, lambda t: waiting(t, ids=ids, pid=pid, pid_start=token),
                     expect=(Status.RUNNING,))
    try:
        return _wait(layout, console, store, ids, timeout, start, cancelled)
    finally:
        try:
            store.transition(me, lambda t: waited(t, ids=ids, pid=pid, pid_start=token),
                             expect=(Status.RUNNING,))
        except OSError:
            pass  # a loan whose wait has ended is ignored all the same (scheduler.loans)


def _waiting_task(snap, ids):
    """The running task whose agent runs this `wait` (its ORCHESTRA_TASK_ID), or None. A
    wait it could never see the end of is refused."""
    me = os.environ.get("ORCHESTRA_TASK_ID")
    task = snap.tasks.get(me) if me else None
    if task is None or task.state is not Status.RUNNING:
        return None
    from orchestra import dependencies
    after_me = dependencies.descendants(me, snap.tasks.values())
    for tid in ids:
        if tid == me:
            raise OrchestraError(f"task {me} cannot wait for itself: it would never end", USAGE)
        if tid in after_me:
            raise OrchestraError(f"{tid} depends on {me}, which is waiting for it: it starts "
                                 f"only once {me} has ended, so this wait would never end", USAGE)
    return me


def _wait(layout, console, store, ids, timeout, start, cancelled):
    poll, hinted = 0.05, False
    try:
        while True:
            snap = refresh(store, time.time())
            tasks = _resolve(store, snap, ids)
            if all(t.is_final for t in tasks):
                for t in tasks:
                    if t.state is not Status.COMPLETED:
                        console.warn(f"{t.id} {t.status}" + (f" ({t.reason}): {printable(t.error)}"
                                                             if t.reason else ""))
                return OK if all(t.state is Status.COMPLETED for t in tasks) else FAILED
            if not hinted and any(t.state is Status.PENDING for t in tasks) \
                    and lease.read_info(layout) is None:
                console.warn("note: no supervisor is running, so pending tasks will not start; "
                             "run `orchestra run` in another shell")
                hinted = True
            if timeout is not None and time.monotonic() - start >= timeout:
                console.warn(f"timed out after {timeout:g}s waiting for "
                             + ", ".join(t.id for t in tasks if not t.is_final))
                return TIMED_OUT
            if cancelled is None:
                time.sleep(poll)
            elif cancelled.wait(poll):
                return INTERRUPTED
            poll = min(poll * 1.5, 0.5)
    except KeyboardInterrupt:
        return INTERRUPTED


def _resolve(store, snap, ids):
    """The tasks named by `ids`, in the order given: an archived one (finished, and perhaps
    moved by the supervisor while we wait) from the archive."""
    from orchestra import archive
    return [snap.tasks[i] if i in snap.tasks else archive.find(store, i)[0] for i in ids]


def register(sub):
    p = args.subparser(sub, "wait", help="wait for tasks to finish",
                       usage="%(prog)s [options] (ID... | --all | filters)",
                       description="Block until the tasks reach a final outcome. Exit 0 if all "
                       "completed (or none was selected), 1 if any failed or was cancelled, "
                       "124 if --timeout expired. --all and the filters choose the tasks as "
                       "they are when wait starts.",
                       epilog=args.examples(
                           ("orchestra wait ID", "until it finishes"),
                           ("orchestra wait ID1 ID2 --timeout 1h", "an hour at most (exit 124)"),
                           ("orchestra wait --all --timeout 2h", "every pending and running task"),
                           ("orchestra wait --label nightly", "the tasks labelled nightly"),
                           ('id=$(orchestra start -q demo hi) && orchestra run && orchestra wait "$id"',
                            "queue, run and wait in a script")))
    p.add_argument("ids", nargs="*", metavar="ID", help="the tasks to wait for")
    p.add_argument("--all", action="store_true",
                   help="every task pending or running when wait starts (not ones queued later)")
    p.add_argument("--timeout", type=args.seconds, metavar="DURATION",
                   help="give up after this long (exit 124), e.g. 90s, 30m, 2h")
    args.add_filters(p)
    # `cancelled` (a threading.Event) is set by the MCP server (mcptools), which can end a wait.
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, a.ids, timeout=a.timeout, every=a.all, where=args.task_filter(a),
        cancelled=getattr(a, "cancelled", None)))
