"""`run`: supervise pending tasks, in the background (default) or the foreground (--wait)."""

import contextlib
import time

from orchestra import lease, process, settings, suggest, supervisor, table
from orchestra.liveline import LiveLines
from orchestra.errors import FAILED, OK, STDOUT_CLOSED, Interrupted, interruption
from orchestra.store import Store
from orchestra.task import ACTIVE, Status
from orchestra.commands import args

WATCH_POLL = 0.2
GIVE_UP_AFTER = 5  # failed ticks in a row (about 15 s of retrying) before `run --wait` stops


def run(layout, console, parallel=None, wait=False):
    suggest.warn_config(layout, console)
    store = Store(layout, persist_cache=True)
    store.ensure()
    snap = store.scan()
    for problem in snap.problems:
        console.warn(problem)
    active = [t for t in snap.tasks.values() if t.state in ACTIVE]
    pending = sum(1 for t in active if t.state is Status.PENDING)
    info = lease.read_info(layout)
    if info is not None and not wait:
        kind = "the daemon" if info.get("daemon") else "a supervisor"
        if parallel is not None and info.get("parallel") != parallel:
            lease.update_info(layout, parallel=parallel)
            console.out(f"{kind} is already running (pid {info.get('pid')}); parallel set to {parallel}")
        else:
            console.out(f"{kind} is already running (pid {info.get('pid')}, parallel "
                        f"{info.get('parallel')}); it picks up pending tasks by itself")
        return OK
    if parallel is None:
        parallel = settings.load(layout).parallel
    if wait:
        return _foreground(layout, console, parallel, {t.id for t in active})
    if not active:
        console.out("nothing to run: no pending tasks (`orchestra start AGENT PROMPT` queues one)")
        return OK
    pid, info = lease.spawn_background(layout, parallel)
    if info is None:
        console.warn(f"the background supervisor (pid {pid}) did not come up; see "
                     f"{layout.supervisor_log}")
        return FAILED
    if info.get("pid") != pid:
        console.out(f"a supervisor started meanwhile (pid {info.get('pid')}) runs the tasks")
        return OK
    what = f"{pending} pending task{'s' if pending != 1 else ''}"
    if len(active) > pending:
        what += f" and {len(active) - pending} left running by an earlier supervisor"
    console.out(f"supervising {what} in the background (pid {pid}, parallel {parallel}); "
                "`orchestra status --watch` follows them")
    return OK


def _foreground(layout, console, parallel, watched):
    """Supervise here until drained. A hang-up (the terminal or ssh connection closed), a
    SIGTERM or a closed stdout (`run --wait | head -1`) leaves as Ctrl-C does: the queue
    goes on under a background supervisor."""
    live = LiveLines(console, layout) if console.is_tty else None
    say = live.say if live else console.out

    def notify(before, after):
        try:
            say(table.progress(before, after, time.time(), console.style))
        except BrokenPipeError:
            # Raised past the supervisor's handler of failed ticks, which would retry it.
            raise Interrupted("standard output was closed", STDOUT_CLOSED) from None

    with process.StopSignals(), live or contextlib.nullcontext():
        return _supervise_or_follow(layout, console, parallel, watched, notify,
                                    quiet=live.close if live else lambda: None)


def _supervise_or_follow(layout, console, parallel, watched, notify, quiet):
    """`quiet` takes the live lines off the screen before anything final is printed."""
    lock = lease.lock_for(layout)
    store = Store(layout)
    seen = {}
    ran = set(watched)
    while True:
        if lock.acquire(timeout=0):
            sup = supervisor.Supervisor(layout, lock, parallel, notify=notify,
                                        give_up_after=GIVE_UP_AFTER)
            try:
                sup.run()
            except KeyboardInterrupt as e:
                quiet()
                return _hand_over(layout, console, lock, parallel, e)
            finally:
                if lock.held:
                    lock.release()
            ran |= sup.ran
            break
        # Another supervisor owns the queue: follow the tasks we were asked about.
        try:
            snap = store.scan()
            for tid in watched:
                task = snap.tasks.get(tid)
                if task is None:
                    continue
                if tid in seen and seen[tid] != (task.status, task.attempt):
                    notify(None, task)
                seen[tid] = (task.status, task.attempt)
            if all(tid not in snap.tasks or snap.tasks[tid].is_final for tid in watched):
                break
            time.sleep(WATCH_POLL)
        except KeyboardInterrupt as e:
            quiet()
            why, code = interruption(e)
            console.warn(f"{why}; the other supervisor goes on running the tasks")
            return code
    quiet()
    snap = store.scan()
    mine = [snap.tasks[t] for t in ran if t in snap.tasks]
    if not mine and not watched:
        console.out("nothing to run: no pending tasks (`orchestra start AGENT PROMPT` queues one)")
        return OK
    console.out(table.summary(mine, 0, None, console.style))
    return OK if all(t.state is Status.COMPLETED for t in mine) else FAILED


def _hand_over(layout, console, lock, parallel, interrupt):
    """Ctrl-C (or a hang-up, a SIGTERM, a closed stdout) in `run --wait`: the agents keep
    running; a background supervisor adopts them and runs what is still pending."""
    why, code = interruption(interrupt)
    lock.release()
    snap = Store(layout).scan()
    left = [t for t in snap.tasks.values() if t.state in ACTIVE]
    if left:
        pid, info = lease.spawn_background(layout, parallel)
        pid = info.get("pid") if info else pid
        console.warn(f"{why}: {len(left)} task(s) go on under a background supervisor "
                     f"(pid {pid}); `orchestra cancel --all` stops them")
    else:
        console.warn(why)
    return code


def register(sub):
    p = args.subparser(sub, "run", help="run pending tasks",
                       description="Run pending tasks, highest priority then oldest first, at most "
                       "N at once. Without --wait a background supervisor does it and this returns "
                       "at once; with --wait it happens here, and the exit code is 0 if every task "
                       "it ran completed, 1 otherwise. A hang-up, SIGTERM or a closed stdout "
                       "hands --wait's tasks to a background supervisor, as Ctrl-C does.",
                       epilog=args.examples(
                           ("orchestra run", "in the background; returns at once"),
                           ("orchestra run -p 3", "three tasks at once"),
                           ("orchestra run --wait", "here, until the queue is drained")))
    p.add_argument("--parallel", "-p", type=args.positive_int, metavar="N",
                   help="tasks at once (default: the `parallel` setting, else 1)")
    p.add_argument("--wait", "-w", action="store_true", help="supervise in the foreground until drained")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, parallel=a.parallel, wait=a.wait))
