"""A batch file for `start --batch`: one task a line, parsed into entries. Pure: no I/O.

A line is blank, a comment (`#` first), a JSON object (`{` first) with "prompt" and optional
"priority", "depends_on", "timeout", "max_retries", "worktree" (true or false) and "base" (a
git ref), or else a plain prompt. A dependency
is a task id or `@N`, the task of line N of the same batch, which must come earlier.
"""

from orchestra.clock import parse_duration
from orchestra.ids import plausible

KEYS = ("prompt", "priority", "depends_on", "timeout", "max_retries", "worktree", "base")


class Entry:
    """One task of a batch. A field left as None takes the command line's value (or the
    agent's); `depends_on` holds task ids and, for `@N`, the index of an earlier entry."""

    __slots__ = ("line", "prompt", "priority", "timeout", "max_retries", "depends_on",
                 "worktree", "base")

    def __init__(self, line, prompt, priority=None, timeout=None, max_retries=None,
                 depends_on=(), worktree=None, base=None):
        self.line = line
        self.worktree = worktree  # True, False, or None for the command line's choice
        self.base = base
        self.prompt = prompt
        self.priority = priority
        self.timeout = timeout
        self.max_retries = max_retries
        self.depends_on = list(depends_on)


class BatchError(Exception):
    """Every problem found, one line each (`batch line 7: ...`)."""

    def __init__(self, problems):
        super().__init__("\n".join(problems))
        self.problems = problems


def prompt_problem(prompt):
    """What makes `prompt` unusable as a task's prompt (completing "the prompt ..."), or None."""
    if not prompt.strip():
        return "is empty"
    if "\0" in prompt:
        return "contains a NUL byte, which no program argument can carry"
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        return "is not valid UTF-8 text"
    return None


def parse(data):
    """bytes (or str) of a batch file -> [Entry] in file order; BatchError lists what is wrong."""
    if isinstance(data, str):
        data = data.encode("utf-8", "surrogatepass")
    if data.startswith(b"\xef\xbb\xbf"):
        data = data[3:]  # a byte order mark, as some editors write
    entries, problems = [], []
    index_of = {}   # line number -> index in entries, for @N
    broken = set()  # task lines with a problem: a reference to one adds nothing to report
    for number, raw in enumerate(data.split(b"\n"), 1):
        # Undecodable bytes become lone surrogates, which prompt_problem refuses (a comment
        # may hold them).
        text = raw.decode("utf-8", "surrogateescape").strip()
        if not text or text.startswith("#"):
            continue
        try:
            if text.startswith("{"):
                entry = _json_line(number, text, index_of, broken)
            else:
                entry = Entry(number, text)
            problem = prompt_problem(entry.prompt)
            if problem:
                raise ValueError(f"the prompt {problem}")
        except ValueError as e:
            problems.append(f"batch line {number}: {e}")
            broken.add(number)
            continue
        index_of[number] = len(entries)
        entries.append(entry)
    if not entries and not problems:
        problems.append("the batch holds no tasks (every line is blank or a comment)")
    if problems:
        raise BatchError(problems)
    return entries


def _json_line(number, text, index_of, broken):
    import json  # only JSON lines need it
    try:
        obj = json.loads(text)
    except ValueError as e:
        raise ValueError(f"not valid JSON ({getattr(e, 'msg', e)} at column "
                         f"{getattr(e, 'colno', '?')}); a prompt starting with {{ must be "
                         'written as {"prompt": ...}') from None
    if not isinstance(obj, dict):
        raise ValueError("not a JSON object")
    unknown = sorted(set(obj) - set(KEYS))
    if unknown:
        raise ValueError(f"unknown key {', '.join(map(repr, unknown))}; "
                         f"the keys are {', '.join(KEYS)}")
    prompt = obj.get("prompt")
    if not isinstance(prompt, str):
        raise ValueError('"prompt" (a string) is required')
    entry = Entry(number, prompt)
    if obj.get("priority") is not None:
        entry.priority = _whole(obj["priority"], "priority")
    if obj.get("max_retries") is not None:
        entry.max_retries = _whole(obj["max_retries"], "max_retries")
        if entry.max_retries < 0:
            raise ValueError('"max_retries" must be 0 or more')
    if obj.get("timeout") is not None:
        entry.timeout = _timeout(obj["timeout"])
    if obj.get("worktree") is not None:
        if not isinstance(obj["worktree"], bool):
            raise ValueError(f'"worktree" must be true or false, not {obj["worktree"]!r}')
        entry.worktree = obj["worktree"]
    if obj.get("base") is not None:
        if not isinstance(obj["base"], str) or not obj["base"].strip() or "\0" in obj["base"]:
            raise ValueError(f'"base" must be a git branch, tag or commit, not {obj["base"]!r}')
        entry.base = obj["base"]
    deps = obj.get("depends_on")
    if deps is not None:
        if isinstance(deps, str):
            deps = [deps]
        if not isinstance(deps, list):
            raise ValueError('"depends_on" must be a task id, @LINE, or a list of them')
        for dep in deps:
            ref = _dependency(number, dep, index_of, broken)
            if ref is not None and ref not in entry.depends_on:
                entry.depends_on.append(ref)
    return entry


def _whole(value, key):
    if isinstance(value, bool) or not isinstance(value, int):
        raise ValueError(f'"{key}" must be a whole number, not {value!r}')
    return value


def _timeout(value):
    if isinstance(value, str):
        try:
            seconds = parse_duration(value)
        except ValueError as e:
            raise ValueError(f'"timeout": {e}') from None
    elif isinstance(value, (int, float)) and not isinstance(value, bool) \
            and value != float("inf"):  # JSON's 1e999
        seconds = float(value)
    else:
        raise ValueError(f'"timeout" must be seconds or a duration like "30m", not {value!r}')
    if not seconds > 0:
        raise ValueError(f'"timeout" must be more than 0 seconds, not {value!r}')
    return seconds


def _dependency(number, dep, index_of, broken):
    """A task id, or the index of the entry `@N` names; None for a line already reported."""
    if not isinstance(dep, str):
        raise ValueError(f'"depends_on": {dep!r} is not a task id or @LINE')
    if not dep.startswith("@"):
        if not plausible(dep):
            raise ValueError(f'"depends_on": {dep!r} is not a task id (ids look like '
                             "task_1764071563123_a1b2c3, or its last part a1b2c3; @N names "
                             "line N of this batch)")
        return dep
    target = dep[1:]
    if not (target.isdigit() and target.isascii()):
        raise ValueError(f'"depends_on": {dep!r} is not @LINE (a line number, e.g. @3)')
    target = int(target)
    if target >= number:
        raise ValueError(f'"depends_on": {dep} is not an earlier line (a task can only wait '
                         "for tasks above it)")
    if target in broken:
        return None
    if target not in index_of:
        raise ValueError(f'"depends_on": line {target} is not a task (blank or a comment)')
    return index_of[target]
