"""Who supervises a project root: the supervisor holds `.orchestra/supervisor.lock` for its
whole life (the OS drops it if the process dies) and describes itself in supervisor.json.
Kept apart from supervisor.py so that `status` can ask without importing the loop."""

import json
import os

from orchestra.lock import FileLock
from orchestra.store import read_json, write_atomic


def lock_for(layout):
    return FileLock(layout.supervisor_lock)


def read_info(layout):
    """{pid, parallel, started_at} of the live supervisor, or None when none runs."""
    if not os.path.exists(layout.supervisor_lock):
        return None
    probe = lock_for(layout)
    if probe.acquire(timeout=0):
        probe.release()
        return None
    try:
        return read_json(layout.supervisor_info)
    except (OSError, ValueError):
        return {}  # alive, but caught between starting and describing itself


def write_info(layout, info):
    write_atomic(layout.supervisor_info, json.dumps(info) + "\n")


def set_parallel(layout, parallel):
    """Ask the live supervisor to use `parallel` slots (it re-reads its info file)."""
    info = read_info(layout)
    if info is not None:
        info["parallel"] = parallel
        write_info(layout, info)
    return info
