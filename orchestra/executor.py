"""Turn a task and its agent into a running process: placeholders, environment, working
directory, log header. The platform part of starting and killing lives in process/."""

import errno
import os
import shutil
import sys
import time

from orchestra import agents, process
from orchestra.clock import iso
from orchestra.errors import OrchestraError
from orchestra.task import CONFIG, LIMIT

PACKAGE_PARENT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


class LaunchError(Exception):
    """The task could not be started; the message says why (recorded as reason `launch`)."""


class ConfigError(LaunchError):
    """The agent config cannot be read or validated just now (a typo, a half-saved file): the
    task waits for it instead of failing."""


def placeholders(layout, task):
    tid = task.id
    return {
        "taskId": tid, "task_id": tid, "agent": task.agent, "root": layout.root,
        "stateDir": layout.state,  # the protocol files' directory, for an agent's sandbox
        "planFile": layout.plan_file(tid), "logFile": layout.log_file(tid),
        "doneFile": layout.sentinel(tid, "done"), "errorFile": layout.sentinel(tid, "error"),
        "python": sys.executable, "sessionId": task.session_id or "",
        # Why the last attempt failed, for an automatic retry to do better; empty otherwise.
        "previousError": _previous_error(task),
        # Isolation: the task's worktree (the project root without one), branch and base.
        "worktree": workdir(layout, task), "branch": task.branch or "", "base": task.base or "",
    }


def workdir(layout, task):
    """Where the task's `cwd` (or its agent's) is taken from: its worktree's counterpart of
    the project root when it is isolated, else the project root."""
    if task.isolation is None:
        return layout.root
    from orchestra import worktree
    return worktree.run_directory(layout, task)


def _previous_error(task):
    if task.status != "pending" or not task.error or task.reason in (None, LIMIT, CONFIG):
        return ""
    return f"The previous attempt failed ({task.reason}): {task.error}"


def with_package_path(env):
    """env with this orchestra importable, for children that run `python -m orchestra...`."""
    env = dict(env)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (PACKAGE_PARENT, env.get("PYTHONPATH")) if p)
    return env


def prepare(layout, task, environ=os.environ):
    """(argv, cwd, env) for the task's next run; LaunchError if it cannot be run."""
    try:
        agent = agents.get(layout, task.agent)
        template = agent.template()
    except agents.UnknownAgent as e:
        raise LaunchError(e.message) from None
    except OrchestraError as e:
        raise ConfigError(e.message) from None
    values = placeholders(layout, task)
    values["prompt"] = agents.substitute(template, dict(values, prompt=task.prompt))
    # A run a usage limit stopped goes on in the same session, where the agent can resume one.
    argv = agent.argv(values, resume=bool(task.session_id) and task.reason == LIMIT)

    cwd = os.path.join(values["worktree"], task.cwd or agent.cwd or ".")
    if task.isolation is not None and not os.path.isdir(cwd):
        # Queued from a directory git does not track (empty, or nothing in it committed): a
        # worktree lacks it, and the task runs in it as it would have in the project's tree.
        from orchestra import worktree
        if os.path.isdir(worktree.directory(layout, task)):
            try:
                os.makedirs(cwd, exist_ok=True)
            except OSError:
                pass  # told below
    if not os.path.isdir(cwd):
        raise LaunchError(f"working directory {cwd} does not exist")

    env = dict(environ)
    # OpenCode works in $PWD, not in the directory it was started in: the caller's PWD would
    # send its tools to the project's main checkout instead of the task's worktree.
    env["PWD"] = os.path.abspath(cwd)
    env.pop("CLAUDECODE", None)  # Claude Code refuses to start nested inside another session
    env.update((name, agents.substitute(value, values)) for name, value in agent.env.items())
    env.update(ORCHESTRA_TASK_ID=task.id, ORCHESTRA_AGENT=task.agent, ORCHESTRA_ROOT=layout.root,
               ORCHESTRA_PLAN_FILE=values["planFile"], ORCHESTRA_LOG_FILE=values["logFile"],
               ORCHESTRA_DONE_FILE=values["doneFile"], ORCHESTRA_ERROR_FILE=values["errorFile"])
    if task.branch:
        env.update(ORCHESTRA_WORKTREE=values["worktree"], ORCHESTRA_BRANCH=task.branch)
    if agent.command == agents.PYTHON:
        env = with_package_path(env)

    program = argv[0]
    if os.path.dirname(program):
        resolved = os.path.join(cwd, program)
        if not (os.path.isfile(resolved) and os.access(resolved, os.X_OK)):
            raise LaunchError(f"agent {task.agent!r}: {program} is not an executable file")
    else:
        resolved = _which(program, env.get("PATH"))
        if resolved is None:
            raise LaunchError(f"agent {task.agent!r}: command {program!r} not found on PATH")
    argv[0] = resolved
    return argv, cwd, env


_found = {}  # (program, PATH) -> (path, when found)
WHICH_TTL = 2.0  # a program installed meanwhile is found within this many seconds


def _which(program, path):
    """shutil.which, remembered for a moment: it tries every PATH directory in turn, which
    cost half of preparing a launch, and a supervisor launches the same agent over and over."""
    now = time.monotonic()
    hit = _found.get((program, path))
    if hit and now - hit[1] < WHICH_TTL and os.access(hit[0], os.X_OK):
        return hit[0]
    resolved = shutil.which(program, path=path)
    if resolved is not None:
        _found[(program, path)] = (resolved, now)
    return resolved


def launch_verify(layout, task):
    """Start the task's verification command in its working directory; returns the Popen."""
    try:
        _, cwd, env = prepare(layout, task)
    except LaunchError:
        cwd, env = os.path.join(workdir(layout, task), task.cwd or "."), dict(os.environ)
    header = f"--- orchestra: the agent reported success; verifying with: {task.verify} ---\n"
    try:
        return process.spawn(process.shell_argv(task.verify), cwd=cwd, env=env,
                             log_path=layout.log_file(task.id),
                             exit_path=layout.sentinel(task.id, "exit"), header=header.encode(),
                             run_id=f"{task.id}.{task.attempt}")
    except (OSError, ValueError) as e:
        raise LaunchError(f"cannot start the verification `{task.verify}`: {e}") from None


def launch(layout, task, attempt, now, setup=None):
    """Start the task's process; returns the Popen. Raises LaunchError. `setup`: a command
    line run first in its new worktree (worktree_setup); the agent starts if it succeeds."""
    argv, cwd, env = prepare(layout, task)
    log_path = layout.log_file(task.id)
    header = f"=== orchestra: {task.id} attempt {attempt}, {iso(now)}: {os.path.basename(argv[0])} ===\n"
    if task.branch:
        header += f"--- in worktree {task.worktree} on branch {task.branch} ---\n"
    if setup:
        header += f"--- worktree setup: {setup} ---\n"
        argv = [sys.executable, "-m", "orchestra.worktree_setup",
                layout.sentinel(task.id, "error"), setup, "--"] + argv
        env = with_package_path(env)
    try:
        return process.spawn(argv, cwd=cwd, env=env, log_path=log_path,
                             exit_path=layout.sentinel(task.id, "exit"), header=header.encode(),
                             run_id=f"{task.id}.{attempt}")
    except (OSError, ValueError) as e:  # ValueError: a NUL byte in an argument or env value
        why = getattr(e, "strerror", None) or e
        if getattr(e, "errno", None) == errno.E2BIG:
            longest = max(len(a.encode("utf-8", "surrogateescape")) for a in argv)
            why = (f"{why}: its longest argument, the prompt with its template, is {longest:,} "
                   "bytes, more than the system passes to a program; shorten the prompt")
        raise LaunchError(f"cannot start {argv[0]}: {why}") from None
