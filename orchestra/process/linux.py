"""Linux: where a run's processes are, whatever session or process group they moved to.

A run gets a cgroup v2 of its own, made under the cgroup of the process that spawns it (so a
run started from inside another run stays inside that run's cgroup), when that part of the
hierarchy is writable. Else the run is found by the marker its environment carries,
ORCHESTRA_RUN_ID, which descendants inherit: one pass over /proc/*/environ.
"""

import os
import re
import signal

PREFIX = "orchestra-"
MARKER = b"\0ORCHESTRA_RUN_ID="

_found = []  # memo: [(cgroup v2 mount, the directory of our own cgroup)] or [None]
# Run id -> its cgroup, as made or found by this process: a `cancel` finds a run's cgroup
# through its live leader, and still knows it once the leader is gone.
_paths = {}


def _own():
    if not _found:
        _found.append(_read_own())
    return _found[0]


def _read_own():
    try:
        with open("/proc/self/mounts") as f:
            mounts = [line.split() for line in f]
        with open("/proc/self/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        return None
    # Hybrid setups mount cgroup2 at /sys/fs/cgroup/unified, unified ones at /sys/fs/cgroup.
    mount = next((m[1] for m in mounts if len(m) > 2 and m[2] == "cgroup2"), None)
    path = next((line[3:] for line in lines if line.startswith("0::")), None)
    if mount is None or path is None:
        return None
    mount = re.sub(r"\\([0-7]{3})", lambda m: chr(int(m.group(1), 8)), mount)
    return mount, _under(mount, path)


def _under(mount, path):
    return os.path.join(mount, path.strip().lstrip("/"))


def writable():
    """True if runs spawned from this process can have cgroups of their own."""
    own = _own()
    return own is not None and os.access(os.path.join(own[1], "cgroup.procs"), os.W_OK)


def create(run_id):
    """A cgroup for the run under ours (the wrapper moves itself in), or None where we may
    not make one. An existing one is reused: a verification joins its agent's run."""
    if not writable():
        return None
    path = os.path.join(_own()[1], PREFIX + run_id)
    try:
        os.mkdir(path)
    except FileExistsError:
        pass
    except OSError:
        return None
    _paths[run_id] = path
    return path


def find(run_id, leader=None):
    """The run's cgroup: the one its live `leader` (a pid known to be ours) is in, else the
    one of that name under our cgroup; None if there is none (never made, or released)."""
    own = _own()
    if own is None:
        return None
    known = _paths.get(run_id)
    if known is not None and os.path.isdir(known):
        return known
    name = PREFIX + run_id
    if leader:
        try:
            with open(f"/proc/{leader}/cgroup") as f:
                path = next((line[3:] for line in f if line.startswith("0::")), "")
        except OSError:
            path = ""
        if os.path.basename(path.strip()) == name:
            _paths[run_id] = _under(own[0], path)
            return _paths[run_id]
    path = os.path.join(own[1], name)
    return path if os.path.isdir(path) else None


def populated(path):
    """True while a process lives in the cgroup or below it (zombies do not count)."""
    try:
        with open(os.path.join(path, "cgroup.events")) as f:
            return "populated 1" in f.read()
    except OSError:
        return False


def members(path):
    pids = []
    for directory, _, _ in os.walk(path):
        try:
            with open(os.path.join(directory, "cgroup.procs")) as f:
                pids += [int(p) for p in f.read().split()]
        except (OSError, ValueError):
            continue
    return pids


def signal_cgroup(path, sig):
    if sig == signal.SIGKILL:
        try:
            # One write kills the whole subtree, with no fork escaping between reads (5.14+).
            with open(os.path.join(path, "cgroup.kill"), "w") as f:
                f.write("1")
            return
        except OSError:
            pass
    for pid in members(path):
        try:
            os.kill(pid, sig)
        except OSError:
            pass


def release(run_id):
    """Remove the run's cgroup and the ones under it that are empty; the rest stay, to be
    found. True if it is gone, so no process of the run is left in it (the kernel removes no
    cgroup that holds one), False if some are left, None if the run has no cgroup."""
    path = find(run_id)
    if path is None:
        return None
    try:
        os.rmdir(path)
    except FileNotFoundError:
        pass
    except OSError:  # busy: processes left, or the cgroups of runs started inside this one
        for directory, _, _ in os.walk(path, topdown=False):
            try:
                os.rmdir(directory)
            except OSError:
                pass
        if os.path.isdir(path):
            return False
    _paths.pop(run_id, None)
    return True


def marked(run_ids):
    """{run_id: [pid, ...]} of the processes whose environment has ORCHESTRA_RUN_ID set to
    one of `run_ids`: one pass over /proc answers for all of them. A zombie's environment is
    gone, so it does not count; processes of other users cannot be read and are not ours."""
    wanted = set(run_ids)
    found = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = b"\0" + f.read()
        except OSError:
            continue
        at = env.find(MARKER)
        if at < 0:
            continue
        start = at + len(MARKER)
        end = env.find(b"\0", start)
        value = env[start:end if end >= 0 else len(env)].decode("utf-8", "replace")
        if value in wanted:
            found.setdefault(value, []).append(int(name))
    return found
