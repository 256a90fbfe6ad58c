"""`supervise`: the background supervisor that `run` starts (not for direct use)."""

import time

from orchestra import lease, supervisor, table
from orchestra.commands import args

# A `status` may hold the lock for a moment while it settles orphans: wait that out.
ACQUIRE_TIMEOUT = 3.0


def run(layout, console, parallel=1):
    lock = lease.lock_for(layout)
    if not lock.acquire(timeout=ACQUIRE_TIMEOUT):
        return 0  # another supervisor owns this root; it will pick the tasks up

    def notify(before, after):
        stamp = time.strftime("%Y-%m-%d %H:%M:%S")
        console.out(f"{stamp} {table.progress(before, after, time.time(), console.style)}")

    console.out(f"{time.strftime('%Y-%m-%d %H:%M:%S')} supervisor started, parallel {parallel}")
    try:
        supervisor.Supervisor(layout, lock, parallel, notify=notify).run(until_drained=True)
    finally:
        if lock.held:
            lock.release()
    console.out(f"{time.strftime('%Y-%m-%d %H:%M:%S')} queue drained, supervisor exits")
    return 0


def register(sub):
    p = args.subparser(sub, "supervise")  # started by `run`; not listed
    p.add_argument("--parallel", type=args.positive_int, default=1)
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, parallel=a.parallel))
