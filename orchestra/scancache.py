"""`.orchestra/scan.cache`: the parsed task files of a tasks directory, kept between processes.

It holds each task keyed by its file's (inode, mtime_ns, size), as what Task.glance() gives
(what a `status` reads of every task: its status, when it was created and finished,
table.tally and task.queue_place) and, packed apart, its contents with what Task.derived()
gives (its parsed times and table.fixed_cells, the cells of its table row that depend on the
file alone). A task's contents are unpacked only when something reads them, so a `status` of
10,000 tasks unpacks the rows it shows. The glances are stored column by column: marshal
loads a list of floats or of interned strings far faster than as many small dicts.

It is derived data that any command may delete or rebuild, in marshal's format, which is tied
to the Python version: the header says which, with the task fields of the version that wrote
it (an older one's tasks lack the newer fields) and the format of the cells.
"""

import marshal
import os
import sys

from orchestra.table import CELLS_FORMAT, fixed_cells, tally
from orchestra.task import FIELDS, Task, queue_place

_HEADER = ("orchestra-scan-cache", 11, marshal.version, tuple(sys.version_info[:2]),
           tuple(FIELDS), CELLS_FORMAT)


def load(path):
    """(directory stamp, file names, problems, {file name: (key, Task)}), or None when the
    file is absent or not of this version."""
    try:
        with open(path, "rb") as f:
            (header, stamp, names, problems, files, keys, words, created, finished, tallies,
             places, ends, packed) = marshal.loads(f.read())
        if header != _HEADER:
            return None
        view = memoryview(packed)
        cache = {name: (key, Task(None, {"status_word": word, "created_at": made,
                                         "finished_at": done, "tally": spent,
                                         "queue_place": place}, view[start:end]))
                 for name, key, word, made, done, spent, place, start, end
                 in zip(files, keys, words, created, finished, tallies, places,
                        [0] + ends[:-1], ends)}
    except (OSError, EOFError, ValueError, TypeError):
        return None
    return stamp, names, problems, cache


def save(path, stamp, names, problems, cache):
    """Write it whole (a temp file renamed into place); False if it could not be."""
    files, keys, words, created, finished, tallies, places, ends, chunks = \
        [], [], [], [], [], [], [], [], []
    end = 0
    for name, (key, task) in cache.items():
        glance = task.glance(tally, queue_place)
        files.append(name)
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
    data = (_HEADER, stamp, sorted(names), problems, files, keys, words, created, finished,
            tallies, places, ends, b"".join(chunks))
    tmp = f"{path}.{os.getpid()}.tmp"
    try:
        with open(tmp, "wb") as f:
            marshal.dump(data, f)
        os.replace(tmp, path)  # no fsync: losing it costs one slower scan
        return True
    except (OSError, ValueError):
        try:
            os.unlink(tmp)
        except OSError:
            pass
        return False
