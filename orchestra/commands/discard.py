"""`discard`: delete a finished task's worktree and branch, work and all, saying what goes."""

import os

from orchestra import archive, git, worktree
from orchestra.commands import args, full_ids
from orchestra.errors import FAILED, OK, USAGE
from orchestra.store import Store
from orchestra.task import FINAL, WORKTREE
from orchestra.transitions import unplaced


def run(layout, console, ids):
    ids = full_ids(layout, ids)
    store = Store(layout)
    found = [archive.find(store, task_id) for task_id in ids]  # every id checked before any goes
    code = OK
    for task, archived in found:
        if task.isolation != WORKTREE:
            console.warn(f"{task.id} does not run in a worktree of its own: there is nothing to "
                         "discard (`orchestra clean` deletes the task itself)")
            code = max(code, USAGE)
            continue
        if not task.is_final:
            console.warn(f"{task.id} is {task.status}: cancel it first (`orchestra cancel "
                         f"{task.id}`), then discard it")
            code = max(code, FAILED)
            continue
        what = losses(layout, task)
        if not what:
            console.warn(f"{task.id} has no worktree or branch left to discard")
            code = max(code, FAILED)
            continue
        worktree.discard(layout, task)
        owner = Store(layout.archived()) if archived else store
        owner.transition(task.id, unplaced, expect=FINAL)
        console.out(f"discarded {task.id}: {', '.join(what)}")
    return code


def losses(layout, task):
    """What deleting the task's branch and worktree deletes, as phrases: the branch with the
    commits its base branch lacks, the worktree with its uncommitted files."""
    out = []
    n = worktree.own_commits(layout, task)
    if n is not None:
        out.append(f"branch {task.branch} ({_count(n, 'commit')} not in "
                   f"{task.base_branch or 'its base'})")
    path = worktree.directory(layout, task)
    if os.path.exists(path):
        left = git.dirty(path) if os.path.exists(os.path.join(path, ".git")) else []
        shown = task.worktree or worktree.relative_path(task)
        out.append(f"worktree {shown} ({_count(len(left), 'uncommitted file')})")
    return out


def _count(n, noun):
    return f"{n} {noun}{'s' if n != 1 else ''}"


def register(sub):
    p = args.subparser(sub, "discard", help="delete finished tasks' worktrees and branches",
                       description="Delete the worktree and the branch of finished tasks, with "
                       "every commit and uncommitted change on them; says what it deletes. The "
                       "tasks themselves stay (`orchestra clean` deletes those).",
                       epilog=args.examples(
                           ("orchestra discard ID", "throw away one task's work"),))
    p.add_argument("ids", nargs="+", metavar="ID", help="finished isolated tasks")
    p.set_defaults(func=lambda layout, console, a: run(layout, console, a.ids))
