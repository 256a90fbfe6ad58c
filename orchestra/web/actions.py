"""The dashboard's actions, each a CLI command: the request's fields become its argv (as
`orchestra mcp` makes them), run by the CLI's own parser and command, so the input is checked
and refused in the CLI's words."""

from orchestra import mcptools
from orchestra.errors import FAILED, OK, USAGE

# action -> (the fields it takes besides w, required ones)
ACTIONS = {
    "start": (("agent", "prompt", "priority", "timeout", "depends_on", "isolation", "labels"),
              ("agent", "prompt")),
    "cancel": (("id",), ("id",)),
    "retry": (("id",), ("id",)),
    "merge": (("id",), ("id",)),
    "pause": ((), ()),
    "resume": ((), ()),
}


def argv(action, body):
    """The command line of `action` with the request's `body` (w already taken out); a
    ValueError says what is wrong with the body."""
    fields, required = ACTIONS[action]
    for key in body:
        if key not in fields:
            raise ValueError(f"{action} takes no field {key!r}"
                             + (f"; it takes {', '.join(fields)}" if fields else ""))
    for key in required:
        if body.get(key) in (None, "", []):
            raise ValueError(f"{action} needs {key!r}")
    if action == "start":
        try:
            return mcptools.argv("start", body)
        except mcptools.ArgumentError as e:
            raise ValueError(str(e)) from None
    if "id" in fields:
        if not isinstance(body["id"], str):
            raise ValueError("id must be a string: a task id, whole or abbreviated")
        return [action, "--", body["id"]]
    return [action]


def run(root, words):
    """(exit code, stdout, stderr) of `orchestra --root ROOT WORDS`, in this process."""
    return mcptools.Tools(root).run(words)


def status_of(code):
    """The HTTP status of a command's exit code: refused input 400, a failure 409."""
    return {OK: 200, USAGE: 400, FAILED: 409}.get(code, 500)
