"""One module a command. Each exposes `run(layout, console, **options) -> int`; it writes
through `console` (the CLI's one printer) and never sees argparse."""

from orchestra import lease
from orchestra.task import Status


def refresh(store, now):
    """A snapshot after settling what no live supervisor is watching: running tasks whose
    process ended, timed out or vanished, and pending tasks a failed dependency dooms. With a
    supervisor alive, it owns them."""
    snap = store.scan()
    from orchestra import dependencies
    running = any(t.state is Status.RUNNING for t in snap.tasks.values())
    if not running and not dependencies.doomed(snap.tasks.values()):
        return snap
    if lease.supervisor_alive(store.layout):
        return snap
    # Not holding the lock while settling: a kill can take a second, and a `run` meanwhile
    # must start its supervisor. Should one start anyway, each transition is applied once.
    from orchestra import settle
    if running:
        settle.settle_orphans(store, now)
    settle.fail_doomed(store, store.scan(), now)
    return store.scan()


def resolve(store, snap, ids):
    """The tasks named by `ids`, validated, in the order given."""
    out = []
    for task_id in ids:
        if task_id not in snap.tasks:
            out.append(store.get(task_id))  # raises for a bad or unknown id
        else:
            out.append(snap.tasks[task_id])
    return out


def picked(ids, every, where, verb, every_option="--all"):
    """Refuse a choice of tasks that names none, or names them twice: ids, or --all and/or
    filters (which select among the tasks `verb` applies to)."""
    from orchestra.errors import OrchestraError
    if ids and (every or where):
        raise OrchestraError(f"name the tasks to {verb}, or select them with {every_option} or "
                             "filters, not both")
    if not ids and not (every or where):
        raise OrchestraError(f"name the tasks to {verb}, or select them with {every_option} or "
                             "filters (--status, --agent, --label)")
