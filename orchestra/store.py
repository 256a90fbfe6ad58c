"""The JSON-file task repository under .orchestra/: one file a task, sentinels beside it.

Reads take no lock (every write is a whole-file atomic replace); read-modify-write sequences
run under `locked()`, so a supervisor, a `cancel` and a `start` loop never lose an update.
"""

import os
import sys
import time

from orchestra import debug, scancache, statedir
from orchestra.errors import NotFound, OrchestraError
from orchestra.lock import FileLock
from orchestra.paths import SENTINELS
from orchestra.clock import iso
from orchestra.files import fsync_all, indented, json_text, read_json, write_atomic
from orchestra.task import SETUP, Task, valid_id

_ERROR_TEXT_MAX = 2000


class Snapshot:
    """One listing of the tasks directory: the tasks that parsed, the file names, the problems."""

    def __init__(self, tasks, names, problems):
        self.tasks = tasks
        self.names = names
        self.problems = problems

    def has(self, task_id, kind):
        return f"{task_id}.{kind}" in self.names


class Store:
    """persist_cache=True keeps the parsed tasks in .orchestra/scan.cache between processes,
    so a `status` re-reads only the task files that changed since the last one.

    Over `layout.archived()` it is the archive's store: its own directories and scan cache
    (.orchestra/archive/scan.cache), the same lock."""

    def __init__(self, layout, persist_cache=False):
        self.layout = layout
        self.persist_cache = persist_cache
        self._cache = None  # file name -> ((inode, mtime_ns, size), Task)
        self._names, self._problems = set(), []
        self._clean_stamp = self._saved_stamp = None  # tasks dir mtime the cache is valid for
        self._cache_path = layout.scan_cache
        self._ensured = False
        self._lock = None

    def ensure(self):
        if not self._ensured:
            statedir.ensure(self.layout)
            self._ensured = True

    def locked(self):
        self.ensure()
        if self._lock is None:
            self._lock = FileLock(self.layout.lock, keep_open=True)
        return self._lock

    # -- reading -----------------------------------------------------------------

    def scan(self):
        """Every task, re-parsing only the files that changed since the last scan."""
        if self._cache is None:
            self._cache = self._load_cache() if self.persist_cache else {}
        try:
            stamp = os.stat(self.layout.tasks).st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if stamp is not None and stamp == self._clean_stamp:
            # Nothing was added, removed or replaced in the directory since the cache was
            # written (every write here is a rename, which changes the directory's mtime).
            tasks = {name[:-5]: task for name, (_, task) in self._cache.items()}
            return Snapshot(tasks, set(self._names), list(self._problems))
        tasks, names, problems, cache = {}, set(), [], {}
        parsed = 0
        try:
            entries = list(os.scandir(self.layout.tasks))
        except FileNotFoundError:
            entries = []
        for entry in entries:
            name = entry.name
            if name.startswith("."):
                continue
            names.add(name)
            if not name.endswith(".json"):
                continue
            key = None
            try:
                st = entry.stat()
                key = (st.st_ino, st.st_mtime_ns, st.st_size)
                hit = self._cache.get(name)
                if hit and hit[0] == key:
                    task = hit[1]
                else:
                    task = Task.from_dict(read_json(entry.path))
                    if task.id + ".json" != name:
                        raise ValueError(f"its id is {task.id}")
                    parsed += 1
            except FileNotFoundError:
                names.discard(name)  # deleted by `clean` while we listed
                continue
            except (OSError, ValueError) as e:
                task = valid_id(name[:-5]) and self._durable_version(name[:-5])
                if not task:
                    where = os.path.relpath(entry.path, self.layout.root)
                    problems.append(f"skipping unreadable task file {where}: {e}")
                    continue
                parsed += 1
            cache[name] = (key, task)
            tasks[name[:-5]] = task  # its id, checked above (read without unpacking a cached task)
        changed = parsed or len(cache) != len(self._cache) or names != self._names
        self._cache, self._names, self._problems = cache, names, problems
        # Like git's "racily clean" index entries: a directory changed within the last two
        # seconds may change again within the same mtime tick, so that stamp is not trusted.
        self._clean_stamp = stamp if stamp and time.time_ns() - stamp > 2_000_000_000 else None
        if self.persist_cache and (changed or self._clean_stamp != self._saved_stamp):
            self._save_cache()
        return Snapshot(tasks, names, problems)

    def unchanged(self):
        """True if the tasks directory is, by a trusted stamp, as the last scan found it:
        a scan now would find nothing new. One stat."""
        try:
            return self._clean_stamp is not None and \
                os.stat(self.layout.tasks).st_mtime_ns == self._clean_stamp
        except FileNotFoundError:
            return False

    def columns(self):
        """The scan cache's scancache.Columns (to close when done) when, by its trusted stamp,
        the tasks directory is as the cache says: what a scan would give, read without a Task
        for every task. Else None, and a scan must list the directory."""
        cols = scancache.columns(self._cache_path) if self.persist_cache else None
        if cols is None:
            return None
        try:
            same = cols.stamp is not None and os.stat(self.layout.tasks).st_mtime_ns == cols.stamp
        except FileNotFoundError:
            same = False
        if not same:
            cols.close()
            return None
        return cols

    def _load_cache(self):
        loaded = scancache.load(self._cache_path)
        if loaded is None:
            return {}  # absent, or not ours: rebuilt from the task files
        stamp, names, problems, cache = loaded
        self._clean_stamp = self._saved_stamp = stamp
        self._names, self._problems = set(names), list(problems)
        return cache

    def _save_cache(self):
        if scancache.save(self._cache_path, self._clean_stamp, self._names, self._problems,
                          self._cache):
            self._saved_stamp = self._clean_stamp

    def get(self, task_id):
        check_id(task_id)
        path = self.layout.task_file(task_id)
        try:
            task = Task.from_dict(read_json(path))
            if task.id != task_id:  # a file copied by hand: acting on it would change another
                raise ValueError(f"its id is {task.id}")
            return task
        except FileNotFoundError:
            raise NotFound(task_id) from None
        except (OSError, ValueError) as e:
            task = self._durable_version(task_id)
            if task is None:
                raise OrchestraError(f"task file {path} is unreadable: {e}", 1) from None
            return task

    def _durable_version(self, task_id):
        """The task as last written durably, when its file is unreadable and a newer version
        was written without waiting for the disk (a machine crash can leave such a file empty
        on file systems that do not order a rename after the data); else None."""
        try:
            task = Task.from_dict(read_json(self.layout.durable_copy(task_id)))
        except (OSError, ValueError):
            return None
        if task.id != task_id:
            return None
        debug.log(f"{task_id}: its task file is unreadable; using the version last on disk")
        return task

    def exists(self, task_id):
        return os.path.exists(self.layout.task_file(task_id))

    # -- writing -----------------------------------------------------------------

    def save(self, task, before=None, durable=True):
        """Replace the task's file; with `before` (the task as it was), a change of status (or
        of reason: a task held pending for its config) is also appended to the event log.

        durable=False does not wait for the disk (fsync): the supervisor saves a launch record
        for every task it starts, and that wait cost about 1 ms a task on the development VM's
        disk (a 200-task no-op drain took 1.54 s with it, 1.34 s without). The version
        last written durably is then kept as a hidden hard link (Layout.durable_copy) until a
        durable save, so a crash of the machine leaves a version to read whatever the file
        system kept of the new one."""
        path, keep = self.layout.task_file(task.id), self.layout.durable_copy(task.id)
        if not durable:
            try:
                os.link(path, keep)
            except FileExistsError:
                pass  # it holds the version last made durable; the file is a newer one
            except OSError:
                durable = True  # no hard links here: wait for the disk instead
        st = write_atomic(path, _dump(task), fsync=durable)
        if durable:
            try:
                os.unlink(keep)
            except OSError:
                pass  # a copy left over is only ever read for a task file that is unreadable
        name = task.id + ".json"
        if self._cache is not None and name in self._cache:
            # What this process wrote, the next scan need not parse again (a supervisor
            # rewrites every task it runs twice).
            self._cache[name] = ((st.st_ino, st.st_mtime_ns, st.st_size), task)
        from orchestra import event  # here: a `status` that writes nothing never needs it
        if before is not None and event.noted(before, task):
            self.record(before, task)

    def transition(self, task_id, change=None, *, expect, attempt=None, mark=None,
                   mark_text=None, durable=True):
        """The one way a task changes state. Under the store lock: re-read the task; if its
        status is not one of `expect` (or, given `attempt`, it has moved on to another run),
        or it is gone, return None; else write the sentinel `mark` first (a decision that
        must outlive us, such as "cancelled" or "timeout", holding `mark_text` if given), save
        `change(task)` unless change is None or returns None, and append the event. Returns
        (before, after); after is before when nothing was saved. `durable` as for save, or a
        function of the new task.

        A caller holding `locked()` already (cancel --all) may call this inside it."""
        if self._lock is not None and self._lock.held:
            from contextlib import nullcontext
            lock = nullcontext()
        else:
            lock = self.locked()
        with lock:
            try:
                before = self.get(task_id)
            except NotFound:
                return None
            if before.state not in expect or (attempt is not None and before.attempt != attempt):
                return None
            if mark:
                self.mark(task_id, mark, mark_text)
            after = change(before) if change is not None else None
            if after is None:
                return before, before
            self.save(after, before, durable=durable(after) if callable(durable) else durable)
        return before, after

    def mark(self, task_id, kind, text=None):
        """Write the sentinel `kind` holding `text`, or the time. On a full disk the file is
        created empty (it needs no data block, so it usually can be): its presence is what
        counts."""
        path = self.layout.sentinel(task_id, kind)
        try:
            write_atomic(path, (iso(time.time()) if text is None else text) + "\n")
        except OSError:
            os.close(os.open(path, os.O_WRONLY | os.O_CREAT, 0o644))

    def create(self, task):
        self.ensure()
        write_atomic(self.layout.task_file(task.id), _dump(task), exclusive=True)
        self.record(None, task)

    def record(self, before, *afters):
        """Append transitions to .orchestra/events.jsonl, once they are on disk: `before` (None
        for new tasks) to each of `afters`. The log is a record for people and tools; a
        failure to append to it is reported, never fatal."""
        from orchestra import event
        now = iso(time.time())
        line = "".join(json_text(event.record(before, after, now)) + "\n"
                       for after in afters).encode("utf-8")
        try:
            fd = os.open(self.layout.events, os.O_RDWR | os.O_APPEND | os.O_CREAT, 0o644)
            try:
                end = os.lseek(fd, 0, os.SEEK_END)
                if end:
                    os.lseek(fd, end - 1, os.SEEK_SET)
                    if os.read(fd, 1) != b"\n":
                        # A line cut short (a full disk, a crash) would swallow this one too.
                        line = b"\n" + line
                os.write(fd, line)  # one write to an O_APPEND file: writers never interleave
            finally:
                os.close(fd)
        except OSError as e:
            sys.stderr.write(f"orchestra: could not append to {self.layout.events}: {e}\n")

    def create_many(self, tasks):
        """Create the files of new tasks, all or none: when one cannot be written (a full
        disk, a taken id) the ones already written are deleted and the error is raised.

        The caller holds `locked()`, so no supervisor launches a task of the batch before the
        batch is whole, or one that is then rolled back.
        """
        if self._lock is None or not self._lock.held:
            raise RuntimeError("create_many needs the store lock held")
        written = []
        try:
            for task in tasks:
                path = self.layout.task_file(task.id)
                write_atomic(path, _dump(task), exclusive=True, fsync=False)
                written.append(path)
            # Durable once, at the end: an fsync as each file is written waits for the disk
            # every time (1-2 s for 1,000 tasks on the development VM). Written first and then
            # synced 16 at a time, they reach the disk together: ~100 ms for 1,000 tasks there,
            # against ~300-400 ms for one fsync after another. (os.sync() is about as fast, but
            # flushes every file system and reports no error.) Until the lock is released no
            # supervisor launches any of them, so none runs before it is durable.
            fsync_all(written)
        except BaseException:
            for path in reversed(written):  # dependents before what they depend on
                try:
                    os.unlink(path)
                except OSError:
                    pass
            raise
        self.record(None, *tasks)

    def delete(self, task_id):
        for path in self.layout.files_of(task_id):
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass

    # -- sentinels ---------------------------------------------------------------

    def write_sentinel(self, task_id, kind, text=""):
        write_atomic(self.layout.sentinel(task_id, kind), text)

    def clear_sentinels(self, task_id):
        for kind in SENTINELS:
            path = self.layout.sentinel(task_id, kind)
            # Looked up first: an unlink locks the directory even when there is nothing to
            # remove, and the supervisor clears six names before every launch while the
            # wrappers of other runs write their .exit files into that directory.
            if os.path.lexists(path):
                try:
                    os.unlink(path)
                except FileNotFoundError:
                    pass

    def sentinel_mtime(self, task_id, kind):
        try:
            return os.stat(self.layout.sentinel(task_id, kind)).st_mtime
        except FileNotFoundError:
            return None

    def read_error(self, task_id, with_reason=False):
        """The message of a task's .error file: JSON {"error", "details"} or plain text. With
        with_reason, (message, reason): reason `setup` when orchestra wrote it for a failed
        worktree_setup (worktree_setup.py), else None."""
        try:
            with open(self.layout.sentinel(task_id, "error"), "rb") as f:
                raw = f.read(64 * 1024).decode("utf-8", "replace").strip()
        except FileNotFoundError:
            return (None, None) if with_reason else None
        message, reason = raw, None
        try:
            import json
            data = json.loads(raw)
        except (ValueError, RecursionError):  # plain text, or brackets nested past the parser
            data = None
        if isinstance(data, dict) and ("error" in data or "details" in data):
            message = str(data.get("error") or "error")
            if data.get("details"):
                message += f": {data['details']}"
            if data.get("orchestra") == SETUP:
                reason = SETUP
        message = (message or "the agent wrote an empty .error file")[:_ERROR_TEXT_MAX]
        return (message, reason) if with_reason else message

    def read_exit(self, task_id):
        """The exit status the launch wrapper recorded, or None."""
        try:
            with open(self.layout.sentinel(task_id, "exit"), "rb") as f:
                return int(f.read(32).strip())
        except (FileNotFoundError, ValueError):
            return None


def check_id(task_id):
    if not valid_id(task_id):
        shown = (repr(task_id) if len(task_id) <= 60
                 else f"{task_id[:40]!r}... ({len(task_id)} characters)")
        raise OrchestraError(f"invalid task id {shown}: ids look like task_1764071563123_a1b2c3 "
                             "(or a1b2, the start of the last part, as tables show them)")


def _dump(task):
    """A task file's text: what `json_text(task.to_dict(), indent=2)` gives, made faster."""
    data = task.to_dict()
    text = indented([data])[0]
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: json_text keeps it escaped
        text = json_text(data, indent=2)
    return text + "\n"

