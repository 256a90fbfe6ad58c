"""`archive`: move finished tasks older than their retention to .orchestra/archive/."""

import time

from orchestra import archive
from orchestra.clock import human
from orchestra.commands import args
from orchestra.store import Store


def run(layout, console, dry_run=False):
    completed, failed = archive.retentions(layout)
    now = time.time()
    tasks, problems = archive.sweep(Store(layout, persist_cache=True), now, completed, failed,
                                    dry_run=dry_run)
    for problem in problems:
        console.warn(problem)
    verb = "would move" if dry_run else "moved"
    for task in tasks:
        ended = task.finished() if task.finished() is not None else task.created()
        console.out(f"{verb} {task.id}  {task.status:<9}  ended {human(now - ended)} ago")
    n = len(tasks)
    console.out(f"{'would archive' if dry_run else 'archived'} {n} task{'s' if n != 1 else ''} "
                f"(retention: completed {_retention(completed)}, failed and cancelled "
                f"{_retention(failed)})")
    return 0


def _retention(seconds):
    if not seconds:
        return "never"
    return f"{seconds // 86400:g}d" if seconds % 86400 == 0 else human(seconds)


def register(sub):
    p = args.subparser(sub, "archive", help="move old finished tasks to .orchestra/archive/",
                       description="Move finished tasks older than their retention (completed: "
                       "7 days, failed and cancelled: 14 days, unless the settings say "
                       "otherwise) with all their files to .orchestra/archive/. The supervisor "
                       "does this by itself; `status --all`, `show` and `logs` still find them. "
                       "Tasks that pending or running tasks depend on stay.",
                       epilog=args.examples(
                           ("orchestra archive --dry-run", "what would move"),
                           ("orchestra archive", "move them now")))
    p.add_argument("--dry-run", "-n", action="store_true",
                   help="print what would move, move nothing")
    p.set_defaults(func=lambda layout, console, a: run(layout, console, dry_run=a.dry_run))
