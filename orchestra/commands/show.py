"""`show`: one task in full, live or archived: every field, its sentinels, where its files are."""

import os
import time

from orchestra import activity, archive, table
from orchestra.clock import human, parse_iso
from orchestra.commands import args, full_id, refresh
from orchestra.errors import OrchestraError
from orchestra.paths import SENTINELS, Layout
from orchestra.store import Store
from orchestra.task import TIME_FIELDS, Status

_ISOLATION = ("isolation", "base", "base_branch", "subdir", "worktree", "branch", "head",
              "changes", "merged", "merged_into")
_SHORT = 7  # of a commit's hash
_LONG = ("prompt", "error")  # may span lines: printed as an indented block
_WIDTH = 12


def run(layout, console, task_id, as_json=False):
    task_id = full_id(layout, task_id)
    store = Store(layout, persist_cache=True)
    task, archived = archive.find(store, task_id)
    now = time.time()
    if task.state is Status.RUNNING:
        refresh(store, now)  # a task whose supervisor died is shown as it ended, not "running"
        task, archived = archive.find(store, task_id)
    if as_json:
        import json
        data = task.to_dict()
        if archived:
            data["archived"] = True
        console.out(json.dumps(data, indent=2, ensure_ascii=False))
        return 0
    console.out("\n".join(_lines(layout, task, archived, now, console.style)))
    return 0


def _lines(layout, task, archived, now, style):
    lines = [f"{style.paint(task.id, 'bold')}  {table.status_text(task, now, style)}"
             + ("  (archived)" if archived else "")]
    blocks = []
    for key, value in task.data.items():
        if key in _ISOLATION:
            if key == "isolation":
                lines.extend(_isolation(layout, task, now, style))
            continue
        if key in _LONG and value and ("\n" in str(value) or len(str(value)) > 60):
            blocks.append((key, str(value)))
        else:
            lines.append(_field(key, _value(key, value, now)))
    from orchestra.executor import workdir
    runs_in = os.path.relpath(os.path.join(workdir(layout, task), task.cwd or "."), layout.root)
    lines.append(_field("runs in", "the project root" if runs_in == "."
                        else runs_in.replace(os.sep, "/") + "/"))
    lines.append(_field("archived", "yes, in .orchestra/archive/" if archived else "no"))
    present = [kind for kind in SENTINELS
               if os.path.exists(archive.where(layout, task.id, archived,
                                               lambda l, i, k=kind: l.sentinel(i, k)))]
    lines.append(_field("sentinels", ", ".join(f".{k}" for k in present) or "none"))
    for label, path_of in (("log", Layout.log_file), ("plan", Layout.plan_file)):
        path = archive.where(layout, task.id, archived, path_of)
        lines.append(_field(label, _file(layout, path)))
        if label == "plan" and os.path.exists(path):
            done = activity.read_plan(path)
            lines.append(_field("progress", f"{done[0]} of {done[1]} plan items ticked"
                                if done else "no checklist in the plan"))
    if task.state is Status.RUNNING:
        said = activity.read_latest(layout.log_file(task.id), task.output)
        lines.append(_field("latest", said or "nothing said yet"))
    for key, value in blocks:
        lines.append(f"{key}:")
        lines.extend("  " + table.printable(line) for line in value.splitlines())
    return lines


def _isolation(layout, task, now, style):
    """The worktree and branch, with what git says of them now."""
    if task.isolation is None:
        return [_field("isolation", "none (runs in the project's own tree)")]
    d = task.data
    lines = [_field("isolation", d["isolation"])]
    from orchestra import worktree
    try:
        from orchestra.commands.worktree import condition
        place, work = condition(layout, task)
    except OrchestraError as e:
        place = work = f"unknown ({e.message})"
    base = (d["base"] or "-")[:_SHORT] + (f" ({d['base_branch']})" if d["base_branch"] else "")
    lines.append(_field("base", base))
    if d["subdir"]:
        lines.append(_field("subdir", d["subdir"]))
    lines.append(_field("branch", (d["branch"] or "-") + (f" ({work})" if work else "")))
    lines.append(_field("head", (d["head"] or "-")[:_SHORT]))
    lines.append(_field("worktree", f"{d['worktree'] or worktree.relative_path(task)} ({place})"))
    changes = d["changes"]
    if changes:
        files = f"{changes[0]} file{'s' if changes[0] != 1 else ''}, "
        lines.append(_field("changes", files + table.changes_text(changes, style)))
    else:
        lines.append(_field("changes", "-"))
    merged = _value("merged", d["merged"], now) if d["merged"] else "no"
    lines.append(_field("merged", merged + (f" into {d['merged_into']}" if d["merged_into"] else "")))
    return lines


def _field(key, text):
    return f"  {key:<{_WIDTH}} {table.printable(text)}"


def _value(key, value, now):
    if value is None or value == [] or value == ():
        return "-"
    if key in TIME_FIELDS or key == "merged":
        try:
            ago = now - parse_iso(value)
        except (TypeError, ValueError):
            return str(value)
        return f"{value}  ({human(ago)} ago)" if ago >= 0 else f"{value}  (in {human(-ago)})"
    if key == "timeout" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return f"{value:g}s ({human(value)})"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    if isinstance(value, (dict, bool)):
        import json
        return json.dumps(value, ensure_ascii=False)
    return " ".join(str(value).split()) if key in _LONG else str(value)


def _file(layout, path):
    shown = os.path.relpath(path, layout.root)
    try:
        size = os.path.getsize(path)
    except OSError:
        return f"{shown} (absent)"
    return f"{shown} ({size:,} bytes)"


def register(sub):
    p = args.subparser(sub, "show", help="print one task in full (archived ones too)",
                       description="Print every field of one task, the sentinels it left, the "
                       "paths of its log and plan, and whether it is archived.",
                       epilog=args.examples(("orchestra show ID", "everything about a task"),
                                            ("orchestra show ID --json", "for scripts")))
    p.add_argument("id", metavar="ID", help="a live or archived task")
    p.add_argument("--json", action="store_true", help="the task object as JSON")
    p.set_defaults(func=lambda layout, console, a: run(layout, console, a.id, as_json=a.json))
