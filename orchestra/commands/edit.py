"""`edit`: change a pending task's prompt, priority, timeout, dependencies or start time; with
no option, the prompt in $VISUAL or $EDITOR."""

import os
import time

from orchestra import dependencies
from orchestra.commands import args, resolve
from orchestra.commands.start import check_prompt, _dependency_ids, _not_live
from orchestra.errors import OrchestraError
from orchestra.store import Store
from orchestra.task import Status
from orchestra.transitions import edited

_RETRY = "`orchestra retry ID` queues it again as it is; start a new task to change it"
_INSTEAD = {Status.RUNNING: "`orchestra timeout` changes a running task's timeout; to change "
                            "the rest, cancel it and start it again",
            Status.COMPLETED: "start a new task instead",
            Status.FAILED: _RETRY, Status.CANCELLED: _RETRY}


def run(layout, console, task_id, changes, environ=os.environ):
    """changes: the EDITABLE fields to set (transitions.edited); none opens the editor on the
    prompt."""
    store = Store(layout)
    task = resolve(store, store.scan(), [task_id])[0]
    _check_pending(task)
    if not changes:
        prompt = _from_editor(layout, task, environ)
        if prompt is None or prompt == task.prompt:
            console.out(f"{task.id}: prompt unchanged")
            return 0
        changes = {"prompt": prompt}
    if "prompt" in changes:
        check_prompt(changes["prompt"])
    if "depends_on" in changes:
        changes["depends_on"] = _dependency_ids(layout, changes["depends_on"])

    def change(current):
        if "depends_on" in changes:  # under the lock: no dependency is cleaned meanwhile
            _check_dependencies(layout, store, current.id, changes["depends_on"])
        return edited(current, **changes)

    done = store.transition(task.id, change, expect=(Status.PENDING,))
    if done is None:
        _check_pending(store.get(task.id))  # it left pending meanwhile: say what it is now
    console.out(f"edited {task.id}: " + ", ".join(_say(k, v) for k, v in changes.items()))
    return 0


def _check_pending(task):
    if task.state is not Status.PENDING:
        raise OrchestraError(f"{task.id} is {task.status}: only pending tasks can be edited; "
                             + _INSTEAD[task.state].replace("ID", task.id))


def _check_dependencies(layout, store, task_id, deps):
    tasks = store.scan().tasks
    after = set(dependencies.descendants(task_id, tasks.values())) | {task_id}
    for dep in deps:
        if not store.exists(dep):
            raise OrchestraError(_not_live(layout, dep))
        if dep in after:
            what = ("itself" if dep == task_id else
                    f"{dep}, which waits for it: neither would ever start")
            raise OrchestraError(f"{task_id} cannot depend on {what} (drop it from "
                                 "--depends-on)")


def _say(key, value):
    if key == "not_before":
        if value is None:
            return "starts when it can"
        from orchestra.table import local_time
        return f"not before {local_time(value, time.time())}"
    if key == "prompt":
        return "prompt"
    if key == "depends_on":
        return f"after {', '.join(value)}" if value else "no dependencies"
    if key == "timeout":
        return f"timeout {value:g}s" if value else "no timeout"
    return f"{key} {value}"


def _from_editor(layout, task, environ):
    """The prompt as the user left it in their editor, or None for an empty file."""
    import shlex
    import subprocess
    import tempfile
    editor = environ.get("VISUAL") or environ.get("EDITOR")
    if not editor:
        raise OrchestraError("no editor: set $VISUAL or $EDITOR, or give the new prompt with "
                             "--prompt TEXT")
    fd, path = tempfile.mkstemp(prefix=f"{task.id}-", suffix=".md")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(task.prompt + "\n")
        try:
            code = subprocess.call([*shlex.split(editor), path], cwd=layout.root)
        except OSError as e:
            raise OrchestraError(f"cannot run the editor {editor!r}: {e.strerror or e}") from None
        if code != 0:
            raise OrchestraError(f"the editor exited with code {code}; the prompt is unchanged",
                                 1)
        try:
            with open(path, encoding="utf-8") as f:
                text = f.read().strip()
        except UnicodeDecodeError:
            raise OrchestraError("the edited prompt is not valid UTF-8; it is unchanged") from None
    finally:
        os.unlink(path)
    return text or None


def register(sub):
    p = args.subparser(sub, "edit", help="change a pending task",
                       usage="%(prog)s [options] ID",
                       description="Change a pending task's prompt, priority, timeout, "
                       "dependencies or start time. With no option, the prompt opens in "
                       "$VISUAL or $EDITOR; saving an empty file changes nothing. A task that "
                       "runs or has finished cannot be edited (exit 2).",
                       epilog=args.examples(
                           ("orchestra edit ID", "the prompt, in $VISUAL or $EDITOR"),
                           ("orchestra edit ID --priority 5 --at 23:00", "sooner, but tonight"),
                           ("orchestra edit ID --no-depends --delay 0",
                            "no dependencies, and start as soon as a slot is free")))
    p.add_argument("id", metavar="ID", help="the pending task to change")
    p.add_argument("--prompt", metavar="TEXT", help="the new prompt")
    p.add_argument("--priority", type=args.integer, metavar="N", help="higher runs first")
    p.add_argument("--timeout", type=args.seconds_or_zero, metavar="DURATION",
                   help="wall-clock limit, e.g. 600, 30m, 2h; 0 removes it")
    deps = p.add_mutually_exclusive_group()
    deps.add_argument("--depends-on", "--after", nargs="+", metavar="ID",
                      help="wait for these tasks instead (end the ids with -- if more follows)")
    deps.add_argument("--no-depends", action="store_true", help="wait for no task")
    args.add_schedule(p, now_help=True)
    p.set_defaults(func=lambda layout, console, a: run(layout, console, a.id, _changes(a)))


def _changes(a):
    changes = {}
    if a.prompt is not None:
        changes["prompt"] = a.prompt
    if a.priority is not None:
        changes["priority"] = a.priority
    if a.timeout is not None:
        changes["timeout"] = a.timeout or None
    if a.depends_on is not None or a.no_depends:
        changes["depends_on"] = a.depends_on or []
    if a.delay is not None or a.at is not None:
        changes["not_before"] = args.not_before(a, time.time())
    return changes
