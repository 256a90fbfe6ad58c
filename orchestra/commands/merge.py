"""`merge`: integrate tasks' branches into the branch checked out in the main worktree, one by
one, stopping at the first that cannot be merged."""

from orchestra import git
from orchestra import merge as merging
from orchestra.commands import args, full_ids
from orchestra.errors import OK, USAGE, OrchestraError
from orchestra.store import Store
from orchestra.table import changes_text
from orchestra.task import WORKTREE, Status

_DONE = {"merge": "merged", "squash": "squash-merged", "rebase": "rebased and merged"}


def run(layout, console, ids=(), merge_all=False, how="merge"):
    if bool(ids) == merge_all:
        raise OrchestraError("name the tasks to merge, or use --all (not both)", USAGE)
    ids = full_ids(layout, ids)
    store = Store(layout)
    if merge_all:
        tasks = _waiting(layout, store, console)
        if not tasks:
            console.out("nothing to merge: no completed task is waiting for it")
            return OK
    else:
        tasks = [store.get(task_id) for task_id in ids]  # an unknown id merges none
    merged = []
    for task in tasks:
        try:
            result = merging.merge(store, task, how)
        except OrchestraError as e:
            if len(tasks) > 1:
                e.message += (f"; merged before it: {', '.join(merged)}" if merged
                              else "; nothing was merged")
            raise
        console.out(_line(console, task, result, how))
        merged.append(task.id)
    return OK


def _waiting(layout, store, console):
    """The completed, isolated, unmerged tasks queued on the branch checked out now, in the
    order they completed. Those of other branches are left (said): merging them here would
    bring their base branch's commits along."""
    top = git.toplevel(layout.root)
    here = git.current_branch(top) if top else None
    tasks = sorted((t for t in store.scan().tasks.values()
                    if t.state is Status.COMPLETED and t.isolation == WORKTREE and not t.merged
                    and t.branch), key=lambda t: (t.finished_at or "", t.id))
    elsewhere = [t for t in tasks if t.base_branch not in (None, here)]
    if elsewhere:
        console.out(f"left {len(elsewhere)} completed task{'s' if len(elsewhere) != 1 else ''} "
                    f"queued on other branches ({', '.join(t.id for t in elsewhere)}): "
                    "`orchestra merge ID` merges one here")
    return [t for t in tasks if t.base_branch in (None, here)]


def _line(console, task, result, how):
    if result.already:
        return f"{task.id} ({task.branch}) is already merged into {result.into}"
    files = result.changes[0]
    return (f"{_DONE[how]} {task.id} ({task.branch}) into {result.into}: "
            f"{files} file{'s' if files != 1 else ''}, {changes_text(result.changes, console.style)}")


def register(sub):
    p = args.subparser(sub, "merge", help="merge tasks' branches into the checked-out branch",
                       description="Merge completed tasks' branches into the branch checked out "
                       "in the main worktree. A merge that would conflict, or touch a file with "
                       "uncommitted changes, changes nothing and exits 1, naming the files.",
                       epilog=args.examples(
                           ("orchestra merge ID", "merge one task's branch"),
                           ("orchestra merge --squash ID", "as one new commit"),
                           ("orchestra merge --all", "every completed task, in order")))
    p.add_argument("ids", nargs="*", metavar="ID", help="completed isolated tasks")
    p.add_argument("--all", action="store_true",
                   help="every completed, unmerged task queued on the checked-out branch, in "
                   "the order they completed; stops at the first that cannot be merged")
    how = p.add_mutually_exclusive_group()
    how.add_argument("--squash", dest="how", action="store_const", const="squash",
                     help="one new commit holding the task's changes")
    how.add_argument("--rebase", dest="how", action="store_const", const="rebase",
                     help="rebase the task's branch onto the checked-out branch, then "
                     "fast-forward it")
    p.set_defaults(how="merge", func=lambda layout, console, a: run(
        layout, console, ids=a.ids, merge_all=a.all, how=a.how))
