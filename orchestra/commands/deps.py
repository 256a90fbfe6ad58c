"""`deps`: a task's ancestors and descendants as a tree; `deps --check` validates the graph."""

import time

from orchestra import dependencies, table
from orchestra.commands import args, full_id, refresh, short_ids
from orchestra.errors import FAILED, OK, OrchestraError
from orchestra.store import Store


def run(layout, console, task_id=None, check=False):
    if check and task_id is not None:
        raise OrchestraError("give a task id or --check (the whole graph), not both")
    if not check and task_id is None:
        raise OrchestraError("give a task id, or --check for the whole graph")
    store = Store(layout, persist_cache=True)
    # A check only reads; the tree shows statuses brought up to date first.
    snap = store.scan() if check else refresh(store, time.time())
    for problem in snap.problems:
        console.warn(problem)
    tasks = list(snap.tasks.values())
    if check:
        found = dependencies.problems(tasks)
        for line in found:
            console.warn(line)
        edges = sum(len(t.data["depends_on"] or ()) for t in tasks)
        if found:
            console.out(f"{len(found)} problem{'s' if len(found) != 1 else ''} in {len(tasks)} tasks "
                        f"and {edges} dependencies")
            return FAILED
        console.out(f"ok: {len(tasks)} tasks, {edges} dependencies, no missing task, no cycle")
        return OK
    task_id = full_id(layout, task_id)
    if task_id not in snap.tasks:
        store.get(task_id)  # raises the usual "no task" error
    by_id = snap.tasks
    # A tree line's id as the table shows it, for the same reason: it is taken back.
    short = short_ids(layout, snap, tasks)
    style = (console.style, short)
    lines = [_line(by_id[task_id], style)]
    lines.append("depends on:" if by_id[task_id].data["depends_on"] else "depends on: nothing")
    _ancestors(by_id, task_id, 1, set(), lines, style)
    kids = dependencies.children(tasks)
    lines.append("needed by:" if kids.get(task_id) else "needed by: nothing")
    _descendants(by_id, kids, task_id, 1, set(), lines, style)
    console.out("\n".join(lines))
    return OK


def _line(task, style):
    """style: (table.Style, id -> abbreviation)"""
    style, short = style
    now = time.time()
    return (f"{short.get(task.id, task.id)}  {task.agent}  {table.status_text(task, now, style)}  "
            f"{table.excerpt(task.prompt, 50, style.ellipsis)}")


def _ancestors(by_id, tid, depth, seen, lines, style):
    for dep in by_id[tid].data["depends_on"] or ():
        pad = "  " * depth
        if dep not in by_id:
            lines.append(f"{pad}{dep}  (missing)")
        elif dep in seen:
            lines.append(f"{pad}{dep}  (shown above)")
        else:
            seen.add(dep)
            lines.append(pad + _line(by_id[dep], style))
            _ancestors(by_id, dep, depth + 1, seen, lines, style)


def _descendants(by_id, kids, tid, depth, seen, lines, style):
    for kid in kids.get(tid, ()):
        pad = "  " * depth
        if kid in seen:
            lines.append(f"{pad}{kid}  (shown above)")
            continue
        seen.add(kid)
        lines.append(pad + _line(by_id[kid], style))
        _descendants(by_id, kids, kid, depth + 1, seen, lines, style)


def register(sub):
    p = args.subparser(sub, "deps", help="show or check task dependencies",
                       description="Show a task's ancestors (what it waits on) and descendants "
                       "(what waits on it) as indented trees; --check validates the whole graph "
                       "(missing tasks, cycles) and exits 1 on a problem.",
                       epilog=args.examples(
                           ("orchestra deps ID", "what ID waits on, and what waits on it"),
                           ("orchestra deps --check", "check the whole graph")))
    p.add_argument("id", nargs="?", metavar="ID", help="the task whose trees to show")
    p.add_argument("--check", action="store_true", help="validate every dependency")
    p.set_defaults(func=lambda layout, console, a: run(layout, console, a.id, check=a.check))
