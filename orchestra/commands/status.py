"""`status`: settle what can be settled, then show the tasks as a table or JSON."""

import time

from orchestra import lease, table
from orchestra.commands import refresh, resolve
from orchestra.store import Store
from orchestra.task import ACTIVE
from orchestra.commands import args

RECENT = 24 * 3600  # finished tasks older than this are hidden without --all
CLEAR = "\x1b[H\x1b[2J"


def run(layout, console, ids=(), as_json=False, show_all=False, watch=False, interval=2.0):
    store = Store(layout, persist_cache=True)
    if not watch:
        console.out(_view(store, layout, console, ids, as_json, show_all))
        return 0
    try:
        while True:
            text = _view(store, layout, console, ids, as_json, show_all)
            console.out((CLEAR if console.is_tty else "") + text
                        + f"\n\nevery {interval:g}s · Ctrl-C quits")
            time.sleep(interval)
    except KeyboardInterrupt:
        return 0  # the normal way to leave --watch


def _view(store, layout, console, ids, as_json, show_all):
    now = time.time()
    snap = refresh(store, now)
    for problem in snap.problems:
        console.warn(problem)
    if ids:
        tasks, hidden = resolve(store, snap, ids), 0
    else:
        everything = list(snap.tasks.values())
        tasks = everything if show_all else [t for t in everything if _recent(t, now)]
        hidden = len(everything) - len(tasks)
    if as_json:
        import json
        tasks.sort(key=lambda t: (t.created_at or "", t.id))
        return json.dumps([t.to_dict() for t in tasks], indent=2, ensure_ascii=False)
    info = lease.read_info(layout)
    if not tasks:
        return table.summary(tasks, hidden, info, console.style) + (
            "" if hidden else "\n(queue one with `orchestra start AGENT PROMPT`)")
    return (table.render(tasks, now, console.style, console.width) + "\n\n"
            + table.summary(tasks, hidden, info, console.style))


def _recent(task, now):
    if task.state in ACTIVE:
        return True
    finished = task.finished()
    return finished is None or now - finished < RECENT


def register(sub):
    p = args.subparser(sub, "status", help="show tasks",
                       description="Show tasks as a table (active ones and those finished in the "
                       "last 24 hours) with a summary line.")
    p.add_argument("ids", nargs="*", metavar="ID", help="only these tasks")
    p.add_argument("--json", action="store_true", help="a JSON array, one object a task")
    p.add_argument("--all", "-a", action="store_true", help="include older finished tasks")
    p.add_argument("--watch", "-W", action="store_true", help="redraw until Ctrl-C")
    p.add_argument("--interval", type=args.seconds, default=2.0, help="seconds between redraws (default 2)")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, ids=a.ids, as_json=a.json, show_all=a.all, watch=a.watch,
        interval=a.interval))
