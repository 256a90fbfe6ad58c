"""`workspaces`: the registry of project roots that `status --workspaces` and the dashboard
go over (orchestra.workspaces): add, remove, list."""

import os

from orchestra import workspaces
from orchestra.commands import args
from orchestra.errors import OrchestraError, USAGE


def run(layout, console, action, target=None, as_json=False):
    if action == "add":
        root = _project(layout, target)
        added = workspaces.add(root)
        console.out(f"added {root}" if added else f"{root} is already a workspace")
        return 0
    if action == "remove":
        found = workspaces.roots(warn=console.warn)
        root = _named(found, target)
        workspaces.remove(root)
        console.out(f"removed {root}")
        return 0
    return _list(console, workspaces.roots(warn=console.warn), as_json)


def _named(found, target):
    """The registered root that `target` names: its number in `list`, or its path."""
    if target.isdigit() and not os.path.exists(target):
        n = int(target)
        if not 1 <= n <= len(found):
            raise OrchestraError(f"no workspace number {n}; `orchestra workspaces list` "
                                 f"numbers them 1 to {len(found)}" if found else
                                 "no workspace is registered", USAGE)
        return found[n - 1]
    root = os.path.abspath(target)
    if root not in found:
        raise OrchestraError(f"{root} is not a registered workspace; `orchestra workspaces "
                             "list` shows them", USAGE)
    return root


def _project(layout, target):
    """The root of the project at or around `target` (a directory), or this project."""
    from orchestra.paths import find_root, is_project
    if target is None:
        if not is_project(layout.root):
            raise OrchestraError(f"no orchestra project in {layout.root}; give the project's "
                                 "directory: `orchestra workspaces add DIR`", USAGE)
        return layout.root
    if not os.path.isdir(target):
        raise OrchestraError(f"{target} is not a directory; give a project's directory", USAGE)
    return find_root(cwd=target, environ={})


def _list(console, found, as_json):
    from orchestra.glance import glance
    seen = [glance(root) for root in found]
    if as_json:
        import json
        console.out(json.dumps([{"number": n, "root": g["root"], "name": g["name"],
                                 "state": g["state"], "tasks": g["tasks"], "counts": g["counts"]}
                                for n, g in enumerate(seen, 1)], indent=2, ensure_ascii=False))
        return 0
    if not seen:
        console.out(f"no workspace is registered (in {workspaces.path()}); `orchestra "
                    "workspaces add DIR` adds one, and running orchestra in a project adds it")
        return 0
    from orchestra.table import printable
    rows = [(str(n), printable(g["name"]), printable(g["root"]), _state(g))
            for n, g in enumerate(seen, 1)]
    widths = [max(len(r[i]) for r in rows) for i in range(3)]
    for row in rows:
        console.out("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3])
    return 0


def overview(console, as_json, now):
    """`status --workspaces`: a line per registered workspace (its tasks by status, running,
    to review, the latest to finish and when), or that it vanished; or all of it as JSON."""
    from orchestra.glance import glance
    seen = [glance(root) for root in workspaces.roots(warn=console.warn)]
    if as_json:
        import json
        console.out(json.dumps(seen, indent=2, ensure_ascii=False))
        return 0
    if not seen:
        console.out("no workspace is registered; running orchestra in a project adds it, or "
                    "`orchestra workspaces add DIR`")
        return 0
    from orchestra.clock import human, parse_iso
    from orchestra.table import printable
    style = console.style
    width = max(len(printable(g["name"])) for g in seen)
    for n, g in enumerate(seen, 1):
        head = f"{printable(g['name']).ljust(width)}  {printable(g['root'])}"
        if g["state"] == "vanished":
            console.out(f"{head}  {style.paint('vanished', 'red')}: the directory is gone "
                        f"(`orchestra workspaces remove {n}` forgets it)")
            continue
        if g["state"] != "ok":
            console.out(f"{head}  {g['state']}" + (f": {g['problem']}" if g["problem"] else ""))
            continue
        parts = [_state(g)]
        if g["review"]:
            parts.append(f"{g['review']} to review")
        latest = g["latest"]
        if latest:
            ago = human(max(0.0, now - parse_iso(latest["finished_at"])))
            parts.append(f"latest {latest['id'][19:]} {latest['status']} {ago} ago "
                         f"({printable(latest['agent'])})")
        if g["problem"]:
            parts.append(g["problem"])
        console.out(f"{head}  " + style.sep.join(parts))
    return 0


def _state(g):
    if g["state"] != "ok":
        return g["state"]
    counts = ", ".join(f"{n} {s}" for s, n in g["counts"].items())
    return f"{g['tasks']} task{'s' if g['tasks'] != 1 else ''}" + (f": {counts}" if counts else "")


def register(sub):
    p = args.subparser(sub, "workspaces", help="the projects the overview and dashboard show",
                       description="The registry of project roots that `orchestra status "
                       "--workspaces` and `orchestra serve` go over, kept in the user's config "
                       "directory. Running orchestra in a project adds it, unless `orchestra "
                       "config set register false` or ORCHESTRA_NO_REGISTER=1.",
                       epilog=args.examples(
                           ("orchestra workspaces list", "each one, numbered, with its tasks"),
                           ("orchestra workspaces add ~/src/api", "add a project"),
                           ("orchestra workspaces remove 2", "forget the second one")))
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    ls = args.subparser(actions, "list", help="each workspace, numbered, with its task counts",
                        description="Each registered workspace in the order added: its number, "
                        "name, root, and its task counts, or that it vanished or holds no "
                        ".orchestra/.")
    ls.add_argument("--json", action="store_true", help="a JSON array, one object a workspace")
    put = args.subparser(actions, "add", help="register a project",
                         description="Register a project's directory (default: this project).")
    put.add_argument("target", nargs="?", metavar="DIR", help="the project's directory")
    out = args.subparser(actions, "remove", help="forget a workspace",
                         description="Forget a workspace, named by its root or its number in "
                         "`orchestra workspaces list`; its files are left as they are.")
    out.add_argument("target", metavar="DIR|NUMBER", help="its root, or its number in `list`")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, a.action, target=getattr(a, "target", None),
        as_json=getattr(a, "json", False)))
