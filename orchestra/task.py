"""The task model: fields, statuses, ids and the pure rules for how a run ends. No I/O."""

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

# What an agent's output may be read as (verdict.FORMATS; kept here so task files validate
# without importing the parser).
OUTPUT_FORMATS = ("claude-json", "claude-stream-json", "codex-jsonl", "gemini-json",
                  "opencode-jsonl", "cursor-stream-json", "text")
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
    "limits": 0, "verify": None, "phase": None,
    # Isolation (worktree.py): `base` is the commit the branch starts from, `base_branch` the
    # branch it is to be merged into; `changes` is [files, lines added, lines removed] of
    # base..head; `merged` when it was merged into `merged_into`.
    "isolation": None, "base": None, "base_branch": None, "subdir": "", "worktree": None,
    "branch": None, "head": None, "changes": None, "merged": None, "merged_into": None,
}


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
    changes = d["changes"]
    if not (isinstance(changes, list) and len(changes) == 3
            and all(_number(n, _COUNT_MAX, whole=True) is not None for n in changes)):
        d["changes"] = None
    if type(d["exit_code"]) is not int or not -_INT32 <= d["exit_code"] < _INT32:
        d["exit_code"] = None
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


class Task:
    """A task file's contents with typed access; `to_dict` gives back exactly what is stored."""

    __slots__ = ("data", "_memo")

    def __init__(self, data, derived=None):
        """`derived`: what `derived()` gave for this data, as the scan cache keeps it."""
        self.data = data
        self._memo = {} if derived is None else derived  # values computed from `data` alone

    @classmethod
    def new(cls, task_id, agent, prompt, now, *, priority=0, timeout=None, max_retries=0,
            completion="either", cwd=None, depends_on=(), output=None, verify=None,
            isolation=None):
        """`isolation`: None, or worktree.Isolation for a task with a worktree of its own."""
        data = dict(FIELDS)
        data.update(id=task_id, agent=agent, prompt=prompt, priority=priority, timeout=timeout,
                    max_retries=max_retries, completion=completion, cwd=cwd, created_at=iso(now),
                    depends_on=list(depends_on), output=output, verify=verify,
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
            memo[name] = derive(self)
        return memo[name]

    def derived(self, *derives):
        """For the scan cache: the parsed TIME_FIELDS and memo(derive) of each of `derives`,
        by name, in a dict that marshal stores and `Task(data, derived)` takes back."""
        out = {f: self._time(f) for f in TIME_FIELDS}
        for derive in derives:
            out[derive.__name__] = self.memo(derive)
        return out

    def _time(self, field):
        memo = self._memo
        if field not in memo:
            memo[field] = parse_iso(self.data[field])
        return memo[field]

    @property
    def state(self):
        memo = self._memo
        if "status" not in memo:
            memo["status"] = _STATUS[self.data["status"]]
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


class Outcome:
    """How a run ended: its status, with the reason, message and exit code recorded with it."""

    __slots__ = ("status", "reason", "error", "exit_code")

    def __init__(self, status, reason=None, error=None, exit_code=None):
        self.status, self.reason, self.error, self.exit_code = status, reason, error, exit_code

    def __eq__(self, other):
        return isinstance(other, Outcome) and all(
            getattr(self, k) == getattr(other, k) for k in self.__slots__)

    def __repr__(self):
        return f"Outcome({self.status.value}, {self.reason!r}, {self.error!r}, {self.exit_code!r})"


def outcome(completion, exit_code, done, error, error_reason=None):
    """How a run ended, from what it left behind.

    `done`: the agent wrote `.done`; `error`: the message of its `.error`, or None, and
    `error_reason` the reason it names (`setup`), if any.
    `exit_code` None means the process vanished without a recorded exit status.
    """
    if error is not None:
        return Outcome(Status.FAILED, error_reason or ERROR, error, exit_code)
    if done and completion != "exit":
        return Outcome(Status.COMPLETED, None, None, exit_code)
    if exit_code is None:
        return Outcome(Status.FAILED, LOST,
                       "the process ended without a recorded exit status or sentinel")
    if completion == "sentinel":
        return Outcome(Status.FAILED, EXIT, f"exited with code {exit_code} without writing .done",
                       exit_code)
    if exit_code == 0:
        return Outcome(Status.COMPLETED, None, None, 0)
    return Outcome(Status.FAILED, EXIT, f"exited with code {exit_code}", exit_code)


def backoff(attempt, base=2.0, cap=BACKOFF_CAP):
    try:
        return min(cap, base ** max(1, attempt))
    except OverflowError:  # float ** raises past ~1e308 (attempt 1024 at base 2)
        return cap


# -- the transitions: each takes the task as it is and gives the task it becomes. Store.transition
# applies them under the lock, to the task as re-read there.


def finish(task, *, outcome, now, retry_backoff=(2.0, BACKOFF_CAP)):
    """The task after its run ended: final, or pending again when it has automatic retries left,
    `retry_backoff` = (base, cap): the n-th retry waits min(cap, base ** n) seconds.

    Doing both in one step is what makes a failure cause exactly one retry.
    """
    t = task.copy()
    t.update(status=outcome.status.value, reason=outcome.reason, error=outcome.error,
             exit_code=outcome.exit_code, finished_at=iso(now), phase=None)
    d = t.data
    if (outcome.status is Status.FAILED and outcome.reason not in NOT_RETRIED
            and int(d["retries"] or 0) < int(d["max_retries"] or 0)):
        t.update(status=Status.PENDING.value, retries=int(d["retries"] or 0) + 1,
                 not_before=iso(now + backoff(int(d["attempt"] or 1), *retry_backoff)))
    return t


def limited(task, *, message, reset_at, now, base=300.0, cap=6 * 3600.0):
    """The task after a usage limit stopped its run: pending again, not before the limit lifts
    (`reset_at`, or a doubling guess from 5 minutes when the agent gave no time), without
    using up a retry."""
    t = task.copy()
    hits = int(t.data["limits"] or 0) + 1
    until = reset_at if reset_at and reset_at > now else now + min(cap, base * 2 ** (hits - 1))
    t.update(status=Status.PENDING.value, reason=LIMIT, error=message, finished_at=iso(now),
             not_before=iso(until), limits=hits, phase=None)
    return t


def held(task, *, message, now, wait=2.0):
    """A pending task whose launch must wait for the agent config to be readable and valid
    again: still pending, with why, tried again in `wait` seconds. Uses no retry."""
    t = task.copy()
    t.update(reason=CONFIG, error=message, not_before=iso(now + wait))
    return t


def with_usage(task, *, verdict):
    """The task with what the agent reported of this run: its session id, and tokens and cost
    added to those of earlier attempts."""
    if verdict is None:
        return task
    t = task.copy()
    d = t.data
    changes = {}
    if verdict.session_id:
        changes["session_id"] = verdict.session_id
    for key in ("tokens_in", "tokens_out", "cost_usd"):
        value = getattr(verdict, key)
        if value is not None:
            changes[key] = (d[key] or 0) + value
    if changes:
        t.update(**changes)
    return t


def verifying(task, *, pid, pid_start):
    """The task once the agent reported success and its verification command started."""
    t = task.copy()
    t.update(phase=VERIFY, pid=pid, pid_start=pid_start)
    return t


def launched(task, *, pid, pid_start, now):
    t = task.copy()
    t.update(status=Status.RUNNING.value, phase=None, attempt=int(t.data["attempt"] or 0) + 1,
             pid=pid, pid_start=pid_start, started_at=iso(now), finished_at=None,
             not_before=None, exit_code=None, reason=None, error=None)
    return t


def launch_failed(task, *, error, now, reason=LAUNCH, retry_backoff=(2.0, BACKOFF_CAP)):
    """A launch that could not start its process: a run of its own that failed (reason
    `launch`, never retried; `setup` or `merge` for its worktree)."""
    return finish(launched(task, pid=None, pid_start=None, now=now),
                  outcome=Outcome(Status.FAILED, reason, error), now=now,
                  retry_backoff=retry_backoff)


def cancelled(task, *, now):
    """A pending task cancelled, or a running one once its processes are gone."""
    t = task.copy()
    t.update(status=Status.CANCELLED.value, reason=None, error="cancelled", exit_code=None,
             finished_at=iso(now), not_before=None, phase=None)
    return t


def requeued(task):
    """A failed or cancelled task queued again by hand: a fresh budget of automatic retries."""
    t = task.copy()
    t.update(status=Status.PENDING.value, retries=0, not_before=None, reason=None,
             error=None, exit_code=None, finished_at=None, pid=None, pid_start=None)
    return t


def retimed(task, *, timeout):
    """The task with a new timeout (None: none), counted from its start."""
    t = task.copy()
    t.update(timeout=timeout)
    return t


def placed(task, *, worktree, branch, base):
    """A pending isolated task with the worktree and branch it is to run in (before they are
    made: a launch that dies half-way leaves a record of what to reuse or clean)."""
    t = task.copy()
    t.update(worktree=worktree, branch=branch, base=base)
    return t


def with_work(task, *, head, changes):
    """The task with its branch's head and `changes` ([files, added, removed]) since its base,
    as committed when a run ended."""
    t = task.copy()
    t.update(head=head, changes=list(changes))
    return t


def merged(task, *, into, now):
    t = task.copy()
    t.update(merged=iso(now), merged_into=into)
    return t


def retired(task):
    """The task once its worktree is removed, its work committed on its branch, which stays
    (a retry makes the worktree again on it)."""
    t = task.copy()
    t.update(worktree=None)
    return t


def unplaced(task):
    """The task once its worktree is gone and its branch deleted (merged, or discarded)."""
    t = task.copy()
    t.update(worktree=None, branch=None)
    return t
