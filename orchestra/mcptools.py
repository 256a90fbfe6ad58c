"""The tools `orchestra mcp` offers. Each is a CLI command: its arguments become the
command's argv, parsed by the CLI's own parser and run by `cli.execute` with a console of
its own, so a tool checks its input as the command line does and fails in the same words.
"""

import io
import json

from orchestra import cli
from orchestra.errors import INTERRUPTED, OK, TIMED_OUT, OrchestraError
from orchestra.paths import Layout

LOG_LINES = 100     # the tail `logs` gives when not told how much
MAX_TEXT = 50_000   # characters of one text: a model's context is not a terminal's scrollback
SUMMARY_MAX = 4000  # characters of a .done summary in a wait's outcome

_ID = {"type": "string", "description": "A task id, whole or abbreviated as status shows it."}
_IDS = {"type": "array", "items": {"type": "string"},
        "description": "Task ids, whole or abbreviated as status shows them."}
_FILTERS = {
    "status": {"type": "array", "items": {"type": "string", "enum": [
        "pending", "running", "completed", "failed", "cancelled"]},
        "description": "Only tasks in one of these statuses."},
    "agent": {"type": "array", "items": {"type": "string"},
              "description": "Only tasks of one of these agents."},
    "label": {"type": "array", "items": {"type": "string"},
              "description": "Only tasks with one of these labels."},
}

# name -> (description, properties, required, how each property goes on the command line).
# A property is ("pos",) a positional, ("opt", FLAG) an option with a value, ("many", FLAG)
# an option taking the list, ("each", FLAG) an option given once an item, or
# ("choice", {value: flag}).
_TOOLS = {
    "start": (
        "Queue a task: hand a self-contained piece of work to a coding agent, which runs it in "
        "the background (in a git worktree and branch of its own, in a git repository). Use it "
        "to split work that can proceed in parallel or that another agent does better; then "
        "`wait` for it. Returns a line naming the new task's id and what starts it.",
        {"agent": {"type": "string", "description": "The agent that runs it: a name from the "
                   "project's .orchestra-cli/agent-config.json, such as claude, codex, gemini, "
                   "opencode, or a role such as coder or tester."},
         "prompt": {"type": "string", "description": "The task's instructions, complete: the "
                    "agent knows nothing of this conversation, only this text and the "
                    "project's files."},
         "priority": {"type": "integer", "description": "Higher runs first (default 0)."},
         "timeout": {"type": "string", "description": "A wall-clock limit: seconds, or a "
                     "number with a unit (90s, 30m, 2h). Default: the agent's."},
         "depends_on": {"type": "array", "items": {"type": "string"}, "description": "Ids of "
                        "tasks that must complete first; it then starts from their branches."},
         "isolation": {"type": "string", "enum": ["worktree", "none"], "description":
                       "worktree: a git worktree and branch of its own (the default in a git "
                       "repository); none: the project directory itself."},
         "labels": {"type": "array", "items": {"type": "string"}, "description": "Short words "
                    "to tag it with, which status, wait and cancel can select by."}},
        ("agent", "prompt"),
        {"priority": ("opt", "--priority"), "timeout": ("opt", "--timeout"),
         "depends_on": ("many", "--depends-on"), "labels": ("each", "--label"),
         "isolation": ("choice", {"worktree": "--worktree", "none": "--no-worktree"}),
         "agent": ("pos",), "prompt": ("pos",)}),
    "status": (
        "List tasks (active ones and those finished in the last 24 hours), or the ones named. "
        "Returns a JSON array of task objects: id and short_id (the abbreviation to use), "
        "agent, status (pending, running, completed, failed, cancelled), reason and error of "
        "a failure, prompt, times, attempt, branch.",
        dict({"ids": dict(_IDS, description="Only these tasks (default: all).")}, **_FILTERS),
        (),
        {"status": ("each", "--status"), "agent": ("each", "--agent"),
         "label": ("each", "--label"), "ids": ("pos",)}),
    "show": (
        "One task in full, live or archived, as a JSON object with every field: status, "
        "reason, error, prompt, times, attempts, its worktree, branch and changes.",
        {"id": _ID}, ("id",), {"id": ("pos",)}),
    "logs": (
        "The end of a task's log: what its agent printed (for agents that stream JSON, the "
        "JSON lines). Use it to see why a task failed or what a running one is doing.",
        {"id": _ID, "lines": {"type": "integer", "description":
                              f"How many of the last lines (default {LOG_LINES})."}},
        ("id",), {"lines": ("opt", "--lines"), "id": ("pos",)}),
    "wait": (
        "Block until the tasks end (after any automatic retries), or until the timeout. While "
        "the task running you waits, its slot goes to the tasks it waits for. Returns each "
        "task's outcome as JSON: id, short_id, status, reason, error, and summary (what the "
        "agent wrote in its .done file); an error result if any did not complete or the "
        "wait timed out (timed_out true).",
        {"ids": _IDS, "timeout": {"type": "number", "description":
                                  "Give up after this many seconds."}},
        ("ids",), {"timeout": ("opt", "--timeout"), "ids": ("pos",)}),
    "cancel": (
        "Cancel tasks: a pending one never starts, a running one is stopped (every process "
        "of its run). Returns what was done to each.",
        {"ids": _IDS}, ("ids",), {"ids": ("pos",)}),
    "retry": (
        "Queue failed or cancelled tasks again, each as a new attempt (an isolated task goes "
        "on from its branch). Returns what was queued.",
        {"ids": _IDS}, ("ids",), {"ids": ("pos",)}),
    "diff": (
        "What an isolated task changed on its branch against the commit it started from: the "
        "files changed (a stat), then the patch, cut short if it is long. A running task "
        "shows its worktree as it is now.",
        {"id": _ID}, ("id",), {"id": ("pos",)}),
}


def _listed():
    return [{"name": name, "description": description,
             # Plain JSON Schema, no bounds nor additionalProperties: some clients pass
             # schemas on to model APIs that take only a subset. argv() checks the rest.
             "inputSchema": {"type": "object", "properties": properties,
                             "required": list(required)}}
            for name, (description, properties, required, _) in _TOOLS.items()]


LISTED = _listed()


class ArgumentError(Exception):
    """A tool's arguments that cannot become a command line."""


def argv(name, arguments):
    """The command line of tool `name` called with `arguments` (a JSON object)."""
    _, properties, required, placement = _TOOLS[name]
    if not isinstance(arguments, dict):
        raise ArgumentError(f"the arguments of {name} must be a JSON object")
    for key in arguments:
        if key not in properties:
            raise ArgumentError(f"{name} takes no argument {key!r}; it takes "
                                + ", ".join(properties))
    for key in required:
        if arguments.get(key) in (None, []):
            raise ArgumentError(f"{name} needs {key!r}: {properties[key]['description']}")
    options, positionals = [], []
    for key, value in arguments.items():
        if value is None:
            continue
        how = placement[key]
        many = properties[key]["type"] == "array"
        values = _words(key, value, many)
        if how[0] == "pos":
            positionals += values
        elif how[0] == "opt":
            options += [how[1], values[0]]
        elif how[0] == "many":
            options += [how[1], *values] if values else []
        elif how[0] == "each":
            for v in values:
                options += [how[1], v]
        elif values[0] in how[1]:
            options.append(how[1][values[0]])
        else:
            raise ArgumentError(f"{key} must be one of {', '.join(how[1])}, not {values[0]!r}")
    if name == "start" and arguments["prompt"] == "-":
        # `-` reads the prompt from stdin: the protocol's own stream, or the server's.
        raise ArgumentError("the prompt is only `-`: give the prompt's text itself")
    # After `--` a prompt or id that starts with "-" is still a prompt or an id.
    return [name, *options] + (["--", *positionals] if positionals else [])


def _words(key, value, many):
    """The command-line words of one argument's value: a list's items if `many` (a lone
    value counts as a list of one), else the one value; numbers as they are written."""
    items = value if many and isinstance(value, list) else [value]
    words = []
    for item in items:
        if isinstance(item, bool) or not isinstance(item, (str, int, float)):
            kind = "a list of strings" if many else "a string or a number"
            raise ArgumentError(f"{key} must be {kind}, not {json.dumps(item)}")
        words.append(item if isinstance(item, str) else repr(item))
    return words


class Tools:
    """The tools of one project root, for mcp.Session."""

    def __init__(self, root):
        self.layout = Layout(root)

    @staticmethod
    def listed():
        return LISTED

    def call(self, name, arguments, cancelled):
        """(is_error, texts) of tool `name`; `cancelled`, once set, ends a wait."""
        try:
            words = argv(name, arguments)
        except ArgumentError as e:
            return True, [str(e)]
        if name == "logs" and "lines" not in arguments:
            words[1:1] = ["--lines", str(LOG_LINES)]
        if name == "diff":
            return self._diff(words)
        if name in ("status", "show"):
            words.insert(1, "--json")
        code, out, err = self.run(words, cancelled)
        if name == "wait" and code in (OK, 1, TIMED_OUT):
            ids = arguments["ids"]
            try:
                tasks = self._outcomes(ids if isinstance(ids, list) else [ids])
            except OrchestraError as e:  # deleted (`clean`) since the wait ended
                return True, [t for t in (err.strip(), f"orchestra: {e.message}") if t]
            outcome = {"timed_out": code == TIMED_OUT, "tasks": tasks}
            return code != OK, [t for t in (err.strip(), json.dumps(outcome, ensure_ascii=False))
                                if t]
        if code == INTERRUPTED:
            return True, ["cancelled: the client cancelled the call, or the server is closing"]
        if code != OK:
            return True, [t for t in (err.strip() or f"exit {code}", out.strip()) if t]
        if name in ("status", "show"):
            out = self._with_short_ids(out)
        elif name == "logs":
            out = _tail(out)
        return False, [t for t in (out.strip() or "done", err.strip()) if t]

    def run(self, words, cancelled=None):
        """(exit code, stdout, stderr) of `orchestra --root ROOT WORDS`."""
        words = ["--root", self.layout.root, *words]
        out, err = _Stream(), _Stream()
        console = cli.make_console(True, stdout=out, stderr=err, environ={})
        try:
            parsed = cli.build_parser(words).parse_args(words)
        except OrchestraError as e:
            return e.code, "", f"orchestra: {e.message}"
        parsed.cancelled = cancelled  # read by `wait`, which it ends
        code = cli.execute(parsed, console)
        return code, out.text(), err.text()

    def _diff(self, words):
        code, stat, err = self.run(words[:1] + ["--stat"] + words[1:])
        if code != OK:
            return True, [err.strip() or f"exit {code}"]
        code, patch, err = self.run(words)
        if code != OK:
            return True, [err.strip() or f"exit {code}"]
        texts = [stat.strip() or "no changes", err.strip()]
        if len(patch) > MAX_TEXT:
            patch = (patch[:MAX_TEXT] + f"\n[the patch is cut here, at {MAX_TEXT} of "
                     f"{len(patch)} characters: `orchestra diff {words[-1]}` shows it whole]")
        return False, [t for t in texts + [patch.strip()] if t]

    def _outcomes(self, queries):
        from orchestra import archive
        from orchestra.commands import full_ids
        from orchestra.store import Store
        found = [archive.find(Store(self.layout), i) for i in full_ids(self.layout, queries)]
        short = _short_ids(self.layout, [t.id for t, _ in found])
        out = []
        for task, archived in found:
            path = archive.where(self.layout, task.id, archived,
                                 lambda layout, i: layout.sentinel(i, "done"))
            out.append({"id": task.id, "short_id": short[task.id], "status": task.status,
                        "reason": task.reason, "error": task.error,
                        "summary": _read(path, SUMMARY_MAX)})
        return out

    def _with_short_ids(self, text):
        data = json.loads(text)
        tasks = data if isinstance(data, list) else [data]
        short = _short_ids(self.layout, [t["id"] for t in tasks])
        for t in tasks:
            t["short_id"] = short[t["id"]]
        return _bounded(json.dumps(data, ensure_ascii=False))


def _short_ids(layout, wanted):
    from orchestra import idindex, ids
    from orchestra.paths import task_ids
    return ids.abbreviations(wanted, task_ids(layout.tasks) + idindex.ids(layout))


def _read(path, limit):
    try:
        with open(path, encoding="utf-8", errors="replace") as f:
            return f.read(limit).strip() or None
    except OSError:
        return None


def _tail(text):
    if len(text) <= MAX_TEXT:
        return text
    return f"[{len(text) - MAX_TEXT} earlier characters left out]\n" + text[-MAX_TEXT:]


def _bounded(text):
    if len(text) <= MAX_TEXT:
        return text
    return (text[:MAX_TEXT] + f"\n[cut here, at {MAX_TEXT} of {len(text)} characters: name "
            "fewer tasks, or use the filters]")


class _Stream(io.TextIOWrapper):
    """Text written to it, and bytes written to its buffer (`diff`), read back as text."""

    def __init__(self):
        super().__init__(io.BytesIO(), encoding="utf-8", errors="replace")

    def text(self):
        self.flush()
        return self.buffer.getvalue().decode("utf-8", "replace")
