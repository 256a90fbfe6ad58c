"""`status`: settle what can be settled, then show the tasks as a table or JSON."""

import os
import time

from orchestra import cells, idindex, lease, overview, statusview, table
from orchestra.commands import refresh, resolve, short_ids
from orchestra.store import Store
from orchestra.task import ACTIVE, Status
from orchestra.commands import args
from orchestra.errors import OrchestraError, USAGE
from orchestra.files import indented

RECENT = 24 * 3600  # finished tasks older than this are hidden without --all
# Task rows of the default table when stdout is not a terminal (a terminal gets its height).
PIPED_ROWS = 50
_ACTIVITY = ("↳", ">")


def run(layout, console, ids=(), as_json=False, show_all=False, watch=False, interval=2.0,
        where=None, everywhere=False):
    """where: a filters.Filter the tasks shown must match; everywhere: a line per registered
    workspace instead (`--workspaces`)."""
    if everywhere:
        if ids or show_all or watch or where:
            raise OrchestraError("--workspaces takes no ids, --all, --watch or filters; "
                                 "`orchestra status --workspaces` or `--json` alone", USAGE)
        from orchestra.commands.workspaces import overview
        return overview(console, as_json, time.time())
    store = Store(layout, persist_cache=True)
    # Only --all reads the archive: a plain `status` stays as fast as the live directory.
    archive_store = (Store(layout.archived(), persist_cache=True)
                     if show_all and not ids and not as_json else None)
    if watch:
        from orchestra import watch as screen
    if as_json:
        def document():
            return _json(store, layout, console, ids, show_all, where)
        if watch:
            # JSON Lines: the same document on one line, printed each time it changes.
            return screen.lines(console, lambda: "".join(
                line.lstrip(" ") for line in document().split("\n")), interval)
        console.out(document())
        return 0

    def frame(columns, lines, footer=None):
        return _frame(store, archive_store, layout, console, ids, show_all, where, columns,
                      lines, footer)
    if not watch:
        console.out("\n".join(frame(console.width, console.height)))
        return 0
    footer = f"every {interval:g}s{console.style.sep}Ctrl-C quits"
    if console.is_tty:
        return screen.screen(console, lambda c, l: frame(c, l, footer), interval)
    return screen.frames(console, lambda c, l: frame(c, l, footer), interval)


def _gather(store, archive_store, console, ids, show_all, where, now):
    """(snapshot, tasks to show, hidden older finished ones, archived ones among them), of
    those `where` selects"""
    snap = refresh(store, now)
    for problem in snap.problems:
        console.warn(problem)
    archived = ()
    if ids:
        tasks = resolve(store, snap, ids)
        return snap, where.select(tasks) if where else tasks, 0, archived
    everything = list(snap.tasks.values())
    if where:
        everything = where.select(everything)
    tasks = everything if show_all else [t for t in everything if _recent(t, now)]
    hidden = len(everything) - len(tasks)
    if archive_store is not None:
        past = archive_store.scan()
        for problem in past.problems:
            console.warn(problem)
        archived = [t for t in past.tasks.values() if t.id not in snap.tasks
                    and (not where or where.matches(t))]
        tasks += archived
    return snap, tasks, hidden, archived


def _frame(store, archive_store, layout, console, ids, show_all, where, width, height, footer):
    """The lines of the table and its summary. With a `height` (a terminal's lines) the
    default table keeps to it and the summary is folded into `width`; piped, it shows up to
    PIPED_ROWS tasks."""
    now = time.time()
    view = None if ids or show_all or where else _glance(store, layout, console, now)
    try:
        return _lines(view, store, archive_store, layout, console, ids, show_all, where, width,
                      height, footer, now)
    finally:
        if view is not None:
            view.close()


def _glance(store, layout, console, now):
    """The default table's statusview.Glance when the scan cache can be trusted and nothing is
    left to settle (commands.refresh would change nothing); else None, for the full path."""
    cols = store.columns()
    if cols is None:
        return None
    view = statusview.Glance(cols, now, RECENT)
    if (view.running or view.doomed()) and not lease.supervisor_alive(layout):
        view.close()
        return None
    for problem in view.problems:
        console.warn(problem)
    return view


def _lines(view, store, archive_store, layout, console, ids, show_all, where, width, height,
           footer, now):
    style = console.style
    if view is None:
        snap, tasks, hidden, archived = _gather(store, archive_store, console, ids, show_all,
                                                where, now)
        if not tasks and where:
            return [f"no {where.describe()}" + (
                f" ({hidden} finished earlier: `--all` shows them)" if hidden else "")]
        n, counts, tallies = table.counted(tasks)
    else:
        tasks, hidden, archived = (), view.hidden, ()
        n, counts, tallies = view.counted()
    info = lease.read_info(layout)
    paused = os.path.exists(layout.paused)
    summary = table.summary_of(n, counts, tallies, hidden, info, style, paused)
    if archived:
        summary += f"{style.sep}{len(archived)} of them archived (`orchestra show ID` shows one)"
    if not n and not hidden:
        summary += "\n(queue one with `orchestra start AGENT PROMPT`)"
    tail = summary.split("\n")
    if width is not None and height is not None:
        tail = [part for line in tail for part in cells.fold(line, width)]
    if footer:
        tail += ["", footer]
    if not n:
        return tail
    status_of = _StatusOf(snap.tasks) if view is None else view.status_of()
    note, ordered = "", False
    # The watch gives each running task a second line: what its agent did last.
    told = footer is not None and width is not None
    if not ids and not show_all:
        # the header, the note, the blank line before the summary; the shell's prompt after
        # a plain status
        rows = PIPED_ROWS if height is None else height - len(tail) - 3 - (footer is None)
        if told:
            rows -= counts.get(Status.RUNNING, 0)
        fit = view.fit if view is not None else lambda rows: overview.fit(tasks, rows)
        fitted = fit(max(1, rows))
        if height is not None and width is not None:
            folded = len(cells.fold(fitted.note(style), width))
            if folded > 1:  # the note takes more than its one line: fewer rows
                fitted = fit(max(1, rows - folded + 1))
        tasks, ordered, note = fitted.tasks, True, fitted.note(style)
    if view is None:
        short = short_ids(layout, snap, tasks)
    else:
        short = view.short_ids(idindex.ids(layout), tasks)
    running = [t for t in tasks if t.state is Status.RUNNING]
    progress = {}
    if running:  # imported only then: its patterns cost a table of finished tasks nothing
        from orchestra import activity
        progress = {t.id: activity.progress_text(activity.read_plan(layout.plan_file(t.id)))
                    for t in running}
    lines = table.render(tasks, now, style, width, status_of, short, ordered,
                         {k: v for k, v in progress.items() if v}).split("\n")
    if told and running:
        lines = _with_activity(layout, lines, tasks, running, width, style)
    if note:
        lines += cells.fold(note, width) if width is not None else [note]
    lines += [""] + tail
    if footer and height is not None and len(lines) > height:
        # Running tasks alone are more than the screen holds: say so on its last line.
        more = len(lines) - height + 1
        lines = lines[:height - 1] + [cells.cut(
            f"{style.ellipsis} {more} more lines below; a taller terminal shows them",
            width, style.ellipsis)]
    return lines


def _with_activity(layout, lines, tasks, running, width, style):
    """The table's lines with, under each running task's row, the latest thing its agent
    said or did (activity.read_latest), indented and cut to the width."""
    from orchestra import activity
    said = {t.id: activity.read_latest(layout.log_file(t.id), t.output) for t in running}
    out = lines[:1]
    for task, line in zip(tasks, lines[1:]):
        out.append(line)
        if task.id in said:
            text = "  " + style.icon(_ACTIVITY) + " " + (said[task.id] or "nothing said yet")
            out.append(style.paint(cells.cut(text, width, style.ellipsis), "dim"))
    return out + lines[1 + len(tasks):]


class _StatusOf:
    """id -> status, for the dependencies of the pending rows shown: looked up as they need
    it rather than built for every task."""

    def __init__(self, tasks):
        self._tasks = tasks

    def get(self, task_id):
        task = self._tasks.get(task_id)
        return None if task is None else task.state


def _json(store, layout, console, ids, show_all, where):
    now = time.time()
    snap, tasks, _, _ = _gather(store, None, console, ids, show_all, where, now)
    items = [(t.data["created_at"] or "", t.id, text)
             for t, text in zip(tasks, indented([t.to_dict() for t in tasks], 1))]
    if show_all and not ids and where:
        items += [(t.data["created_at"] or "", t.id, text) for t, text in
                  _archived_matching(layout, snap, where)]
    elif show_all and not ids:
        from orchestra import archive
        past, problems = archive.rendered(layout, _archived_json, JSON_FORMAT)
        for problem in problems:
            console.warn(problem)
        items += [item for item in past if item[1] not in snap.tasks]
    items.sort()
    return "[\n" + ",\n".join(item[2] for item in items) + "\n]" if items else "[]"


def _archived_matching(layout, snap, where):
    past = Store(layout.archived(), persist_cache=True).scan()
    tasks = [t for t in where.select(past.tasks.values()) if t.id not in snap.tasks]
    return zip(tasks, _archived_json(tasks))


JSON_FORMAT = 1  # of the text files.indented makes: a change must bump it (archive.rendered keeps it)


def _archived_json(tasks):
    dicts = [t.to_dict() for t in tasks]
    for d in dicts:
        d["archived"] = True
    return indented(dicts, 1)


def _recent(task, now):
    if task.state in ACTIVE:  # read from the scan cache's glance, not the task file's contents
        return True
    finished = task.finished()
    return finished is None or now - finished < RECENT


def register(sub):
    p = args.subparser(sub, "status", help="show tasks",
                       description="Show tasks as a table (active ones and those finished in the "
                       "last 24 hours) with a summary line.",
                       epilog=args.examples(
                           ("orchestra status", "what is queued, running and done"),
                           ("orchestra status -W", "redraw every 2 s until Ctrl-C"),
                           ("orchestra status --workspaces", "every registered project"),
                           ("orchestra status --json | jq '.[].status'", "for scripts")))
    p.add_argument("ids", nargs="*", metavar="ID", help="only these tasks")
    p.add_argument("--json", action="store_true", help="a JSON array, one object a task")
    p.add_argument("--all", "-a", action="store_true",
                   help="include older finished tasks and the archive")
    p.add_argument("--watch", "-W", action="store_true", help="redraw until Ctrl-C")
    p.add_argument("--interval", type=args.seconds, default=2.0, metavar="DURATION",
                   help="time between redraws, e.g. 5, 30s, 1m (default 2)")
    p.add_argument("--workspaces", action="store_true",
                   help="a line per registered workspace (`orchestra workspaces`), from anywhere")
    args.add_filters(p)
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, ids=a.ids, as_json=a.json, show_all=a.all, watch=a.watch,
        interval=a.interval, where=args.task_filter(a), everywhere=a.workspaces))
