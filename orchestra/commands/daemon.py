"""`daemon start|stop|status`: a supervisor that stays up when the queue is empty."""

import json
import os
import time

from orchestra import lease, process, suggest
from orchestra.clock import human, parse_iso
from orchestra.commands import args
from orchestra.errors import FAILED, OK

STOP_WAIT = 10.0


def start(layout, console, parallel=None):
    suggest.warn_config(layout, console)
    info = lease.read_info(layout)
    if info is not None:
        if info.get("daemon") and (parallel is None or parallel == info.get("parallel")):
            console.out(f"the daemon is already running (pid {info['pid']})")
            return OK
        changes = {"daemon": True}
        if parallel is not None:
            changes["parallel"] = parallel
        lease.update_info(layout, **changes)
        console.out(f"the running supervisor (pid {info['pid']}) now stays up as the daemon"
                    + (f", parallel {parallel}" if parallel is not None else ""))
        return OK
    from orchestra import settings
    parallel = parallel or settings.load(layout).parallel
    pid, running = lease.spawn_background(layout, parallel, daemon=True)
    if running is None:
        console.warn(f"the daemon (pid {pid}) did not come up; see {layout.supervisor_log}")
        return FAILED
    # Another `daemon start` (or a `run`) at the same moment may have won the lock: any live
    # supervisor will do, made a daemon if it is not one.
    if not running.get("daemon"):
        lease.update_info(layout, daemon=True)
    if running.get("pid") != pid:
        console.out(f"the daemon is already running (pid {running.get('pid')})")
        return OK
    console.out(f"daemon started (pid {pid}, parallel {parallel}); log: "
                f"{os.path.relpath(layout.supervisor_log, layout.root)}")
    return OK


def stop(layout, console, kill=False):
    info = lease.read_info(layout)
    if info is None:
        console.out("no supervisor is running")
        return OK
    if kill:
        from orchestra.commands import cancel
        cancel.run(layout, console, running_only=True)
    lease.update_info(layout, stop=True)
    pid = info["pid"]
    if not _wait_for(lambda: process.start_token(pid) is None, STOP_WAIT):
        console.warn(f"the supervisor (pid {pid}) has not stopped after {STOP_WAIT:g}s")
        return FAILED
    left = "" if kill else "; running tasks go on and the next supervisor adopts them"
    console.out(f"stopped the supervisor (pid {pid}){left}")
    return OK


def status(layout, console, as_json=False):
    info = lease.read_info(layout)
    paused = os.path.exists(layout.paused)
    if as_json:
        console.out(json.dumps({"running": info is not None, "paused": paused, **(info or {})}))
        return OK if info is not None else FAILED
    if info is None:
        console.out("no supervisor is running" + (" (the queue is paused)" if paused else ""))
        return FAILED
    started = parse_iso(info.get("started_at")) if info.get("started_at") else None
    uptime = human(time.time() - started) if started else "?"
    kind = "daemon" if info.get("daemon") else "supervisor of a `run` (exits when drained)"
    console.out(f"{kind}: pid {info.get('pid')}, up {uptime}, parallel {info.get('parallel')}"
                + (", paused" if paused else ""))
    return OK


def _wait_for(condition, timeout):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)
    return True


def register(sub):
    p = args.subparser(sub, "daemon", help="a supervisor that stays up",
                       description="A supervisor that keeps running when the queue is empty and "
                       "launches tasks as they are queued. One supervisor per project root: "
                       "`run` uses a running daemon rather than start a second.",
                       epilog=args.examples(
                           ("orchestra daemon start -p 2", "keep two tasks running as they come"),
                           ("orchestra daemon status", "is it up? (exit 0 yes, 1 no)"),
                           ("orchestra daemon stop", "stop it; running tasks go on")))
    verbs = p.add_subparsers(dest="verb", metavar="{start,stop,status}", required=True)
    s = args.subparser(verbs, "start", help="start the daemon",
                       description="Start the daemon in the background, or make a running "
                       "supervisor stay up as the daemon.")
    s.add_argument("--parallel", "-p", type=args.positive_int, metavar="N",
                   help="tasks at once (default: the `parallel` setting, else 1)")
    s.set_defaults(func=lambda layout, console, a: start(layout, console, a.parallel))
    s = args.subparser(verbs, "stop", help="stop it; running tasks go on unless --kill",
                       description="Stop the daemon. Its running tasks go on, and the next "
                       "`run` or daemon adopts them, unless --kill.")
    s.add_argument("--kill", action="store_true", help="also cancel the running tasks")
    s.set_defaults(func=lambda layout, console, a: stop(layout, console, kill=a.kill))
    s = args.subparser(verbs, "status", help="is it running? (exit 0 yes, 1 no)",
                       description="Say whether a supervisor or the daemon runs for this "
                       "project, since when and with what parallelism; exit 0 if one runs, 1 "
                       "if not.")
    s.add_argument("--json", action="store_true", help="the supervisor's record as JSON")
    s.set_defaults(func=lambda layout, console, a: status(layout, console, as_json=a.json))
