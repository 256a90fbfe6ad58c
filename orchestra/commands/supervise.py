"""`supervise`: the background supervisor that `run` and `daemon start` start (not listed)."""

import os
import time

from orchestra import lease, supervisor, table
from orchestra.commands import args

# A probe of the lock by another command lasts an instant, and a supervisor that has just
# decided to exit releases it at once: wait that out rather than give up.
ACQUIRE_TIMEOUT = 3.0


def run(layout, console, parallel=1, daemon=False):
    lock = lease.lock_for(layout)
    if not lock.acquire(timeout=ACQUIRE_TIMEOUT):
        return 0  # another supervisor owns this root; it will pick the tasks up

    def say(text):
        console.out(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}")

    def notify(before, after):
        say(table.progress(before, after, time.time(), console.style))

    say(f"supervisor started (pid {os.getpid()}), parallel {parallel}"
        + (", as a daemon" if daemon else ""))
    sup = supervisor.Supervisor(layout, lock, parallel, notify=notify, daemon=daemon)
    try:
        sup.run()
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
