"""`supervise`: the background supervisor that `run` and `daemon start` start (not listed)."""

import os
import sys
import time

from orchestra import lease, process, supervisor, table
from orchestra.commands import args
from orchestra.errors import interruption

# A probe of the lock by another command lasts an instant, and a supervisor that has just
# decided to exit releases it at once: wait that out rather than give up.
ACQUIRE_TIMEOUT = 3.0


class BestEffort:
    """A stream whose writes may be lost: the supervisor's stdout and stderr are its log, on
    the project's disk, and when that disk is full, saying a tick failed must not kill it."""

    def __init__(self, stream):
        self.stream = stream

    def write(self, text):
        try:
            return self.stream.write(text)
        except OSError:
            return len(text)

    def flush(self):
        try:
            self.stream.flush()
        except OSError:
            pass

    def __getattr__(self, name):
        return getattr(self.stream, name)


def run(layout, console, parallel=1, daemon=False):
    # Every write of this process to its log, its own and those deep in the modules it uses
    # (debug.log, a failed tick, a hook's failure), goes through these.
    sys.stdout = console.stdout = BestEffort(console.stdout)
    sys.stderr = console.stderr = BestEffort(console.stderr)
    # Detached, it has no terminal to lose: a SIGHUP means nothing. SIGTERM stops it cleanly:
    # its lock released, supervisor.json removed, its agents left running for the next one.
    with process.StopSignals(ignore=("SIGHUP",)):
        return _supervise(layout, console, parallel, daemon)


def _supervise(layout, console, parallel, daemon):
    lock = lease.lock_for(layout)
    if not lock.acquire(timeout=ACQUIRE_TIMEOUT):
        return 0  # another supervisor owns this root; it will pick the tasks up

    def say(text):
        console.out(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}")

    def notify(before, after):
        say(table.progress(before, after, time.time(), console.style))

    say(f"supervisor started (pid {os.getpid()}), parallel {parallel}"
        + (", as a daemon" if daemon else ""))
    from orchestra import suggest
    for line in suggest.config_warnings(layout):
        say(f"warning: {line}")
    sup = supervisor.Supervisor(layout, lock, parallel, notify=notify, daemon=daemon)
    try:
        sup.run()
    except KeyboardInterrupt as e:
        say(f"stopped ({interruption(e)[0]}); running tasks go on, and the next `run` or "
            "daemon adopts them")
        return 0
    finally:
        if lock.held:
            lock.release()
    say("stopped on request" if sup.stop_requested else "queue drained, supervisor exits")
    return 0


def register(sub):
    p = args.subparser(sub, "supervise")
    p.add_argument("--parallel", type=args.positive_int, default=1)
    p.add_argument("--daemon", action="store_true")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, parallel=a.parallel, daemon=a.daemon))
