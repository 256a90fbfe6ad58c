"""`worktree list` and `worktree prune`: the tasks' worktrees and branches as they are on disk,
and removing those whose work is safe elsewhere."""

import os

from orchestra import git, table, tidy, worktree
from orchestra.commands import args, short_ids
from orchestra.errors import OK
from orchestra.store import Store
from orchestra.task import WORKTREE


def condition(layout, task):
    """(the worktree's state, the branch's state) of an isolated task, as phrases for
    `show` and `worktree list`; asks git."""
    root, branch = layout.root, task.branch
    ahead = worktree.own_commits(layout, task) if branch else None
    if ahead is None:
        work = f"{branch} is gone (deleted outside orchestra)" if branch else None
    elif ahead:
        work = f"{ahead} commit{'s' if ahead != 1 else ''} not in {task.base_branch or 'its base'}"
    elif git.commit_of(root, "refs/heads/" + branch) != task.base:
        work = f"merged into {task.base_branch or 'its base'}"
    else:
        work = "no commits of its own"
    path = worktree.directory(layout, task)
    if task.worktree is None:
        if branch:
            place = "removed; its work is on its branch" if ahead else "removed"
        elif task.merged:
            place = f"removed, merged into {task.merged_into or 'its base branch'}"
        else:
            place = "discarded" if task.attempt else "not made yet (it is made at launch)"
    elif os.path.exists(os.path.join(path, ".git")):
        left = len(git.dirty(path))
        place = f"dirty: {left} uncommitted file{'s' if left != 1 else ''}" if left else "present"
    elif not task.attempt:
        place = "not made yet (it is made at launch)"
    elif ahead:
        place = f"removed by hand; branch {branch} still holds the work"
    elif ahead is not None:
        place = "removed by hand"
    else:
        place = f"removed by hand, and its branch {branch} is gone too"
    return place, work


def _isolated(layout):
    """(store, task) of every isolated task, live and archived, oldest first."""
    out = []
    for store in (Store(layout), Store(layout.archived())):
        out += [(store, t) for t in store.scan().tasks.values() if t.isolation == WORKTREE]
    out.sort(key=lambda pair: (pair[1].data["created_at"] or "", pair[1].id))
    return out


def run_list(layout, console):
    rows = []
    isolated = _isolated(layout)
    short = short_ids(layout, Store(layout).scan(), [task for _, task in isolated])
    for _, task in isolated:
        if not (task.branch or task.worktree):
            continue
        place, work = condition(layout, task)
        rows.append((short[task.id], task.status, task.branch or "-", place + (f"; {work}" if work else "")))
    if not rows:
        console.out("no task has a worktree or a branch")
        return OK
    headers = ("ID", "STATUS", "BRANCH", "STATE")
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(headers[:-1])]
    for cells in [headers] + rows:
        console.out("  ".join(table.printable(c).ljust(w) for c, w in zip(cells, widths))
                    + "  " + table.printable(cells[-1]))
    return OK


def run_prune(layout, console):
    forgotten = git.run(layout.root, "worktree", "prune", "--verbose", what="git worktree prune")
    gone = [line for line in (forgotten.stdout + forgotten.stderr).splitlines() if line.strip()]
    if gone:
        console.out(f"git forgot {len(gone)} worktree(s) removed by hand; their branches stay")
    removed = kept = 0
    for store, task in _isolated(layout):
        if not tidy.needed(task):
            continue
        done = tidy.tidy(store, task, for_what="removed")
        if done.removed:
            console.out(f"{task.id}: removed {', '.join(done.removed)}")
            removed += 1
        for k in done.kept:
            console.out(f"{task.id}: {k}")
        kept += bool(done.kept)
    console.out(f"pruned the worktrees and branches of {removed} task{'s' if removed != 1 else ''}"
                + (f"; {kept} keep work (above)" if kept else ""))
    return OK


def register(sub):
    p = args.subparser(sub, "worktree", help="list or prune the tasks' worktrees and branches",
                       description="The git worktrees and branches of isolated tasks.",
                       epilog=args.examples(
                           ("orchestra worktree list", "each task's worktree and branch"),
                           ("orchestra worktree prune", "remove what is safe to remove")))
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = args.subparser(actions, "list", help="each task's worktree, branch and their state",
                        description="Each isolated task's branch, and whether its worktree is "
                        "present, dirty, removed (by hand, or once its work was committed) or "
                        "merged; asks git.")
    ls.set_defaults(func=lambda layout, console, a: run_list(layout, console))
    pr = args.subparser(actions, "prune", help="remove worktrees and branches that are safe to",
                        description="Forget worktrees removed by hand (`git worktree prune`), "
                        "then for every finished task remove its worktree once all in it is "
                        "committed (committing it first) and its branch once its base branch "
                        "holds every commit of it. Unmerged branches and uncommitted work stay, "
                        "and it says why; `orchestra discard ID` deletes them.")
    pr.set_defaults(func=lambda layout, console, a: run_prune(layout, console))
