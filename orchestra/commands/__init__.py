"""One module a command. Each exposes `run(layout, console, **options) -> int`; it writes
through `console` (the CLI's one printer) and never sees argparse."""

from orchestra import ids as short, lease
from orchestra.errors import NotFound, OrchestraError, USAGE
from orchestra.paths import task_ids
from orchestra.task import Status, valid_id


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


def full_id(layout, query):
    """The id of the one task, live or archived, that `query` names: a whole id, a prefix of
    one, or a prefix of its last part (orchestra.ids). Exit 2 for none or several."""
    return full_ids(layout, [query])[0]


def full_ids(layout, queries):
    """full_id of each query, the tasks directories listed once (only if one is short)."""
    known, out = None, []
    for query in queries:
        if valid_id(query):
            out.append(query)  # whether it exists is for the caller's read to say
            continue
        if not short.plausible(query):
            from orchestra.store import check_id
            check_id(query)  # raises: not an id, nor the start of one
        if not query.startswith("t") and len(query) < short.MIN:
            raise OrchestraError(f"task id {query!r} is too short: give at least {short.MIN} "
                                 "characters of its last part, or the whole id", USAGE)
        if known is None:
            known = set(task_ids(layout.tasks)) | set(task_ids(layout.archived().tasks))
        found = short.matches(query, known)
        if not found:
            raise NotFound(query)
        if len(found) > 1:
            raise OrchestraError(short.ambiguous(query, found), USAGE)
        out.append(found[0])
    return out


def short_ids(layout, snap, tasks):
    """{id: abbreviation} for `tasks`, unique among the live tasks and the archived ones."""
    from itertools import chain
    from orchestra import idindex
    return short.abbreviations([t.id for t in tasks], chain(snap.tasks, idindex.ids(layout)))


def resolve(store, snap, ids):
    """The tasks named by `ids` (whole or abbreviated), validated, in the order given."""
    out = []
    for task_id in full_ids(store.layout, ids):
        if task_id not in snap.tasks:
            out.append(store.get(task_id))  # raises for a bad or unknown id
        else:
            out.append(snap.tasks[task_id])
    return out


def picked(ids, every, where, verb, every_option="--all"):
    """Refuse a choice of tasks that names none, or names them twice: ids, or --all and/or
    filters (which select among the tasks `verb` applies to)."""
    if ids and (every or where):
        raise OrchestraError(f"name the tasks to {verb}, or select them with {every_option} or "
                             "filters, not both")
    if not ids and not (every or where):
        raise OrchestraError(f"name the tasks to {verb}, or select them with {every_option} or "
                             "filters (--status, --agent, --label)")
