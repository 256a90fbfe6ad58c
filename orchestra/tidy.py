"""Tidying a finished task's worktree and branch (for `clean`, `archive`, the supervisor's
archive pass and `worktree prune`): what worktree.retire may remove is removed, the task's
record is brought up to date, and it is said what stayed and why. Nothing here loses work:
a worktree goes only once all in it is committed, a branch only once its base branch holds it.
"""

import os

from orchestra.task import FINAL, WORKTREE
from orchestra.transitions import retired, unplaced, with_work


class Tidied:
    """What tidying did. `removed` and `kept` are phrases for the user; `stays` is True when
    the worktree still holds work that could not be committed: the task must not go yet."""

    def __init__(self, removed=(), kept=(), stays=False):
        self.removed, self.kept, self.stays = list(removed), list(kept), stays


def needed(task):
    """Whether a task has anything to tidy (without asking git: the archive pass runs this
    on every task due)."""
    return task.isolation == WORKTREE and bool(task.branch) and task.is_final


def before_removal(store, tasks, verb):
    """Tidy each of `tasks` about to be `verb` ("cleaned", "archived"): (the ids that must
    stay, since their worktrees hold work that could not be committed; notes for the user)."""
    stays, notes = set(), []
    for task in tasks:
        if not needed(task):
            continue
        done = tidy(store, task, for_what=verb)
        if done.stays:
            stays.add(task.id)
            notes.append(f"kept {task.id}: " + "; ".join(done.kept))
        else:
            notes += [f"{task.id} {verb}, but its {k}" for k in done.kept]
    return stays, notes


def tidy(store, task, for_what="removed"):
    """Retire what is safe of the task's worktree and branch, then record it (through
    Store.transition); a Tidied. `for_what` finishes the reason a task stays: "... before
    it is <for_what>"."""
    if not needed(task):
        return Tidied()
    from orchestra import git, worktree
    layout, root = store.layout, store.layout.root
    path = worktree.directory(layout, task)
    shown = task.worktree or worktree.relative_path(task)
    try:
        removed, _ = worktree.retire(layout, task)  # commits what it can first
        present = os.path.exists(os.path.join(path, ".git"))
        left = git.dirty(path) if present else []
        ahead = worktree.own_commits(layout, task)
        head = git.commit_of(root, "refs/heads/" + task.branch) if ahead is not None else None
        work = (head, git.numstat(root, task.base, head)) if head and head != task.head else None
    except (git.GitError, OSError) as e:
        return Tidied(kept=[f"worktree {shown} kept ({getattr(e, 'message', e)}): commit or "
                            f"remove what is in it before it is {for_what}"], stays=True)

    def change(t):
        new = t
        if work is not None and [work[0], list(work[1])] != [t.head, t.changes]:
            new = with_work(new, head=work[0], changes=work[1])
        if ahead is None:
            new = unplaced(new) if new.branch or new.worktree else new
        elif not present and new.worktree:
            new = retired(new)
        return new if new is not t else None

    store.transition(task.id, change, expect=FINAL)
    kept = []
    if present:
        names = ", ".join(left[:3]) + (", ..." if len(left) > 3 else "")
        kept.append(f"worktree {shown} kept: {len(left)} uncommitted file(s) that could not "
                    f"be committed ({names}); commit or remove them before it is {for_what}")
    if ahead:
        kept.append(f"branch {task.branch} kept: {ahead} commit(s) not in "
                    f"{task.base_branch or 'its base'} (`git merge {task.branch}` takes them, "
                    f"`git branch -D {task.branch}` drops them)")
    return Tidied(removed, kept, stays=present)
