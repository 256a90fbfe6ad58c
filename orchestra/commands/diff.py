"""`diff`: a task's changes against its base, as git shows them (`git diff BASE...BRANCH`)."""

import os

from orchestra import archive, git, worktree
from orchestra.commands import args, full_id
from orchestra.errors import FAILED, USAGE, OrchestraError
from orchestra.store import Store
from orchestra.task import FINAL, WORKTREE, Status
from orchestra.transitions import with_work


def run(layout, console, task_id, stat=False):
    task_id = full_id(layout, task_id)
    store = Store(layout)
    task, archived = archive.find(store, task_id)
    if task.isolation != WORKTREE:
        raise OrchestraError(f"{task.id} does not run in a worktree of its own: its changes "
                             "are in the project's own tree (see `git diff` there)", USAGE)
    if not task.branch:
        raise OrchestraError(_no_branch(task), FAILED)
    options = ["--stat"] if stat else []
    options.append("--color=always" if console.style.color else "--no-color")
    path = worktree.directory(layout, task)
    if task.state is Status.RUNNING and os.path.exists(os.path.join(path, ".git")):
        # Agents seldom commit before they end, so the branch alone would show nothing yet:
        # what the worktree holds now, read without taking its index lock from the agent.
        console.warn(f"{task.id} is still running: this is its worktree as it is now (files "
                     "it created and has not committed yet are not shown)")
        argv, cwd = ["--no-optional-locks", "diff", *options, task.base, "--"], path
    else:
        if not git.branch_exists(layout.root, task.branch):
            raise OrchestraError(f"the branch {task.branch} of {task.id} is gone (deleted "
                                 "outside orchestra): there is nothing left to diff", FAILED)
        if task.is_final:
            _commit_left_work(store if not archived else Store(layout.archived()), task)
        argv = ["diff", *options, f"{task.base}...refs/heads/{task.branch}", "--"]
        cwd = layout.root
    if console.is_tty:
        git.display(cwd, *argv, to_terminal=True)
    else:
        console.out_bytes(git.display(cwd, "--no-pager", *argv, to_terminal=False))
    return 0


def _no_branch(task):
    if task.merged:
        return (f"{task.id} was merged into {task.merged_into or 'its base branch'} at "
                f"{task.merged} and its branch deleted: see `git log` there")
    if not task.attempt:
        return f"{task.id} has not run yet: its branch is made when it is launched"
    return f"{task.id}'s branch was discarded: there is nothing left to diff"


def _commit_left_work(store, task):
    """What a worktree holds uncommitted (changed by hand since the run ended) is committed
    first, so the diff shows it and the record says it."""
    from orchestra import settle
    work = settle.save_work(store.layout, task, "committed for `orchestra diff`")
    if work is not None and [work[0], list(work[1])] != [task.head, task.changes]:
        store.transition(task.id, lambda t: with_work(t, head=work[0], changes=work[1]),
                         expect=FINAL)


def register(sub):
    p = args.subparser(sub, "diff", help="show a task's changes against its base",
                       description="Show what a task changed on its branch against the commit "
                       "it started from (`git diff BASE...BRANCH`), in git's colours and pager "
                       "on a terminal. A finished task's uncommitted work is committed first; "
                       "a running task shows its worktree as it is now.",
                       epilog=args.examples(
                           ("orchestra diff ID", "the patch"),
                           ("orchestra diff ID --stat", "which files changed")))
    p.add_argument("id", metavar="ID", help="an isolated task")
    p.add_argument("--stat", action="store_true", help="files changed and lines, not the patch")
    p.set_defaults(func=lambda layout, console, a: run(layout, console, a.id, stat=a.stat))
