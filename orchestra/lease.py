"""Who supervises a project root: the supervisor holds `.orchestra/supervisor.lock` for its
whole life (the OS drops it if the process dies) and describes itself in supervisor.json.
Kept apart from supervisor.py so that `status` can ask without importing the loop."""

import os

from orchestra.lock import FileLock
from orchestra.files import read_json, write_atomic

# A supervisor's start-up (an interpreter, its imports, the lock) well within this.
START_WAIT = 10.0


def lock_for(layout):
    return FileLock(layout.supervisor_lock)


def supervisor_alive(layout):
    """True if some process holds the supervisor lock (a supervisor, or for an instant a probe)."""
    if not os.path.exists(layout.supervisor_lock):
        return False
    probe = lock_for(layout)
    if probe.acquire(timeout=0):
        probe.release()
        return False
    return True


def read_info(layout):
    """{pid, parallel, started_at} of the live supervisor, or None when none runs.

    The lock must be held *and* the pid in supervisor.json alive: another command's probe of
    the lock, or a file left by a killed supervisor, is no supervisor."""
    if not supervisor_alive(layout):
        return None
    try:
        info = read_json(layout.supervisor_info)
        pid = int(info["pid"])
    except (OSError, ValueError, KeyError, TypeError, OverflowError):  # OverflowError: 1e400
        return None
    return info if _pid_alive(pid) else None


def _pid_alive(pid):
    from orchestra import process
    return process.start_token(pid) is not None


def write_info(layout, info):
    import json  # here: `status` imports this module and, from its scan cache, needs no json
    write_atomic(layout.supervisor_info, json.dumps(info) + "\n")


def remove_info(layout):
    try:
        os.unlink(layout.supervisor_info)
    except OSError:
        pass


def read_control(layout, seen):
    """(mtime, supervisor.json's object) when the file changed since mtime `seen`, else
    (seen or the mtime, None): the supervisor's cheap look, every tick, for what other
    commands ask of it."""
    try:
        mtime = os.stat(layout.supervisor_info).st_mtime_ns
    except OSError:
        return seen, None
    if mtime == seen:
        return seen, None
    try:
        info = read_json(layout.supervisor_info)
    except (OSError, ValueError):
        info = None  # read again only once it changes
    return mtime, info if isinstance(info, dict) else None


def update_info(layout, **changes):
    """Ask the live supervisor for changes (parallel=N, daemon=True, stop=True): it re-reads
    supervisor.json on every tick. Returns the new info, or None if none runs."""
    from orchestra.store import Store
    with Store(layout).locked():
        info = read_info(layout)
        if info is not None:
            info.update(changes)
            write_info(layout, info)
    return info


def spawn_background(layout, parallel, daemon=False):
    """Start a detached supervisor process (`orchestra supervise`) and wait until a supervisor
    holds the root, so that a `status` or `wait` right after sees it. Returns (pid, info):
    info is the live supervisor's (ours, or one that won the race), None if ours exited or
    did not come up in time."""
    import sys
    import time
    from orchestra import executor, process
    # Started as this process was: `python -S` (no site-packages, a clean install's way) too.
    argv = [sys.executable, *(["-S"] if sys.flags.no_site else []), "-m", "orchestra",
            "--root", layout.root, "supervise",
            "--parallel", str(parallel)] + (["--daemon"] if daemon else [])
    env = executor.with_package_path(os.environ)
    os.makedirs(layout.state, exist_ok=True)
    proc = process.spawn(argv, cwd=layout.root, env=env, log_path=layout.supervisor_log,
                         exit_path=None, detach_only=True)
    deadline = time.monotonic() + START_WAIT
    while True:
        info = read_info(layout)
        if info is not None or proc.poll() is not None or time.monotonic() >= deadline:
            return proc.pid, info or read_info(layout)
        time.sleep(0.01)


def next_step(layout, it="it"):
    """Who starts what was just queued: said after `start`, `retry` and `resume`."""
    if os.path.exists(layout.paused):
        return f"the queue is paused: `orchestra resume` lets the supervisor start {it}"
    info = read_info(layout)
    if info is None:
        return f"`orchestra run` starts {it}"
    return f"the running {'daemon' if info.get('daemon') else 'supervisor'} starts {it}"
