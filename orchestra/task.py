"""The task model: fields, statuses, reasons, ids and the validation of a task file. No I/O.
How a task changes (and how a run ends) is transitions.py's."""

import marshal
import math
import os
import time
from enum import Enum

from orchestra.clock import iso, parse_iso

ID_PATTERN = r"task_\d{13}_[0-9a-f]{6}"


class Status(str, Enum):
    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELLED = "cancelled"

    def __str__(self):
        return self.value


_STATUS = {s.value: s for s in Status}
FINAL = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)
ACTIVE = (Status.PENDING, Status.RUNNING)

# Why a task failed (the `reason` field).
EXIT, ERROR, TIMEOUT, LOST, LAUNCH = "exit", "error", "timeout", "lost", "launch"
DEPENDENCY = "dependency"  # a task it depends on failed or was cancelled
AGENT_ERROR = "agent_error"  # the agent's own output says the run failed
NO_RESULT = "no_result"      # exited 0 without the final record its output format promises
LIMIT = "limit"              # a usage or rate limit stopped it: pending again, no retry used
VERIFY = "verify"            # the agent reported success; its verification command did not
CONFIG = "config"            # pending: the agent config cannot be read or validated just now
SETUP = "setup"              # its worktree could not be made, or worktree_setup failed
MERGE = "merge"              # the branches of the tasks it depends on do not merge
SCHEDULED = "scheduled"      # pending: `start --delay/--at` asked for it not before not_before

# What an agent's output may be read as (verdict.FORMATS; kept here so task files validate
# without importing the parser).
OUTPUT_FORMATS = ("claude-json", "claude-stream-json", "codex-jsonl", "gemini-json",
                  "gemini-stream-json", "opencode-jsonl", "cursor-stream-json", "copilot-jsonl",
                  "aider-text", "text")
# Failures an automatic retry cannot mend: the command is missing or not runnable, or a
# task it depends on failed.
NOT_RETRIED = (LAUNCH, DEPENDENCY, MERGE)
WORKTREE = "worktree"  # the `isolation` of a task that runs in a git worktree of its own

COMPLETION_MODES = ("either", "sentinel", "exit")
BACKOFF_CAP = 300.0

# Every field a task file holds, with its default; unknown keys in a file are kept as they are.
FIELDS = {
    "id": None, "agent": None, "prompt": "", "status": Status.PENDING.value,
    "reason": None, "error": None, "exit_code": None,
    "priority": 0, "timeout": None, "attempt": 0, "max_retries": 0, "retries": 0,
    "completion": "either", "cwd": None,
    "pid": None, "pid_start": None,
    "created_at": None, "started_at": None, "finished_at": None, "not_before": None,
    "log_file": None, "plan_file": None, "depends_on": (),
    "output": None, "session_id": None, "tokens_in": None, "tokens_out": None, "cost_usd": None,
    "limits": 0, "verify": None, "phase": None, "labels": (),
    # Isolation (worktree.py): `base` is the commit the branch starts from, `base_branch` the
    # branch it is to be merged into; `changes` is [files, lines added, lines removed] of
    # base..head; `merged` when it was merged into `merged_into`.
    "isolation": None, "base": None, "base_branch": None, "subdir": "", "worktree": None,
    "branch": None, "head": None, "changes": None, "merged": None, "merged_into": None,
    # While the task's own agent blocks in `orchestra wait`: {"ids", "pid", "pid_start"} of
    # that wait, whose process lending the task's slot to what it waits for (scheduler.loans).
    "waiting": None,
}


# What `edit` may change of a pending task (transitions.edited).
EDITABLE = ("prompt", "priority", "timeout", "depends_on", "not_before")

TIME_FIELDS = ("created_at", "started_at", "finished_at", "not_before")


_INTS = ("priority", "attempt", "max_retries", "retries", "limits")
_TEXTS = ("agent", "prompt")


# Fields the queue can run without, written by orchestra from what a run showed: a hand-edited
# value of the wrong type is read as absent (and the file rewritten without it by the next
# save), instead of failing every command that reads or formats it.
_OPTIONAL_TEXTS = ("reason", "error", "session_id", "log_file", "plan_file", "base",
                   "base_branch", "worktree", "branch", "head", "merged", "merged_into")
_INT32 = 2 ** 31  # os.kill takes a C int (beyond it is no pid), and exit statuses fit one
_COUNT_MAX = 2 ** 63  # tokens: far past any real run, small enough to sum and format
_COST_MAX = 1e12


def _number(v, limit, whole=False):
    """v if it is a number (a whole one, with whole=True) in [0, limit), else None: json gives
    inf for 1e400, and ints of any size."""
    if isinstance(v, bool) or not isinstance(v, int if whole else (int, float)):
        return None
    return v if 0 <= v < limit else None  # False for nan; no float conversion of a huge int


def _absent_if_wrong(d):
    for key in _OPTIONAL_TEXTS:
        if d[key] is not None and not isinstance(d[key], str):
            d[key] = None
    for key in ("tokens_in", "tokens_out"):
        d[key] = _number(d[key], _COUNT_MAX, whole=True)
    d["cost_usd"] = _number(d["cost_usd"], _COST_MAX)
    labels = d["labels"]
    if not isinstance(labels, (list, tuple)) or not all(
            isinstance(x, str) and valid_label(x) for x in labels):
        d["labels"] = ()
    changes = d["changes"]
    if not (isinstance(changes, list) and len(changes) == 3
            and all(_number(n, _COUNT_MAX, whole=True) is not None for n in changes)):
        d["changes"] = None
    if type(d["exit_code"]) is not int or not -_INT32 <= d["exit_code"] < _INT32:
        d["exit_code"] = None
    w = d["waiting"]
    if w is not None and not (
            isinstance(w, dict) and isinstance(w.get("ids"), list)
            and all(isinstance(i, str) and valid_id(i) for i in w["ids"])
            and type(w.get("pid")) is int and 1 < w["pid"] < _INT32
            and isinstance(w.get("pid_start"), str)):
        d["waiting"] = None
    # A pid that is not a number an agent can have, or whose start token is not one, is no pid
    # at all: a hand-edited "pid": "12345" must never lead to signalling process 12345. No
    # agent is 0 or 1 either, and a kill of their group is one of ours (killpg(0)) or of
    # every process we may signal (killpg(1) is kill(-1)).
    pid = d["pid"]
    if (type(pid) is not int or not 1 < pid < _INT32
            or not (d["pid_start"] is None or isinstance(d["pid_start"], str))):
        d["pid"] = d["pid_start"] = None


def _check(d):
    """Raise ValueError for a field the queue cannot run without; read as absent a wrong
    optional one (`_absent_if_wrong`)."""
    if not isinstance(d["status"], str) or d["status"] not in _STATUS:
        raise ValueError(f"unknown status {d['status']!r}")
    for key in _TEXTS:
        if not isinstance(d[key], str):
            raise ValueError(f'"{key}" must be a string')
    for key in _INTS:
        if isinstance(d[key], bool) or not isinstance(d[key], int):
            raise ValueError(f'"{key}" must be a whole number')
    timeout = d["timeout"]
    if timeout is not None and (isinstance(timeout, bool) or not isinstance(timeout, (int, float))
                                or not _finite(timeout)):
        raise ValueError('"timeout" must be a number of seconds or null')
    if d["cwd"] is not None and not isinstance(d["cwd"], str):
        raise ValueError('"cwd" must be a directory or null')  # running elsewhere is no option
    deps = d["depends_on"]
    if not isinstance(deps, (list, tuple)) or not all(isinstance(x, str) and valid_id(x) for x in deps):
        raise ValueError('"depends_on" must be a list of task ids')
    if d["verify"] is not None and not isinstance(d["verify"], str):
        raise ValueError('"verify" must be a command line or null')
    if d["isolation"] not in (None, WORKTREE):
        raise ValueError(f"unknown isolation {d['isolation']!r}")
    if not isinstance(d["subdir"], str) or os.path.isabs(d["subdir"]) \
            or ".." in d["subdir"].replace("\\", "/").split("/"):
        raise ValueError('"subdir" must be a relative path without ..')
    if d["phase"] not in (None, VERIFY):
        raise ValueError(f"unknown phase {d['phase']!r}")
    if d["output"] is not None and d["output"] not in OUTPUT_FORMATS:
        raise ValueError(f"unknown output format {d['output']!r}")
    if d["completion"] not in COMPLETION_MODES:
        raise ValueError(f"unknown completion mode {d['completion']!r}")
    for key in TIME_FIELDS:
        if d[key] is not None:
            try:
                parse_iso(d[key])
            except (ValueError, TypeError):
                raise ValueError(f'"{key}" must be an ISO 8601 UTC time or null') from None
    _absent_if_wrong(d)


def _finite(number):
    try:
        return math.isfinite(number)
    except OverflowError:  # an int too large for a float
        return False


def new_id(now=None):
    ms = int((time.time() if now is None else now) * 1000)
    return f"task_{ms:013d}_{os.urandom(3).hex()}"


def valid_id(text):
    """Matches ID_PATTERN (checked by hand: this runs for every task file read)."""
    return (len(text) == 25 and text.startswith("task_") and text[18] == "_"
            and text[5:18].isdigit() and text[5:18].isascii()
            and all(c in "0123456789abcdef" for c in text[19:]))


LABEL_MAX = 32


def valid_label(text):
    """A label is a short word: ASCII letters, digits, '-', '_' and '.', a letter or digit
    first, so that it reads in a table cell and cannot be taken for an option."""
    return (0 < len(text) <= LABEL_MAX and text.isascii() and text[0].isalnum()
            and all(c.isalnum() or c in "-_." for c in text))


_NAMES = tuple(FIELDS)


def queue_place(task):
    """(Task.order_key, depends_on) of a pending task, None of any other: kept in the scan
    cache, so that a `status` orders the pending tasks and finds the doomed ones without
    unpacking them."""
    if task.state is not Status.PENDING:
        return None
    return task.order_key(), tuple(task.data["depends_on"] or ())


class Task:
    """A task file's contents with typed access; `to_dict` gives back exactly what is stored."""

    __slots__ = ("_data", "_memo", "_packed")

    def __init__(self, data, derived=None, packed=None):
        """`derived`: what `derived()` gave for this data, as the scan cache keeps it. From
        the scan cache, `data` is None, `derived` what `glance()` gave, and `packed` what
        `packed()` gave: the file's contents are unpacked only when something reads them."""
        self._data = data
        self._memo = {} if derived is None else derived  # values computed from `data` alone
        self._packed = packed

    @property
    def data(self):
        data = self._data
        if data is None:
            values, derived = marshal.loads(self._packed)
            data = self._data = dict(zip(_NAMES, values)) if type(values) is tuple else values
            for name, value in derived.items():
                self._memo.setdefault(name, value)
        return data

    @classmethod
    def new(cls, task_id, agent, prompt, now, *, priority=0, timeout=None, max_retries=0,
            completion="either", cwd=None, depends_on=(), output=None, verify=None,
            isolation=None, not_before=None, labels=()):
        """`isolation`: None, or worktree.Isolation for a task with a worktree of its own;
        `not_before`: the time it may start (`start --delay/--at`), None for as soon as it can."""
        data = dict(FIELDS)
        data.update(id=task_id, agent=agent, prompt=prompt, priority=priority, timeout=timeout,
                    max_retries=max_retries, completion=completion, cwd=cwd, created_at=iso(now),
                    depends_on=list(depends_on), output=output, verify=verify,
                    labels=list(labels), not_before=iso(not_before),
                    reason=SCHEDULED if not_before is not None else None,
                    **(isolation.fields() if isolation is not None else {}),
                    log_file=f".orchestra/logs/{task_id}.log",
                    plan_file=f".orchestra/plans/{task_id}_plan.md")
        return cls(data)

    @classmethod
    def from_dict(cls, data):
        """A task from a file's JSON; ValueError names the first field that is wrong, so one
        hand-edited file is skipped instead of stopping the queue."""
        if not isinstance(data, dict) or not valid_id(str(data.get("id", ""))):
            raise ValueError("not a task object (no valid id)")
        merged = dict(FIELDS)
        merged.update(data)
        _check(merged)
        return cls(merged)

    def to_dict(self):
        return dict(self.data)

    def copy(self):
        """A copy to change through `update`; changes to `data` must go through it."""
        return Task(dict(self.data))

    def update(self, **fields):
        self.data.update(fields)
        self._memo.clear()
        self._packed = None

    def __getattr__(self, name):
        try:
            return self.data[name]
        except KeyError:
            raise AttributeError(name) from None

    def memo(self, derive):
        """derive(self), computed once for the data as it is (`update` forgets it) and kept
        under derive's name: for values derived from the data alone, such as the cells
        `table.fixed_cells` gives."""
        memo, name = self._memo, derive.__name__
        if name not in memo:
            if self._data is None:
                self.data  # unpacking it also gives back what was derived from it
            if name not in memo:
                memo[name] = derive(self)
        return memo[name]

    def derived(self, *derives):
        """For the scan cache: the parsed TIME_FIELDS and memo(derive) of each of `derives`,
        by name, in a dict that marshal stores and `Task(data, derived)` takes back."""
        out = {f: self._time(f) for f in TIME_FIELDS}
        for derive in derives:
            out[derive.__name__] = self.memo(derive)
        return out

    def glance(self, *derives):
        """For the scan cache: what a `status` reads of every task, not only of the rows it
        shows (the status, when it was created and finished, and memo(derive) of each of
        `derives`), kept apart from the rest so that loading the cache does not unpack every
        task file's contents."""
        out = {"status_word": self.data["status"], "created_at": self._time("created_at"),
               "finished_at": self._time("finished_at")}
        for derive in derives:
            out[derive.__name__] = self.memo(derive)
        return out

    def packed(self, *derives):
        """For the scan cache: (data, derived(*derives)) in marshal's format; kept while the
        task is unchanged, so a cache written again does not pack it again."""
        if self._packed is None:
            data = self.data
            # The values alone when the keys are FIELDS' in order, as they are unless the file
            # holds keys of a newer version: the names need not be stored 10,000 times
            values = tuple(data.values()) if tuple(data) == _NAMES else data
            self._packed = marshal.dumps((values, self.derived(*derives)))
        return self._packed

    def _time(self, field):
        memo = self._memo
        if field not in memo:
            value = parse_iso(self.data[field])  # unpacking the data may set it
            memo.setdefault(field, value)
        return memo[field]

    @property
    def state(self):
        memo = self._memo
        if "status" not in memo:
            memo["status"] = _STATUS[memo.get("status_word") or self.data["status"]]
        return memo["status"]

    @property
    def is_final(self):
        return self.state in FINAL

    def created(self):
        return self._time("created_at") or 0.0

    def started(self):
        return self._time("started_at")

    def finished(self):
        return self._time("finished_at")

    def ready_at(self):
        return self._time("not_before") or 0.0

    def run_id(self):
        """Names this run's processes (process.spawn's run_id): the task and its attempt."""
        return f"{self.data['id']}.{self.data['attempt']}"

    def deadline(self):
        """When a running task times out, or None."""
        started, timeout = self.started(), self.data["timeout"]
        if started is None or not timeout:
            return None
        return started + float(timeout)

    def short_id(self):
        """The id's random part, which names its branch."""
        return self.data["id"][19:]

    def order_key(self):
        """Queue order: higher priority first, then older first; the id breaks ties."""
        return (-int(self.data["priority"] or 0), self.data["created_at"] or "", self.data["id"])
