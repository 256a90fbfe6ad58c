"""Everything platform-specific about processes: spawn a detached tree, tell if it lives, kill it.

POSIX: each agent runs under a tiny /bin/sh wrapper that leads a new session (so one killpg
reaches grandchildren) and writes the agent's exit status to a file, so the outcome survives
the death of the supervisor that started it. Windows: the same wrapper role is played by
`python -m orchestra.process`, the tree is started in a new process group and killed with
`taskkill /T`. Process identity (against pid reuse) is the process start time.
"""

import os
import sys
import time

from orchestra import logfile

WINDOWS = os.name == "nt"

# "$0" is the exit file; "$@" the agent's argv. The status is one short write; a reader
# that finds the file empty treats it as not yet written.
_SH_WRAPPER = '"$@"; c=$?; printf "%s\\n" "$c" > "$0"; exit "$c"'

KILL_GRACE = 1.0


def spawn(argv, *, cwd, env, log_path, exit_path, detach_only=False, header=b""):
    """Start argv with stdin closed and stdout+stderr appended to log_path (after `header`).

    Returns the Popen. detach_only=True skips the exit-recording wrapper (for the supervisor).
    """
    import subprocess

    if not detach_only:
        if WINDOWS:
            argv = [sys.executable, "-m", "orchestra.process", exit_path] + list(argv)
        else:
            argv = ["/bin/sh", "-c", _SH_WRAPPER, exit_path] + list(argv)
    kwargs = {}
    if WINDOWS:
        kwargs["creationflags"] = (subprocess.CREATE_NEW_PROCESS_GROUP
                                   | getattr(subprocess, "CREATE_NO_WINDOW", 0))
    else:
        kwargs["start_new_session"] = True
    with logfile.open_append(log_path) as log:
        log.write(header)
        log.flush()
        return subprocess.Popen(argv, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT, close_fds=True, **kwargs)


def shell_argv(command):
    """argv that runs a command line written for the platform's shell (verification
    commands are people's shell lines, unlike agents, which never go through a shell)."""
    if WINDOWS:
        return [os.environ.get("COMSPEC", "cmd.exe"), "/c", command]
    return ["/bin/sh", "-c", command]


# -- signals -----------------------------------------------------------------------

def _ignore(signum, frame):
    # Not SIG_IGN: an ignored signal stays ignored across exec, in every agent started since.
    pass


class StopSignals:
    """Within `with StopSignals():`, SIGHUP and SIGTERM (those the platform has) raise
    errors.Interrupted in the main thread, as SIGINT raises KeyboardInterrupt, so each takes
    Ctrl-C's way out; those named in `ignore` do nothing. Only the first raises: a second must
    not cut that way out (a hand-over, a clean stop) short."""

    def __init__(self, ignore=()):
        self.ignore = ignore
        self.old = {}

    def __enter__(self):
        import signal
        from orchestra.errors import HUNG_UP, TERMINATED
        for name, reason in (("SIGHUP", ("hung up", HUNG_UP)),
                             ("SIGTERM", ("terminated", TERMINATED))):
            number = getattr(signal, name, None)
            if number is not None:
                handler = _ignore if name in self.ignore else self._raiser(reason)
                self.old[number] = signal.signal(number, handler)
        return self

    def _raiser(self, reason):
        def interrupt(signum, frame):
            import signal
            from orchestra.errors import Interrupted
            for number in self.old:
                signal.signal(number, _ignore)
            raise Interrupted(*reason)
        return interrupt

    def __exit__(self, *exc):
        import signal
        for number, handler in self.old.items():
            signal.signal(number, handler)


# -- identity and liveness ---------------------------------------------------------


def start_token(pid):
    """An opaque token of when `pid` started, or None if it is gone or cannot be told."""
    if WINDOWS:
        return _win_start_token(pid)
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
    """True if `pid` runs and is the same process as when `token` was taken."""
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
    return token is None or now == token


def group_alive(pid):
    """True while any process of the group `pid` leads is left (POSIX), or pid itself (Windows)."""
    if WINDOWS:
        return _win_start_token(pid) is not None
    try:
        os.killpg(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    if os.path.isdir("/proc/self"):
        return _linux_group_has_live_member(pid)
    return True


def _linux_group_has_live_member(pgid):
    # killpg(pgid, 0) also counts zombies, and an orphaned zombie lingers until init reaps
    # it (seconds, under some inits): look for a member that still runs.
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                stat = f.read()
        except OSError:
            continue
        fields = stat[stat.rindex(b")") + 2:].split()
        if fields[0] != b"Z" and int(fields[2]) == pgid:
            return True
    return False


# -- killing -----------------------------------------------------------------------


def terminate_tree(pid):
    """Ask the whole tree to stop (SIGTERM to the group); returns at once."""
    if WINDOWS:
        _taskkill(pid, force=False)
        return
    try:
        os.killpg(pid, 15)
    except (ProcessLookupError, PermissionError):
        pass


def force_kill_tree(pid):
    if WINDOWS:
        _taskkill(pid, force=True)
        return
    try:
        os.killpg(pid, 9)
    except (ProcessLookupError, PermissionError):
        pass


def kill_tree(pid, grace=KILL_GRACE, poll=0.02):
    """SIGTERM the tree, SIGKILL it if anything is left after `grace` seconds; wait till gone."""
    terminate_tree(pid)
    deadline = time.monotonic() + grace
    while group_alive(pid):
        if time.monotonic() >= deadline:
            force_kill_tree(pid)
            end = time.monotonic() + 2.0
            while group_alive(pid) and time.monotonic() < end:
                time.sleep(poll)
            return
        time.sleep(poll)


# -- runs (interim: the process group only, and only when the leader is ours) --------------


def run_alive(pid, pid_start, run_id):
    return bool(pid) and pid_start is not None and start_token(pid) == pid_start \
        or bool(pid) and pid_start is not None and group_alive(pid)


def signal_run(pid, pid_start, run_id, force=False):
    if pid and pid_start is not None:
        (force_kill_tree if force else terminate_tree)(pid)


def kill_run(pid, pid_start, run_id, grace=KILL_GRACE):
    if pid and pid_start is not None:
        kill_tree(pid, grace)


def release_run(run_id):
    pass


# -- Windows -----------------------------------------------------------------------


def _taskkill(pid, force):
    import subprocess
    args = ["taskkill", "/T", "/PID", str(pid)] + (["/F"] if force else [])
    subprocess.run(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _win_start_token(pid):
    import ctypes
    from ctypes import wintypes
    kernel32 = ctypes.windll.kernel32
    handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
    if not handle:
        return None
    try:
        code = wintypes.DWORD()
        if not kernel32.GetExitCodeProcess(handle, ctypes.byref(code)) or code.value != 259:
            return None  # 259 is STILL_ACTIVE
        times = [wintypes.FILETIME() for _ in range(4)]
        if not kernel32.GetProcessTimes(handle, *[ctypes.byref(t) for t in times]):
            return None
        return f"{times[0].dwHighDateTime}:{times[0].dwLowDateTime}"
    finally:
        kernel32.CloseHandle(handle)


def _windows_wrapper(exit_path, argv):
    # The Windows stand-in for the sh wrapper: run the agent, record its exit status.
    import subprocess
    try:
        code = subprocess.call(argv)
    except OSError as e:
        sys.stderr.write(f"orchestra: cannot start {argv[0]}: {e}\n")
        code = 127
    with open(exit_path + ".tmp", "w") as f:
        f.write(f"{code}\n")
    os.replace(exit_path + ".tmp", exit_path)
    return code


if __name__ == "__main__":
    raise SystemExit(_windows_wrapper(sys.argv[1], sys.argv[2:]))
