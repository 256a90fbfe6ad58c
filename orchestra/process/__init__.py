"""Everything platform-specific about processes: spawn a run, tell if any of it lives, end it.

A run is what one spawn starts: the wrapper, the agent and every process they start, whatever
session or process group those move to. How its processes are found depends on the platform
(`containment()` names it; README, "What each platform guarantees when a task is killed"):

- Linux with a writable cgroup v2: a cgroup per run (linux.py). Every descendant.
- Linux without: the processes whose environment carries ORCHESTRA_RUN_ID=<run id>.
- Windows: a named job object per run that the wrapper joins before starting the agent.
- macOS and other POSIX systems: the process group the run's wrapper leads, while it lives.

POSIX: each agent runs under a tiny /bin/sh wrapper that leads a new session and writes the
agent's exit status to a file, so the outcome survives the death of the supervisor that
started it. Windows: the wrapper is `python -m orchestra.process` (windows.py). Process
identity (against pid reuse) is the process start time: a pid, or the group it leads, is
signalled only when its start token is the one recorded at launch.
"""

import contextlib
import os
import signal
import sys
import time

from orchestra import logfile

WINDOWS = os.name == "nt"
LINUX = sys.platform.startswith("linux")

if WINDOWS:
    from orchestra.process import windows
elif LINUX:
    from orchestra.process import linux

# "$0" is the exit file; "$@" the agent's argv. The status is one short write; a reader
# that finds the file empty treats it as not yet written.
_SH_WRAPPER = '"$@"; c=$?; printf "%s\\n" "$c" > "$0"; exit "$c"'
# "$1" is the run's cgroup: the wrapper moves itself in before the agent exists, so nothing
# can fork out first. A cgroup it cannot join is removed, so that none is trusted empty.
_SH_CGROUP_WRAPPER = ('{ echo $$ > "$1/cgroup.procs"; } 2>/dev/null || rmdir "$1" 2>/dev/null; '
                      'shift; ' + _SH_WRAPPER)

KILL_GRACE = 1.0


def spawn(argv, *, cwd, env, log_path, exit_path, detach_only=False, header=b"", run_id=None,
          cgroup=True):
    """Start argv with stdin closed and stdout+stderr appended to log_path (after `header`).

    Returns the Popen. detach_only=True skips the exit-recording wrapper (for the supervisor).
    run_id names the run for run_alive/signal_run/kill_run/release_run: it goes into the
    environment as ORCHESTRA_RUN_ID and names the run's cgroup or job object. cgroup=False
    leaves a Linux run to be found by its environment alone (for tests of that path).
    """
    import subprocess

    argv = list(argv)
    path = None
    if run_id:
        env = dict(env, ORCHESTRA_RUN_ID=run_id)
    if not detach_only:
        if WINDOWS:
            argv = [sys.executable, "-m", "orchestra.process", exit_path, run_id or ""] + argv
        else:
            path = linux.create(run_id) if LINUX and run_id and cgroup else None
            if path is None:
                argv = ["/bin/sh", "-c", _SH_WRAPPER, exit_path] + argv
            else:
                argv = ["/bin/sh", "-c", _SH_CGROUP_WRAPPER, exit_path, path] + argv
    kwargs = {}
    if WINDOWS:
        kwargs["creationflags"] = (subprocess.CREATE_NEW_PROCESS_GROUP
                                   | getattr(subprocess, "CREATE_NO_WINDOW", 0))
    else:
        kwargs["start_new_session"] = True
    try:
        with logfile.open_append(log_path) as log:
            log.write(header)
            log.flush()
            return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL,
                                    stdout=log, stderr=subprocess.STDOUT, close_fds=True,
                                    **kwargs)
    except BaseException:
        if path is not None:
            linux.release(run_id)
        raise


def shell_argv(command):
    """argv that runs a command line written for the platform's shell (verification
    commands are people's shell lines, unlike agents, which never go through a shell)."""
    if WINDOWS:
        return [os.environ.get("COMSPEC", "cmd.exe"), "/c", command]
    return ["/bin/sh", "-c", command]


def containment():
    """What this machine gives to find every process of a run, for docs and --debug."""
    if WINDOWS:
        return "job object"
    if LINUX:
        return "cgroup" if linux.writable() else "environment scan"
    return "process group"


# -- identity and liveness ---------------------------------------------------------


def start_token(pid):
    """An opaque token of when `pid` started, or None if it is gone or cannot be told."""
    if WINDOWS:
        return windows.start_token(pid)
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
        # comm (field 2) may hold spaces and parentheses: split after the last ')'.
        fields = stat[stat.rindex(b")") + 2:].split()
        if fields[0] == b"Z":
            return None  # a zombie has ended; only its exit status is left
        return fields[19].decode()  # field 22, starttime in clock ticks since boot
    except FileNotFoundError:
        if os.path.isdir("/proc/self"):
            return None
    except (OSError, ValueError, IndexError):
        return None
    return _ps_start_token(pid)


def _ps_start_token(pid):
    # macOS and other BSDs have no /proc.
    import subprocess
    try:
        out = subprocess.run(["ps", "-o", "lstart=", "-p", str(pid)], capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def is_alive(pid, token):
    """True if `pid` runs and is the same process as when `token` was taken (no token: it
    cannot be told to be, so it is not)."""
    if not pid:
        return False
    if not WINDOWS:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
    now = start_token(pid)
    if now is None:
        return False
    return token is not None and now == token


# -- runs: a pid, or the group it leads, is signalled only if is_alive(pid, pid_start) ------


def alive_runs(runs):
    """The run ids among `runs`, (pid, pid_start, run_id) each, that have a process left.

    Cheapest first: a leader that is ours, then the run's cgroup or job (one file read). The
    runs with neither (no writable cgroup v2, or their cgroup is gone) are looked for in one
    pass over /proc/*/environ for all of them: O(processes), so ask for many runs at once."""
    alive, scan = set(), []
    for pid, pid_start, run_id in runs:
        if is_alive(pid, pid_start):
            alive.add(run_id)
        elif not run_id:
            continue
        elif WINDOWS:
            if windows.job_alive(run_id):
                alive.add(run_id)
        elif LINUX:
            path = linux.find(run_id)
            if path is None:
                scan.append(run_id)
            elif linux.populated(path):
                alive.add(run_id)
    if scan:
        alive.update(linux.marked(scan))
    return alive


def run_alive(pid, pid_start, run_id):
    """True while any process of the run lives (zombies do not count)."""
    return bool(alive_runs([(pid, pid_start, run_id)]))


def signal_run(pid, pid_start, run_id, force=False):
    """SIGTERM (force: SIGKILL) every process of the run; returns at once. The leader and
    its group only if the leader is ours; the rest through the run's cgroup, job or marker."""
    leader = is_alive(pid, pid_start)
    if WINDOWS:
        if force and run_id:
            windows.job_kill(run_id)
        if leader:
            windows.taskkill(pid, force)
        return
    sig = signal.SIGKILL if force else signal.SIGTERM
    if leader:
        try:
            os.killpg(pid, sig)
        except OSError:
            pass
    if not (LINUX and run_id):
        return
    path = linux.find(run_id, pid if leader else None)
    if path is not None:
        linux.signal_cgroup(path, sig)
        return
    for member in linux.marked([run_id]).get(run_id, ()):
        try:
            os.kill(member, sig)
        except OSError:
            pass


def kill_run(pid, pid_start, run_id, grace=KILL_GRACE, poll=0.02):
    """signal_run, SIGKILL what is left after `grace` seconds, wait (bounded) till none is
    left, and release the run's cgroup. Blocking."""
    signal_run(pid, pid_start, run_id)
    run = [(pid, pid_start, run_id)]
    deadline = time.monotonic() + grace
    while alive_runs(run):
        if time.monotonic() >= deadline:
            signal_run(pid, pid_start, run_id, force=True)
            end = time.monotonic() + 2.0
            while alive_runs(run) and time.monotonic() < end:
                time.sleep(poll)
            break
        time.sleep(poll)
    if run_id:
        release_run(run_id)


def over(pid, pid_start, run_id):
    """True if no process is left of a run whose leader we have reaped, its cgroup then
    released: where the run has one, that one rmdir answers both (a read of its events and a
    release after cost a tenth of settling a no-op run)."""
    if LINUX and run_id:
        gone = linux.release(run_id)
        if gone is not None:
            return gone
    return not run_alive(pid, pid_start, run_id)


def wrapper_of(run_id, exit_path):
    """The pid of the live wrapper of a run nobody recorded, found by the run's cgroup or its
    environment marker and the wrapper's argv (which names `exit_path`); None where it cannot
    be told (not Linux) or it is gone."""
    if not LINUX:
        return None
    path = linux.find(run_id)
    pids = linux.members(path) if path is not None else linux.marked([run_id]).get(run_id, ())
    want = os.fsencode(exit_path)
    for pid in pids:
        try:
            with open(f"/proc/{pid}/cmdline", "rb") as f:
                argv = f.read().split(b"\0")
        except OSError:
            continue
        if argv[:2] == [b"/bin/sh", b"-c"] and len(argv) > 3 and argv[3] == want:
            return pid
    return None


def release_run(run_id):
    """Remove the run's cgroup once it is empty; safe to call twice or when there is none.
    (A job object goes with its last handle.)"""
    if LINUX:
        linux.release(run_id)


# -- signals -----------------------------------------------------------------------

def _ignore(signum, frame):
    # Not SIG_IGN: an ignored signal stays ignored across exec, in every agent started since.
    pass


class _Held:
    depth = 0       # how many `uninterrupted` sections the main thread is in
    pending = None  # the interruption that came meanwhile, raised as the last one ends


@contextlib.contextmanager
def uninterrupted():
    """Within it, the signals StopSignals turns into exceptions (Ctrl-C's among them) wait
    till it ends: a launch starts its process and records it, or neither, so no run goes on
    unrecorded, to be started again by the supervisor that takes over."""
    _Held.depth += 1
    try:
        yield
    finally:
        _Held.depth -= 1
        if not _Held.depth and _Held.pending is not None:
            interruption, _Held.pending = _Held.pending, None
            raise interruption


@contextlib.contextmanager
def interruptible():
    """Within an `uninterrupted` section, a place where a stop signal may land: a wait for
    the next thing to do (a queue's get, a sleep), where an exception breaks nothing. One that
    came meanwhile is raised on the way in."""
    depth, _Held.depth = _Held.depth, 0
    try:
        if _Held.pending is not None:
            interruption, _Held.pending = _Held.pending, None
            raise interruption
        yield
    finally:
        _Held.depth = depth


class StopSignals:
    """Within `with StopSignals():`, SIGINT raises KeyboardInterrupt and SIGHUP and SIGTERM
    (those the platform has) raise errors.Interrupted in the main thread, so each takes
    Ctrl-C's way out, once no `uninterrupted` section is running; those named in `ignore` do
    nothing. Only the first raises: a second must not cut that way out (a hand-over, a clean
    stop) short."""

    def __init__(self, ignore=()):
        self.ignore = ignore
        self.old = {}

    def __enter__(self):
        from orchestra.errors import HUNG_UP, TERMINATED
        for name, reason in (("SIGINT", None), ("SIGHUP", ("hung up", HUNG_UP)),
                             ("SIGTERM", ("terminated", TERMINATED))):
            number = getattr(signal, name, None)
            # One ignored when we started stays ignored (`nohup`, or a script's `cmd &`,
            # which ignores Ctrl-C), as Python leaves SIGINT.
            if number is not None and signal.getsignal(number) is not signal.SIG_IGN:
                handler = _ignore if name in self.ignore else self._raiser(reason)
                self.old[number] = signal.signal(number, handler)
        return self

    def _raiser(self, reason):
        def interrupt(signum, frame):
            from orchestra.errors import Interrupted
            for number in self.old:
                signal.signal(number, _ignore)
            error = KeyboardInterrupt() if reason is None else Interrupted(*reason)
            if _Held.depth:
                _Held.pending = error
                return
            raise error
        return interrupt

    def __exit__(self, *exc):
        for number, handler in self.old.items():
            signal.signal(number, handler)
