"""Creating .orchestra/ so that what an agent does with git in the project leaves it alone.

`git clean -fdx` (and -fdX, and `git stash -u` or `--all`, which clean too) deletes untracked
and ignored files, but keeps a directory that holds a nested repository unless -f is given
twice. `.orchestra/.git` is the least git takes for one (HEAD, objects/, refs/), written here
without running git. In a git work tree the state is also excluded in the clone's own
`info/exclude`, never in a tracked file: `git add -A` would otherwise refuse the nested
repository ("does not have a commit checked out") and add nothing at all.
"""

import os

_HEAD = "ref: refs/heads/main\n"
_DESCRIPTION = ("Not a repository: orchestra's mark on .orchestra/, so that `git clean` and "
                "`git stash -u` in the project leave its tasks and logs alone.\n")


def ensure(layout):
    """.orchestra/ with tasks/, plans/ and logs/ (those of `layout`), marked and excluded."""
    for d in (layout.tasks, layout.plans, layout.logs):
        os.makedirs(d, exist_ok=True)
    marker = os.path.join(layout.state, ".git")
    if not os.path.exists(os.path.join(marker, "HEAD")):
        for d in ("objects", "refs"):
            os.makedirs(os.path.join(marker, d), exist_ok=True)
        with open(os.path.join(marker, "description"), "w", encoding="utf-8") as f:
            f.write(_DESCRIPTION)
        # HEAD last: a mark cut short by a crash lacks it, and is made again.
        with open(os.path.join(marker, "HEAD"), "w", encoding="utf-8") as f:
            f.write(_HEAD)
    try:
        _exclude(layout)
    except OSError:
        pass  # a read-only clone: the state is still kept from `git clean`, only `git add -A` balks


def _exclude(layout):
    found = work_tree(layout.root)
    if found is None:
        return
    top, gitdir = found
    where = os.path.relpath(layout.state, top).replace(os.sep, "/")
    pattern = "/" + "".join("\\" + c if c in "\\*?[" else c for c in where) + "/"
    info = os.path.join(_common_dir(gitdir), "info")
    path = os.path.join(info, "exclude")
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            text = f.read()
    except FileNotFoundError:
        text = ""
    if pattern in text.splitlines():
        return
    os.makedirs(info, exist_ok=True)
    with open(path, "a", encoding="utf-8") as f:
        f.write(("" if text.endswith("\n") or not text else "\n")
                + "# orchestra's state (tasks, logs), never to be committed\n" + pattern + "\n")


def work_tree(root):
    """(top of the git work tree holding root, its git directory), or None."""
    here = root
    while True:
        dotgit = os.path.join(here, ".git")
        if os.path.isdir(dotgit):
            return here, dotgit
        if os.path.isfile(dotgit):  # a linked worktree or a submodule: "gitdir: PATH"
            with open(dotgit, encoding="utf-8", errors="replace") as f:
                line = f.readline().strip()
            if line.startswith("gitdir:"):
                return here, os.path.join(here, line[len("gitdir:"):].strip())
        parent = os.path.dirname(here)
        if parent == here:
            return None
        here = parent


def _common_dir(gitdir):
    # A linked worktree's info/ is the main repository's (git reads info/exclude there).
    try:
        with open(os.path.join(gitdir, "commondir"), encoding="utf-8") as f:
            return os.path.join(gitdir, f.read().strip())
    except FileNotFoundError:
        return gitdir
