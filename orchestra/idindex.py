"""The index of archived ids, .orchestra/archive/ids: every id the archive took in, a line
each, so that the abbreviations `status` shows stay unique among archived tasks too without
listing archive/tasks/ (thousands of files) at every `status`.

Derived data: an id deleted since (`clean`) only makes some abbreviation a character longer
than it needs to be; one missing (an archive made while the index was being rebuilt) makes an
abbreviation ambiguous, which resolving it says, listing the candidates.
"""

import os


def _path(layout):
    return os.path.join(layout.archive, "ids")


def note(layout, task_ids):
    """Add ids moved to the archive: appended to an index that exists, never made here (ids()
    makes it from the whole listing)."""
    try:
        fd = os.open(_path(layout), os.O_WRONLY | os.O_APPEND)
    except OSError:
        return
    with open(fd, "a", encoding="ascii") as f:
        f.write("".join(i + "\n" for i in task_ids))


def ids(layout):
    """The ids of the archived tasks, from the index, made from archive/tasks/ if missing
    (a new archive, or one of an older version)."""
    try:
        with open(_path(layout), encoding="ascii", errors="replace") as f:
            return f.read().split()
    except FileNotFoundError:
        pass
    try:
        names = os.listdir(layout.archived().tasks)
    except FileNotFoundError:
        return []
    found = [n[:-5] for n in names if n.endswith(".json") and not n.startswith(".")]
    from orchestra.files import write_atomic
    try:
        write_atomic(_path(layout), "".join(i + "\n" for i in found), fsync=False)
    except OSError:
        pass  # a read-only project: listed again next time
    return found
