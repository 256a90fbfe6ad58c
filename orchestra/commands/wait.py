"""`wait`: block until tasks reach a final outcome (after any automatic retries)."""

import time

from orchestra import lease
from orchestra.commands import refresh
from orchestra.errors import FAILED, INTERRUPTED, OK, TIMED_OUT
from orchestra.store import Store
from orchestra.table import printable
from orchestra.task import Status
from orchestra.commands import args


def run(layout, console, ids, timeout=None, every=False, where=None):
    """ids, or the tasks chosen at the call: every pending and running one (`every`) and/or
    those `where` (a filters.Filter) selects."""
    from orchestra.commands import picked
    picked(ids, every, where, "wait for")
    store = Store(layout, persist_cache=True)
    start = time.monotonic()
    if ids:
        _resolve(store, store.scan(), ids)  # unknown or malformed ids fail before any waiting
    else:
        chosen = [t for t in refresh(store, time.time()).tasks.values()
                  if (not every or not t.is_final) and (not where or where.matches(t))]
        if not chosen:
            what = where.describe() if where else "tasks"
            console.out(f"nothing to wait for: no {'pending or running ' if every else ''}{what}")
            return OK
        ids = [t.id for t in sorted(chosen, key=lambda t: (t.created(), t.id))]
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
            time.sleep(poll)
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
                       epilog="examples: orchestra wait ID; orchestra wait --all --timeout 2h; "
                       "orchestra wait --label nightly")
    p.add_argument("ids", nargs="*", metavar="ID", help="the tasks to wait for")
    p.add_argument("--all", action="store_true",
                   help="every task pending or running when wait starts (not ones queued later)")
    p.add_argument("--timeout", type=args.seconds, help="give up after this long (exit 124)")
    args.add_filters(p)
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, a.ids, timeout=a.timeout, every=a.all, where=args.task_filter(a)))
