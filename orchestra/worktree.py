"""Isolation: a task in a git worktree and on a branch of its own, under .orchestra/worktrees/.

The branch and its base are decided when the task is queued (`resolve`), the worktree is made
when it is launched (`make`), what its agent left is committed when each run ends (`save`),
and nothing is removed that is not safe on a branch (`retire`). The main worktree is never
touched here: merging is merge.py's.
"""

import glob
import os
import re
import shutil

from orchestra import git
from orchestra.errors import USAGE, OrchestraError
from orchestra.statedir import work_tree
from orchestra.task import WORKTREE

BRANCH_PREFIX = "orchestra/"
_SLUG_WORDS = 6


class Isolation:
    """What `start` records of a task's isolation: the commit and branch it starts from, and
    where the project root sits in the repository."""

    def __init__(self, base, base_branch, subdir):
        self.base, self.base_branch, self.subdir = base, base_branch, subdir

    def fields(self):
        return {"isolation": WORKTREE, "base": self.base, "base_branch": self.base_branch,
                "subdir": self.subdir}


class Conflict(OrchestraError):
    """Branches that do not merge."""

    def __init__(self, message):
        super().__init__(message, 1)


AUTO = "auto"


def wanted(layout, flag, agent_choice, setting):
    """Whether a new task is isolated: `start --worktree`/`--no-worktree` (flag True/False),
    else the agent's `isolation`, else the `isolation` setting. For `auto`: False outside a
    git work tree (found without running git), else AUTO, for `resolve` to confirm."""
    if flag is not None:
        return flag
    choice = agent_choice or setting
    if choice == AUTO:
        return AUTO if work_tree(layout.root) is not None else False
    return choice == WORKTREE


def resolve(layout, base_ref=None, required=True):
    """The Isolation of a task queued now; OrchestraError (exit 2) when there can be none.
    required=False (isolation `auto`): None where git finds no repository after all (a
    stray `.git` above the project, say)."""
    root = layout.root
    git.require()
    top = git.toplevel(root)
    if top is None and not required:
        return None
    if top is None:
        raise OrchestraError(f"{root} is not in a git repository; use --no-worktree (or "
                             "`orchestra config set isolation none`)", USAGE)
    if base_ref is not None:
        base = git.commit_of(root, base_ref)
        if base is None:
            raise OrchestraError(f"unknown --base {base_ref!r}: not a branch, tag or commit of "
                                 f"{top} (see `git log --oneline`)", USAGE)
        base_branch = base_ref if git.is_branch(root, base_ref) else git.current_branch(root)
    else:
        base = git.commit_of(root, "HEAD")
        if base is None:
            raise OrchestraError(f"the repository {top} has no commits yet: commit something "
                                 "first, or use --no-worktree", USAGE)
        base_branch = git.current_branch(root)
    subdir = os.path.relpath(os.path.realpath(root), os.path.realpath(top))
    return Isolation(base, base_branch, "" if subdir == "." else subdir.replace(os.sep, "/"))


def slug(text):
    words = re.findall(r"[a-z0-9]+", text.lower())[:_SLUG_WORDS]
    return "-".join(words)[:40].strip("-") or "task"


def relative_path(task):
    """Where the task's worktree lives, relative to the project root."""
    return f".orchestra/worktrees/{task.id}"


def directory(layout, task):
    return os.path.join(layout.root, *(task.worktree or relative_path(task)).split("/"))


def run_directory(layout, task):
    """The worktree's counterpart of the project root: where the task's `cwd` is taken from."""
    return os.path.join(directory(layout, task), *filter(None, task.subdir.split("/")))


def placement(layout, task):
    """(worktree, branch) for a task about to be launched: those it has, or new ones (a branch
    name that no branch has yet)."""
    if task.branch:  # its worktree may have been retired: made again where it was
        return task.worktree or relative_path(task), task.branch
    name = f"{BRANCH_PREFIX}{task.short_id()}-{slug(task.prompt)}"
    branch, n = name, 1
    while git.branch_exists(layout.root, branch):
        n += 1
        branch = f"{name}-{n}"
    return relative_path(task), branch


def starts(deps):
    """The commits a task's branch starts from: the heads of the isolated tasks it depends on
    (their branches), in order, or none (its base)."""
    return [d.head or d.base for d in deps if d.isolation == WORKTREE and (d.head or d.base)]


def make(layout, task, deps=(), copy=()):
    """Make the task's worktree if it has none on disk; (the commit it starts from, made now).

    A worktree removed by hand is made again on its branch, which kept the work. A new branch
    starts from the heads of the tasks it depends on (merged, when there are several: a
    Conflict, with nothing left behind, when they do not merge), else from its base."""
    root, path = layout.root, directory(layout, task)
    if os.path.exists(os.path.join(path, ".git")):
        return task.base, False
    os.makedirs(os.path.dirname(path), exist_ok=True)
    if git.branch_exists(root, task.branch):
        forget_removed(root)  # git refuses to check out a branch a removed worktree still holds
        git.run(root, "worktree", "add", "--quiet", path, task.branch,
                what=f"git worktree add of {task.branch}")
        _copy(layout.root, run_directory(layout, task), copy)
        return task.base, True
    heads = starts(deps)
    start = heads[0] if heads else task.base
    git.run(root, "worktree", "add", "--quiet", "-b", task.branch, path, start,
            what=f"git worktree add of {task.branch}")
    try:
        for other in heads[1:]:
            _merge_in(path, other, task)
        if heads[1:]:
            start = git.out(path, "rev-parse", "HEAD")
        _copy(layout.root, run_directory(layout, task), copy)
    except BaseException:
        discard(layout, task)
        raise
    return start, True


def _merge_in(path, commit, task):
    done = git.run(path, "-c", "core.hooksPath=/dev/null", "merge", "--no-edit", "--quiet",
                   "--no-ff", "-m", f"orchestra: the work {task.id} depends on", commit,
                   check=False)
    if done.returncode == 0:
        return
    conflicted = git.run(path, "diff", "--name-only", "--diff-filter=U", check=False)
    paths = [p for p in conflicted.stdout.splitlines() if p]
    git.run(path, "merge", "--abort", check=False)
    if not paths:
        raise git.GitError(f"merging the branches {task.id} depends on failed: "
                           f"{git.last_line(done)}")
    raise Conflict(f"the branches of the tasks it depends on conflict in {', '.join(paths)}: "
                   "merge them by hand (`orchestra merge` each, git for the conflict), then "
                   "queue this task again with --base set to the result")


def _copy(source_root, target_root, patterns):
    """worktree_copy: each path or glob below the project, copied to the same place."""
    for pattern in patterns:
        for found in sorted(glob.glob(os.path.join(source_root, pattern), recursive=True)):
            rel = os.path.relpath(found, source_root)
            if rel.split(os.sep)[0] in (".orchestra", ".git"):
                continue
            target = os.path.join(target_root, rel)
            os.makedirs(os.path.dirname(target), exist_ok=True)
            if os.path.isdir(found) and not os.path.islink(found):
                shutil.copytree(found, target, symlinks=True, dirs_exist_ok=True)
            else:
                shutil.copy2(found, target, follow_symlinks=False)


def message(task, outcome_word, summary):
    """The commit message of what a run left: the prompt's first line, then the task, its
    attempt and outcome, and the agent's own summary (its .done)."""
    first = next((line.strip() for line in task.prompt.splitlines() if line.strip()), "task")
    if len(first) > 72:
        first = first[:71] + "…"
    body = f"orchestra task {task.id}, attempt {task.attempt}: {outcome_word}"
    return f"{first}\n\n{body}\n" + (f"\n{summary.strip()}\n" if summary and summary.strip() else "")


def save(layout, task, outcome_word, summary=""):
    """Commit what the run left uncommitted in the task's worktree; (head, [files, added,
    removed] since its base), or None when the task has no branch. The worktree gone (removed
    by hand) is no error: the branch holds what was committed."""
    if task.isolation != WORKTREE or not task.branch:
        return None
    path, head = directory(layout, task), None
    found = work_tree(path) if os.path.exists(os.path.join(path, ".git")) else None
    if found is not None:
        # A cancel and the supervisor that saw the run end may both commit at once; one at a
        # time, the second finds the work committed and records the same head. The lock sits
        # in the worktree's own git directory, which `git worktree remove` takes with it.
        from orchestra.lock import FileLock
        with FileLock(os.path.join(found[1], "orchestra-commit.lock")):
            head = git.commit_all(path, message(task, outcome_word, summary))
    head = head or git.commit_of(layout.root, "refs/heads/" + task.branch)
    if head is None:
        return None
    return head, list(git.numstat(layout.root, task.base, head)) if task.base else [0, 0, 0]


def has_own_work(layout, task):
    return bool(own_commits(layout, task))


def own_commits(layout, task):
    """How many commits the task's branch has that its base branch (or its base, without
    one) lacks, none once it was merged at its head (a squash merge leaves the branch itself
    unmerged); None when the branch is gone."""
    root = layout.root
    head = git.commit_of(root, "refs/heads/" + task.branch) if task.branch else None
    if head is None:
        return None
    if task.merged and head == task.head:
        return 0
    return int(git.out(root, "rev-list", "--count", f"{target(layout, task)}..{head}"))


def target(layout, task):
    """The commit the task's work is to reach: its base branch's head, else its base."""
    base_branch = task.base_branch
    return (base_branch and git.commit_of(layout.root, "refs/heads/" + base_branch)) or task.base


def retire(layout, task):
    """Remove what is safe to remove of a final task's isolation: its worktree once every
    change in it is committed (committing them first), its branch once nothing is on it that
    its base branch lacks. Returns (removed, kept): sentences for the user."""
    removed, kept = [], []
    if task.isolation != WORKTREE or not task.branch:
        return removed, kept
    path, root = directory(layout, task), layout.root
    if os.path.exists(os.path.join(path, ".git")):
        save(layout, task, "kept before its worktree was removed")
        left = git.dirty(path)
        if left:
            kept.append(f"worktree {task.worktree} kept: {len(left)} uncommitted file(s)")
            return removed, kept
        git.run(root, "worktree", "remove", path, what="git worktree remove")
        removed.append(f"worktree {task.worktree}")
    else:
        forget_removed(root)
    if git.branch_exists(root, task.branch):
        if has_own_work(layout, task):
            kept.append(f"branch {task.branch} kept: it has commits {task.base_branch or 'its base'}"
                        f" lacks (`orchestra merge {task.id}`, or `orchestra discard {task.id}`)")
        else:
            git.run(root, "branch", "-D", task.branch, what="git branch -D")
            removed.append(f"branch {task.branch}")
    return removed, kept


def forget_removed(root):
    """`git worktree prune`: git forgets worktrees whose directory is gone (removed by hand),
    which it would otherwise keep their branches checked out in, undeletable."""
    git.run(root, "worktree", "prune", check=False)


def discard(layout, task):
    """Delete the task's worktree and branch whatever is on them (discard.losses says what
    that deletes)."""
    path, root = directory(layout, task), layout.root
    if os.path.exists(path):
        git.run(root, "worktree", "remove", "--force", "--force", path, check=False)
        if os.path.exists(path):
            shutil.rmtree(path, ignore_errors=True)
    forget_removed(root)
    if task.branch and git.branch_exists(root, task.branch):
        git.run(root, "branch", "-D", task.branch, what="git branch -D")
