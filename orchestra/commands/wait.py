"""`wait`: block until tasks reach a final outcome (after any automatic retries)."""

import time

from orchestra import lease
from orchestra.commands import refresh
from orchestra.errors import FAILED, INTERRUPTED, OK, TIMED_OUT
from orchestra.store import Store
from orchestra.table import printable
from orchestra.task import Status
from orchestra.commands import args, full_ids


def run(layout, console, ids, timeout=None):
    ids = full_ids(layout, ids)
    store = Store(layout, persist_cache=True)
    start = time.monotonic()
    _resolve(store, store.scan(), ids)  # unknown or malformed ids fail before any waiting
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
                       description="Block until the tasks reach a final outcome. Exit 0 if all "
                       "completed, 1 if any failed or was cancelled, 124 if --timeout expired.")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--timeout", type=args.seconds, help="give up after this long (exit 124)")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, a.ids, timeout=a.timeout))
