"""Running git for the isolation of tasks: one function that runs it, and the few questions
orchestra asks of a repository. Every failure is a GitError carrying git's own last words."""

import os
import subprocess

from orchestra.errors import FAILED, OrchestraError

MIN_VERSION = (2, 17)  # `git worktree remove` and `worktree add --no-checkout` arrived in 2.17
MERGE_TREE_VERSION = (2, 38)  # `git merge-tree --write-tree`: a merge tried without a worktree

# Set by an agent's environment or a hook, these would point git at another repository.
_REPOSITORY_VARIABLES = ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE", "GIT_COMMON_DIR",
                         "GIT_OBJECT_DIRECTORY", "GIT_ALTERNATE_OBJECT_DIRECTORIES",
                         "GIT_NAMESPACE", "GIT_PREFIX")
# Who commits when the repository names nobody: commits of work must never fail for it.
_FALLBACK_IDENTITY = ("-c", "user.name=orchestra", "-c", "user.email=orchestra@localhost")


class GitError(OrchestraError):
    """git failed, or is missing: the message says what was being done and git's words."""

    def __init__(self, message, code=FAILED):
        super().__init__(message, code)


def _env():
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
    env["GIT_TERMINAL_PROMPT"] = "0"
    env.setdefault("LC_ALL", "C")  # git's messages are parsed (conflicts, identity)
    return env


def run(cwd, *argv, what=None, check=True, input=None):
    """git argv in cwd; its CompletedProcess (text). A failure with check=True is a GitError
    saying `what` was being done (default: the command) with git's last line of stderr."""
    try:
        done = subprocess.run(("git",) + argv, cwd=cwd, env=_env(), input=input,
                              stdin=None if input is not None else subprocess.DEVNULL,
                              capture_output=True, text=True, errors="replace")
    except FileNotFoundError:
        raise GitError("git is not installed (or not on PATH): isolation needs git "
                       f"{'.'.join(map(str, MIN_VERSION))} or newer; use --no-worktree "
                       "to run without") from None
    except OSError as e:
        raise GitError(f"cannot run git: {e.strerror or e}") from None
    if check and done.returncode != 0:
        raise GitError(f"{what or 'git ' + ' '.join(argv[:2])} failed: {last_line(done)}")
    return done


def display(cwd, *argv, to_terminal):
    """git argv in cwd for a person to read. to_terminal: git writes to our terminal itself,
    in its own colours and pager (in the user's locale, which a pager needs); else its output
    is returned as bytes, as git wrote them. A failure is a GitError."""
    env = {k: v for k, v in os.environ.items() if k not in _REPOSITORY_VARIABLES}
    pipe = None if to_terminal else subprocess.PIPE
    try:
        done = subprocess.run(("git",) + argv, cwd=cwd, env=env, stdout=pipe, stderr=pipe,
                              stdin=None if to_terminal else subprocess.DEVNULL)
    except OSError as e:
        raise GitError(f"cannot run git: {e.strerror or e}") from None
    if done.returncode != 0:
        said = (done.stderr or b"").decode("utf-8", "replace").strip().splitlines()
        raise GitError(f"git {argv[0]} failed" + (f": {said[-1]}" if said else ""))
    return done.stdout


def last_line(done):
    lines = [x.strip() for x in (done.stderr or done.stdout or "").splitlines() if x.strip()]
    for line in lines:
        if line.startswith(("fatal:", "error:")):
            return line
    return lines[-1] if lines else f"exit status {done.returncode}"


def out(cwd, *argv, what=None):
    return run(cwd, *argv, what=what).stdout.strip()


def version():
    """git's version as a tuple of ints, e.g. (2, 39, 5)."""
    text = out(".", "--version")  # "git version 2.39.5" (Apple adds " (Apple Git-146)")
    digits = text.split()[2] if len(text.split()) > 2 else ""
    parts = []
    for piece in digits.split("."):
        if not piece.isdigit():
            break
        parts.append(int(piece))
    return tuple(parts)


def require(minimum=MIN_VERSION, for_what="isolation (git worktree)"):
    found = version()
    if found < minimum:
        want = ".".join(map(str, minimum))
        raise GitError(f"{for_what} needs git {want} or newer; this is git "
                       f"{'.'.join(map(str, found))}: upgrade git, or use --no-worktree")


def toplevel(path):
    """The top of the git work tree holding path, or None when it is in none."""
    done = run(path, "rev-parse", "--show-toplevel", check=False)
    return done.stdout.strip() if done.returncode == 0 and done.stdout.strip() else None


def commit_of(cwd, ref):
    """The commit `ref` names, or None (no such ref, or a repository with no commits yet)."""
    done = run(cwd, "rev-parse", "--verify", "--quiet", "--end-of-options", ref + "^{commit}",
               check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def current_branch(cwd):
    """The branch checked out in cwd's worktree, or None on a detached HEAD."""
    done = run(cwd, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    return done.stdout.strip() if done.returncode == 0 else None


def branch_exists(cwd, name):
    return run(cwd, "show-ref", "--verify", "--quiet", "refs/heads/" + name,
               check=False).returncode == 0


def is_branch(cwd, ref):
    return not ref.startswith("-") and branch_exists(cwd, ref)


def dirty(cwd):
    """Paths with changes not committed (tracked or untracked, ignored files aside)."""
    text = run(cwd, "status", "--porcelain", "-z", "--untracked-files=all").stdout
    paths, entries = [], text.split("\0")
    i = 0
    while i < len(entries):
        entry = entries[i]
        i += 1
        if len(entry) < 4:
            continue
        paths.append(entry[3:])
        if entry[0] in "RC":  # a rename's source follows it
            i += 1
    return paths


def identity(cwd):
    """The options a commit in cwd needs: none when the repository names who commits, else
    orchestra's fallback (the merge of a task must not fail for it)."""
    known = run(cwd, "var", "GIT_COMMITTER_IDENT", check=False).returncode == 0
    return () if known else _FALLBACK_IDENTITY


def commit_all(cwd, message):
    """Commit everything uncommitted in cwd's worktree (the repository's hooks do not run:
    the work must be kept whatever they think of it); the new commit, or None if nothing was
    uncommitted."""
    if not dirty(cwd):
        return None
    run(cwd, "add", "--all", what="git add of the task's work")
    args = ("commit", "--quiet", "--no-verify", "--allow-empty-message", "-F", "-")
    done = run(cwd, *args, input=message, check=False)
    if done.returncode != 0 and "identity" in (done.stderr + done.stdout).lower():
        done = run(cwd, *(_FALLBACK_IDENTITY + args), input=message, check=False)
    if done.returncode != 0:
        raise GitError(f"git commit of the task's work failed: {last_line(done)}")
    return out(cwd, "rev-parse", "HEAD")


def numstat(cwd, base, head):
    """(files changed, lines added, lines removed) from base to head (binary files count as
    changed, with no lines)."""
    text = run(cwd, "diff", "--numstat", "-z", "--no-renames", base, head).stdout
    files = added = removed = 0
    for record in text.split("\0"):
        fields = record.split("\t")
        if len(fields) < 3:
            continue
        files += 1
        added += int(fields[0]) if fields[0].isdigit() else 0
        removed += int(fields[1]) if fields[1].isdigit() else 0
    return files, added, removed


def is_ancestor(cwd, commit, of):
    return run(cwd, "merge-base", "--is-ancestor", commit, of, check=False).returncode == 0


def merge_tree(cwd, ours, theirs):
    """Try merging `theirs` into `ours` without touching any worktree: (tree, []) when it is
    clean, (None, conflicted paths) when not."""
    done = run(cwd, "merge-tree", "--write-tree", "--name-only", "--no-messages", ours, theirs,
               check=False)
    lines = done.stdout.splitlines()
    if done.returncode == 0 and lines:
        return lines[0].strip(), []
    if done.returncode == 1 and lines:
        return None, [x for x in lines[1:] if x.strip()]
    raise GitError(f"git merge-tree failed: {last_line(done)}")


def changed_paths(cwd, a, b):
    """Paths that differ between two commits or trees."""
    text = run(cwd, "diff", "--name-only", "-z", "--no-renames", a, b).stdout
    return [p for p in text.split("\0") if p]
