"""Merging a task's branch into the branch checked out in the main worktree (the project's git
top level), by a merge, a squash or a rebase.

Everything is checked before anything changes: the merge is tried without a worktree
(`git merge-tree`), so a conflict, or a merge that would touch a file with uncommitted changes,
leaves the main worktree, its index and HEAD as they were. The repository's hooks do not run.
"""

import os
import shutil
import tempfile
import time

from orchestra import git, settings, worktree
from orchestra.errors import FAILED, USAGE, OrchestraError
from orchestra.task import FINAL, WORKTREE, Status
from orchestra.transitions import merged, placed, with_work

HOWS = ("merge", "squash", "rebase")
_NO_HOOKS = ("-c", "core.hooksPath=/dev/null")
_NAMED = 10  # files named in a message; the rest are counted
# What a main worktree holds while a merge, rebase, cherry-pick or revert waits for the user.
_UNDERWAY = (("MERGE_HEAD", "merge", "git merge --abort"),
             ("rebase-merge", "rebase", "git rebase --abort"),
             ("rebase-apply", "rebase", "git rebase --abort"),
             ("CHERRY_PICK_HEAD", "cherry-pick", "git cherry-pick --abort"),
             ("REVERT_HEAD", "revert", "git revert --abort"))


class Plan:
    """What merging a task now would do: into which branch of which worktree, from `onto`
    (that branch's commit) with the task's `head`; `already` when there is nothing to do."""

    def __init__(self, top, into, onto=None, head=None, already=False):
        self.top, self.into, self.onto, self.head, self.already = top, into, onto, head, already


class Merged:
    """A merge done (or found done already): the branch it went into and what it changed
    there ([files, added, removed])."""

    def __init__(self, into, changes, already=False):
        self.into, self.changes, self.already = into, changes, already


def _files(paths):
    shown = ", ".join(paths[:_NAMED])
    return shown + (f" and {len(paths) - _NAMED} more" if len(paths) > _NAMED else "")


def ready(task):
    """An OrchestraError unless the task is one whose branch can be merged (or is merged)."""
    if task.isolation != WORKTREE:
        raise OrchestraError(f"{task.id} ran without a worktree; nothing to merge", USAGE)
    if not task.is_final:
        raise OrchestraError(f"{task.id} is still {task.status}: merge it once it has completed",
                             FAILED)
    if task.merged:
        return
    if not task.branch:
        raise OrchestraError(f"{task.id} has no branch any more (its work was discarded); "
                             "nothing to merge", FAILED)
    if task.state is not Status.COMPLETED:
        raise OrchestraError(f"{task.id} {task.status}, so it is not merged for you; its work is "
                             f"on {task.branch}: `git merge {task.branch}` in the main worktree "
                             "merges it by hand", FAILED)


def check(layout, task):
    """What merging the task now would do (a Plan), or an OrchestraError saying why it cannot
    and what to do. Changes nothing; work left uncommitted in the task's worktree is not
    counted (merge() commits it first)."""
    ready(task)
    if task.merged:
        return Plan(None, task.merged_into, already=True)
    top = git.toplevel(layout.root)
    if top is None:
        raise OrchestraError(f"{layout.root} is no longer in a git repository: nothing to merge "
                             "into", FAILED)
    into = git.current_branch(top)
    git.require(git.MERGE_TREE_VERSION, "orchestra merge (git merge-tree --write-tree)")
    if into is None:
        raise OrchestraError(f"the main worktree {top} is on a detached HEAD: check out the "
                             f"branch to merge {task.id} into (`git switch BRANCH`)", FAILED)
    head = git.commit_of(top, "refs/heads/" + task.branch)
    if head is None:
        raise OrchestraError(f"the branch {task.branch} of {task.id} is gone: nothing to merge",
                             FAILED)
    onto = git.commit_of(top, "HEAD")
    if git.is_ancestor(top, head, onto):
        return Plan(top, into, onto, head, already=True)
    _underway(top)
    tree, conflicts = git.merge_tree(top, onto, head)
    if conflicts:
        raise OrchestraError(
            f"{task.id} conflicts with {into} in {_files(conflicts)}; nothing was changed. To "
            f"resolve it by hand, in {top}: `git merge {task.branch}`, fix those files, `git "
            f"commit`; orchestra counts the task merged once {into} holds its branch", FAILED)
    _safe(top, onto, tree, task)
    return Plan(top, into, onto, head)


def _underway(top):
    asked = [x for name, _, _ in _UNDERWAY for x in ("--git-path", name)]
    found = git.out(top, "rev-parse", *asked)
    for path, (_, what, abort) in zip(found.splitlines(), _UNDERWAY):
        if os.path.exists(os.path.join(top, path)):
            raise OrchestraError(f"the main worktree {top} is in the middle of a {what}: finish "
                                 f"it, or `{abort}`, then merge again", FAILED)


def _safe(top, onto, result, task):
    """An OrchestraError if moving the main worktree from `onto` to `result` (a tree or
    commit) would touch a file with uncommitted changes, or if its index holds staged ones
    (git merges only onto an index that matches HEAD)."""
    staged = [p for p in git.out(top, "diff", "--cached", "--name-only", "-z", onto).split("\0")
              if p]
    if staged:
        raise OrchestraError(f"the main worktree {top} has staged changes ({_files(staged)}); "
                             f"nothing was changed: commit or unstage them (`git restore "
                             f"--staged .`), then merge {task.id} again", FAILED)
    touched = set(git.changed_paths(top, onto, result))
    clash = sorted(p for p in git.dirty(top) if p in touched)
    if clash:
        raise OrchestraError(f"merging {task.id} would touch files with uncommitted changes in "
                             f"{top}: {_files(clash)}; nothing was changed: commit or stash them "
                             "(`git stash`), then merge again", FAILED)


def merge(store, task, how="merge", now=None):
    """Merge the task's branch into the main worktree's branch (how: merge, squash or
    rebase) and record it; a Merged, or an OrchestraError that changed nothing (but a
    rebase of the task's branch, when what comes after it fails)."""
    if how not in HOWS:
        raise OrchestraError(f"unknown way to merge {how!r}; use one of {', '.join(HOWS)}", USAGE)
    layout = store.layout
    ready(task)
    if not task.merged:
        task = _keep_work(store, task)
    plan = check(layout, task)
    if plan.already:
        _record(store, task, plan.into, now)
        return Merged(plan.into, None, already=True)
    top, rebased = plan.top, None
    if how == "rebase":
        head = rebased = _rebase(layout, task, plan)
        try:
            _safe(top, plan.onto, head, task)
        except OrchestraError as e:
            raise OrchestraError(f"{e.message} ({task.branch} is rebased onto {plan.into} all "
                                 "the same)", e.code) from None
        git.run(top, "merge", "--ff-only", "--quiet", head,
                what=f"git merge --ff-only of {task.branch}")
    elif how == "squash":
        _squash(task, plan)
    else:
        text = f"Merge branch '{task.branch}' into {plan.into}\n\norchestra task {task.id}\n"
        git.run(top, *git.identity(top), *_NO_HOOKS, "merge", "--no-edit", "--no-verify",
                "--quiet", "-m", text, plan.head, what=f"git merge of {task.branch}")
    changes = list(git.numstat(top, plan.onto, "HEAD"))
    _record(store, task, plan.into, now, rebased and (plan.onto, rebased))
    return Merged(plan.into, changes)


def _keep_work(store, task):
    """Commit what is uncommitted in the task's worktree (someone worked on after it ended),
    and record the branch's new head; the task as it is now."""
    if not os.path.exists(os.path.join(worktree.directory(store.layout, task), ".git")):
        return task  # removed: what it held is on the branch
    work = worktree.save(store.layout, task, "kept before its merge")
    if work is None or work[0] == task.head:
        return task
    done = store.transition(task.id, lambda t: with_work(t, head=work[0], changes=work[1]),
                            expect=FINAL)
    return done[1] if done else task


def _squash(task, plan):
    top = plan.top
    git.run(top, *_NO_HOOKS, "merge", "--squash", "--quiet", plan.head,
            what=f"git merge --squash of {task.branch}")
    if git.run(top, "diff", "--cached", "--quiet", check=False).returncode == 0:
        return  # the branch checked out holds its changes already: nothing to commit
    text = worktree.message(task, f"squashed from {task.branch}", "")
    done = git.run(top, *git.identity(top), *_NO_HOOKS, "commit", "--quiet", "--no-verify",
                   "-F", "-", input=text, check=False)
    if done.returncode != 0:
        git.run(top, "reset", "--quiet", "--merge", check=False)  # what `git merge --abort` does
        raise git.GitError(f"git commit of the squash of {task.branch} failed: "
                           f"{git.last_line(done)}", stderr=done.stderr)


def _rebase(layout, task, plan):
    """Rebase the task's branch onto the main worktree's commit, in its own worktree (or a
    temporary one, when that is gone); its new head. A conflict is aborted: the branch stays."""
    path = worktree.directory(layout, task)
    temporary = None
    if not os.path.exists(os.path.join(path, ".git")):
        os.makedirs(os.path.join(layout.state, "worktrees"), exist_ok=True)
        temporary = tempfile.mkdtemp(prefix=".rebase-", dir=os.path.join(layout.state, "worktrees"))
        path = os.path.join(temporary, "tree")
        git.run(layout.root, "worktree", "add", "--quiet", path, task.branch,
                what=f"git worktree add of {task.branch}")
    try:
        done = git.run(path, *git.identity(path), *_NO_HOOKS, "rebase", "--quiet", plan.onto,
                       check=False)
        if done.returncode != 0:
            conflicted = git.run(path, "diff", "--name-only", "--diff-filter=U", check=False)
            paths = [p for p in conflicted.stdout.splitlines() if p]
            git.run(path, "rebase", "--abort", check=False)
            if not paths:
                raise git.GitError(f"git rebase of {task.branch} failed: {git.last_line(done)}",
                                   stderr=done.stderr)
            raise OrchestraError(f"rebasing {task.branch} onto {plan.into} conflicts in "
                                 f"{_files(paths)}; nothing was changed: `orchestra merge "
                                 f"{task.id}` merges it instead", FAILED)
        return git.out(path, "rev-parse", "HEAD")
    finally:
        if temporary:
            git.run(layout.root, "worktree", "remove", "--force", path, check=False)
            shutil.rmtree(temporary, ignore_errors=True)
            git.run(layout.root, "worktree", "prune", check=False)


def _record(store, task, into, now, rebased=None):
    """Record the task merged into `into`; after a rebase (rebased: (onto, new head)), its
    branch starts from `onto` and ends at the new head."""
    now = time.time() if now is None else now

    def change(t):
        if t.merged:
            return None
        if rebased:
            onto, head = rebased
            t = placed(t, worktree=t.worktree, branch=t.branch, base=onto)
            t = with_work(t, head=head, changes=git.numstat(store.layout.root, onto, head))
        return merged(t, into=into, now=now)

    store.transition(task.id, change, expect=FINAL)


def auto(store, task, now=None):
    """`merge = auto`: merge a task that has just completed into its base branch when that is
    clean and safe. None when it was merged (or is not for merging: not isolated, not
    completed, the setting is manual), else why it waits for review."""
    if task.isolation != WORKTREE or task.state is not Status.COMPLETED or task.merged:
        return None
    try:
        if settings.load(store.layout).merge != "auto":
            return None
        if not task.base_branch:
            return "it was queued on a detached HEAD, so it has no base branch to merge into"
        top = git.toplevel(store.layout.root)
        current = git.current_branch(top) if top else None
        if current != task.base_branch:
            return (f"the main worktree is on {current or 'a detached HEAD'}, not on its base "
                    f"branch {task.base_branch}")
        merge(store, task, "merge", now)
    except OrchestraError as e:
        return e.message
    except OSError as e:
        return f"cannot merge it: {e.strerror or e}"
    return None
