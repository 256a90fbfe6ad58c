"""`.orchestra/scan.cache`: the parsed task files of a tasks directory, kept between processes.

It holds each task's id and, by columns, what Task.glance() gives (what a `status` reads of
every task: its status, when it was created and finished, table.tally and task.queue_place);
then, packed apart, each task's contents with what Task.derived() gives (its parsed times and
table.fixed_cells, the cells of its table row that depend on the file alone); then each task
file's (inode, mtime_ns, size). A default `status` reads the columns alone and the packed
contents of the rows it shows (Columns); a scan reads it whole (Columns.cache). Columns, as
marshal loads a list of floats or of interned strings far faster than as many small dicts.

The file is the length of the columns' part (8 bytes, little-endian), that part, the packed
contents, the keys. It is derived data that any command may delete or rebuild, in marshal's
format, which is tied to the Python version: the header says which, with the task fields of
the version that wrote it (an older one's tasks lack the newer fields) and the format of the
cells.
"""

import marshal
import os
import sys

from orchestra.table import CELLS_FORMAT, fixed_cells, tally
from orchestra.task import FIELDS, Task, queue_place

_HEADER = ("orchestra-scan-cache", 12, marshal.version, tuple(sys.version_info[:2]),
           tuple(FIELDS), CELLS_FORMAT)
_LENGTH = 8
_ERRORS = (OSError, EOFError, ValueError, TypeError)


class Columns:
    """The columns of a scan cache, read from a file kept open for the packed contents of the
    tasks asked for (`task`): a cache written meanwhile replaces the file, not what is read."""

    def __init__(self, f, start, head):
        self._file, self._start = f, start
        (_, self.stamp, self.names, self.problems, self.ids, self.words, self.created,
         self.finished, self.tallies, self.places, self._ends) = head

    def task(self, i):
        """The i-th task, its contents unpacked on use as a scan's are."""
        begin = self._ends[i - 1] if i else 0
        self._file.seek(self._start + begin)
        return Task(None, self._glance(i), self._file.read(self._ends[i] - begin))

    def _glance(self, i):
        return {"status_word": self.words[i], "created_at": self.created[i],
                "finished_at": self.finished[i], "tally": self.tallies[i],
                "queue_place": self.places[i]}

    def cache(self):
        """{file name: (key, Task)} of every task, as Store.scan keeps them."""
        f, ends = self._file, self._ends
        f.seek(self._start)
        rest = f.read()
        size = ends[-1] if ends else 0
        view, keys = memoryview(rest), marshal.loads(rest[size:])
        return {tid + ".json": (key, Task(None, {"status_word": word, "created_at": made,
                                                 "finished_at": done, "tally": spent,
                                                 "queue_place": place}, view[begin:end]))
                for tid, key, word, made, done, spent, place, begin, end
                in zip(self.ids, keys, self.words, self.created, self.finished, self.tallies,
                       self.places, [0] + ends[:-1], ends)}

    def close(self):
        self._file.close()


def columns(path):
    """The Columns of the cache at `path` (close them when done), or None when the file is
    absent or not of this version."""
    try:
        f = open(path, "rb")
    except OSError:
        return None
    try:
        length = int.from_bytes(f.read(_LENGTH), "little")
        if length > os.fstat(f.fileno()).st_size:
            raise ValueError("not a scan cache")  # such as one of an older format
        head = marshal.loads(f.read(length))
        if type(head) is tuple and len(head) == 11 and head[0] == _HEADER:
            return Columns(f, _LENGTH + length, head)
    except _ERRORS:
        pass
    f.close()
    return None


def load(path):
    """(directory stamp, file names, problems, {file name: (key, Task)}), or None when the
    file is absent or not of this version."""
    cols = columns(path)
    if cols is None:
        return None
    try:
        return cols.stamp, cols.names, cols.problems, cols.cache()
    except _ERRORS:
        return None
    finally:
        cols.close()


def save(path, stamp, names, problems, cache):
    """Write it whole (a temp file renamed into place); False if it could not be."""
    ids, keys, words, created, finished, tallies, places, ends, chunks = \
        [], [], [], [], [], [], [], [], []
    end = 0
    for name, (key, task) in cache.items():
        glance = task.glance(tally, queue_place)
        ids.append(name[:-5])
        keys.append(key)
        words.append(glance["status_word"])
        created.append(glance["created_at"])
        finished.append(glance["finished_at"])
        tallies.append(glance["tally"])
        places.append(glance["queue_place"])
        chunk = task.packed(fixed_cells)
        chunks.append(chunk)
        end += len(chunk)
        ends.append(end)
    head = marshal.dumps((_HEADER, stamp, sorted(names), problems, ids, words, created,
                          finished, tallies, places, ends))
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            f.write(len(head).to_bytes(_LENGTH, "little"))
            f.write(head)
            f.writelines(chunks)
            marshal.dump(keys, f)
        os.replace(tmp, path)  # no fsync: losing it costs one slower scan
        return True
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
