"""`pause` and `resume`: stop and restart launching new tasks; running ones go on."""

import os
import time

from orchestra import lease
from orchestra.clock import iso
from orchestra.commands import args
from orchestra.files import write_atomic
from orchestra.store import Store


def pause(layout, console):
    Store(layout).ensure()
    if os.path.exists(layout.paused):
        console.out("the queue is already paused; `orchestra resume` restarts it")
        return 0
    write_atomic(layout.paused, iso(time.time()) + "\n")
    console.out("paused: no new task starts until `orchestra resume`; running tasks go on")
    return 0


def resume(layout, console):
    try:
        os.unlink(layout.paused)
    except FileNotFoundError:
        console.out("the queue is not paused")
        return 0
    console.out("resumed; " + lease.next_step(layout, "the pending tasks"))
    return 0


def register(sub):
    p = args.subparser(sub, "pause", help="stop launching new tasks",
                       description="Stop launching new tasks (running tasks go on) until "
                       "`orchestra resume`. Kept in .orchestra/paused, so it survives restarts.",
                       epilog=args.examples(("orchestra pause", "hold the queue"),
                                            ("orchestra resume", "let it go on")))
    p.set_defaults(func=lambda layout, console, a: pause(layout, console))
