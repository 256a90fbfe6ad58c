"""The archive: finished tasks older than their retention move, with every file they own, to
.orchestra/archive/{tasks,logs,plans}/ under the same names, so the live directory (what
`status` and the supervisor read) stays small however long the history grows.

`due` and `protected` are pure; the rest moves, finds or reads files.

Crash safety: files are only renamed (`os.replace`, one file system), each task's file last.
A task file is therefore always in exactly one place. A crash part-way leaves a live task with
some of its other files already archived; `find` and `where` look in both places, and the
next archive of that still-due task moves the rest.
"""

import marshal
import os
import sys
import time

from orchestra import idindex, tidy
from orchestra.errors import NotFound
from orchestra.files import read_json
from orchestra.store import Store
from orchestra.task import ACTIVE, FIELDS, Status, Task

RETENTION_COMPLETED = 7 * 86400
RETENTION_FAILED = 14 * 86400  # failed and cancelled tasks


def protected(tasks):
    """Ids of the tasks that pending or running tasks depend on, directly or through other
    tasks: the graph of work still to do stays whole in the live directory."""
    by_id = {t.id: t for t in tasks}
    out = set()
    frontier = [d for t in by_id.values() if t.state in ACTIVE for d in t.data["depends_on"] or ()]
    while frontier:
        tid = frontier.pop()
        if tid not in out:
            out.add(tid)
            dep = by_id.get(tid)
            if dep is not None:
                frontier.extend(dep.data["depends_on"] or ())
    return out


def due(tasks, now, retention_completed, retention_failed, protected_ids=()):
    """The finished tasks to archive at `now`, oldest first: completed ones that ended at least
    `retention_completed` seconds ago, failed and cancelled ones `retention_failed` ago (when
    they ended: `finished_at`, else `created_at`). A retention of 0 means never. Pending and
    running tasks, and those in `protected_ids`, never are."""
    out = []
    for task in tasks:
        state = task.state
        if state is Status.COMPLETED:
            keep = retention_completed
        elif state is Status.FAILED or state is Status.CANCELLED:
            keep = retention_failed
        else:
            continue
        if not keep or task.id in protected_ids:
            continue
        if now - _ended(task) >= keep:
            out.append(task)
    out.sort(key=lambda t: (_ended(t), t.id))
    return out


def _ended(task):
    finished = task.finished()
    return finished if finished is not None else task.created()


def retentions(layout):
    """(completed, failed) retentions in seconds: the project's settings, else the defaults."""
    import importlib.util
    if importlib.util.find_spec("orchestra.settings") is None:
        return RETENTION_COMPLETED, RETENTION_FAILED
    from orchestra import settings
    s = settings.load(layout)
    return s.retention_completed, s.retention_failed


def archive(store, tasks):
    """Move every file of each task into the archive, its task file last; returns how many
    tasks moved. Call under `store.locked()`, with tasks read under it."""
    if not tasks:
        return 0
    live, archived = store.layout, store.layout.archived()
    Store(archived).ensure()
    moved = 0
    for task in tasks:
        sources, targets = live.files_of(task.id), archived.files_of(task.id)
        # files_of lists the task file first: it goes last.
        for src, dst in zip(sources[1:] + sources[:1], targets[1:] + targets[:1]):
            try:
                os.replace(src, dst)
            except FileNotFoundError:
                continue
            if src == sources[0]:
                moved += 1
    idindex.note(archived, [t.id for t in tasks])
    return moved



def sweep(store, now, retention_completed, retention_failed, dry_run=False):
    """Archive what is due now: (the tasks moved, problems: of the scan, and what of their
    worktrees and branches stayed). Decided and moved under the store lock; with dry_run,
    only decided (and git is not asked).

    A task's worktree and branch are tidied first, outside the lock (git takes its time); one
    whose worktree holds work that could not be committed stays live until it can."""
    stays = set()

    def decide(snap):
        tasks = snap.tasks.values()
        return [t for t in due(tasks, now, retention_completed, retention_failed,
                               protected(tasks)) if t.id not in stays]

    snap = store.scan()
    tasks = decide(snap)
    if dry_run or not tasks:
        return tasks, snap.problems  # nothing to move: not worth the lock
    kept, notes = tidy.before_removal(store, tasks, "archived")
    stays.update(kept)
    with store.locked():
        snap = store.scan()
        tasks = decide(snap)
        archive(store, tasks)
    return tasks, snap.problems + notes


def archive_due(layout, now):
    """Archive every finished task past the project's retention; returns how many moved.

    For the supervisor's loop. Takes the store lock itself (through a Store of its own), so
    call it while not holding it. An invalid settings file raises OrchestraError."""
    completed, failed = retentions(layout)
    if not completed and not failed:
        return 0
    tasks, _ = sweep(Store(layout, persist_cache=True), now, completed, failed)
    return len(tasks)


# -- reading ------------------------------------------------------------------------------

_RENDER_HEADER = ("orchestra-archive-render", 2, marshal.version, tuple(sys.version_info[:2]))


def rendered(layout, render, version):
    """Every archived task as text, with the problems of reading them:
    ([(created_at or "", id, text)], problems); `render(tasks)` gives the texts.

    For `status --all --json`, which a long history would otherwise make slow: building and
    encoding 10,000 tasks takes most of a second. The texts are kept, with each file's
    (inode, mtime_ns, size), in .orchestra/archive/render.cache (derived data, like the scan
    caches). While archive/tasks/ is unchanged (the scan cache's trusted-stamp rule) that file
    is the whole answer; after a change only new and changed task files are read and rendered.
    `version` names the format of `render`'s text: a cache of another version is not used.
    """
    tasks_dir = layout.archived().tasks
    path = os.path.join(layout.archive, "render.cache")
    try:
        stamp = os.stat(tasks_dir).st_mtime_ns
    except FileNotFoundError:
        return [], []
    # The task fields are part of the text: a cache written by a version with other fields
    # must not be used.
    header = _RENDER_HEADER + (version, tuple(FIELDS))
    old = {}
    try:
        with open(path, "rb") as f:
            saved_header, saved_stamp, problems, entries = marshal.loads(f.read())
        if saved_header == header:
            if saved_stamp == stamp:
                return [entry[2:] for entry in entries], problems
            old = {entry[0]: entry for entry in entries}
    except (OSError, EOFError, ValueError, TypeError):
        pass  # absent or not ours: rebuilt below
    # As in Store.scan: a directory changed in the last two seconds may change again within
    # the same mtime tick, so only an older stamp may vouch for what is read now.
    trusted = time.time_ns() - stamp > 2_000_000_000
    try:
        listing = list(os.scandir(tasks_dir))
    except FileNotFoundError:
        return [], []
    entries, problems, fresh = [], [], []
    for entry in listing:
        name = entry.name
        if name.startswith(".") or not name.endswith(".json"):
            continue
        try:
            st = entry.stat()
            key = (st.st_ino, st.st_mtime_ns, st.st_size)
            hit = old.get(name)
            if hit is not None and hit[1] == key:
                entries.append(hit)
                continue
            task = Task.from_dict(read_json(entry.path))
            if task.id + ".json" != name:
                raise ValueError(f"its id is {task.id}")
        except FileNotFoundError:
            continue
        except (OSError, ValueError) as e:
            where = os.path.relpath(entry.path, layout.root)
            problems.append(f"skipping unreadable task file {where}: {e}")
            continue
        fresh.append((name, key, task))
    texts = render([task for _, _, task in fresh])
    entries += [(name, key, task.data["created_at"] or "", task.id, text)
                for (name, key, task), text in zip(fresh, texts)]
    if trusted:
        tmp = f"{path}.{os.getpid()}.tmp"
        try:
            with open(tmp, "wb") as f:
                marshal.dump((header, stamp, problems, entries), f)
            os.replace(tmp, path)  # no fsync: losing it costs one slower `status --all --json`
        except (OSError, ValueError):
            try:
                os.unlink(tmp)
            except OSError:
                pass
    return [entry[2:] for entry in entries], problems


# -- finding -------------------------------------------------------------------------------


def find(store, task_id):
    """(task, archived) for a live or archived task; NotFound (exit 2) if neither has it."""
    try:
        return store.get(task_id), False
    except NotFound:
        pass
    # Tasks only ever move from live to archive, so looking there second cannot miss one.
    try:
        return Store(store.layout.archived()).get(task_id), True
    except NotFound:
        raise NotFound(task_id) from None


def where(layout, task_id, archived, path_of):
    """The path of one of a task's files (`path_of`: e.g. `Layout.log_file`): beside its task
    file if it is there, else where an interrupted move left it, else beside its task file."""
    sides = (layout.archived(), layout) if archived else (layout, layout.archived())
    first = path_of(sides[0], task_id)
    if os.path.exists(first):
        return first
    other = path_of(sides[1], task_id)
    return other if os.path.exists(other) else first
