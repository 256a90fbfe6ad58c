"""Pure decisions about running tasks, from what can be observed of them. No I/O.

The same rules serve a supervisor watching its own children, a supervisor adopting the
children of a dead one, and `status`/`wait` settling tasks when no supervisor is alive.
"""

from orchestra.task import LIMIT, TIMEOUT, VERIFY, Status, outcome

# How long an agent may keep running after writing .done or .error before its tree is
# killed: some CLIs finish their work and then never exit.
SENTINEL_GRACE = 10.0


class Facts:
    """What is known about a running task's process and files at one moment."""

    __slots__ = ("exited", "exit_code", "done", "error", "cancelled", "timed_out", "sentinel_at",
                 "ended_at", "verdict")

    def __init__(self, *, exited, exit_code=None, done=False, error=None, cancelled=False,
                 timed_out=False, sentinel_at=None, ended_at=None, verdict=None):
        self.exited = exited            # the process is known to have ended
        self.exit_code = exit_code      # its status when known
        self.done = done                # .done exists
        self.error = error              # message of .error, or None
        self.cancelled = cancelled      # .cancelled exists (a `cancel` got half-way)
        self.timed_out = timed_out      # .timeout exists (a timeout kill got half-way)
        self.sentinel_at = sentinel_at  # mtime of .done/.error
        self.ended_at = ended_at        # when the process ended, if seen later (.exit mtime)
        self.verdict = verdict          # what its output said (verdict.Verdict), if read


class Decision:
    __slots__ = ("status", "reason", "error", "exit_code", "kill", "record", "ended_at",
                 "verdict", "reset_at", "verify")

    def __init__(self, status, reason, error, exit_code, kill=False, record=None, ended_at=None,
                 verdict=None, reset_at=None, verify=False):
        self.status = status
        self.reason = reason
        self.error = error
        self.exit_code = exit_code
        self.kill = kill        # the process tree must be killed
        self.record = record    # sentinel to write before the task file ("timeout")
        self.ended_at = ended_at  # the true end time when the run ended unobserved
        self.verdict = verdict    # the agent's report, whose usage is recorded with the outcome
        self.reset_at = reset_at  # with reason LIMIT: when the limit lifts, if known
        self.verify = verify      # not an outcome yet: start the task's verification command

    def __repr__(self):
        return (f"Decision({self.status.value}, {self.reason}, kill={self.kill}, "
                f"record={self.record})")


def decide(task, facts, now, grace=SENTINEL_GRACE):
    """The transition a running task must make now, or None to leave it running."""
    alive = not facts.exited
    if facts.cancelled:
        return Decision(Status.CANCELLED, None, "cancelled", facts.exit_code, kill=alive)
    if facts.timed_out:
        return Decision(Status.FAILED, TIMEOUT, _timeout_message(task), facts.exit_code, kill=alive)
    if facts.exited and task.phase == VERIFY:
        if facts.exit_code == 0:
            return Decision(Status.COMPLETED, None, None, 0, ended_at=facts.ended_at)
        code = "no exit status" if facts.exit_code is None else f"exit code {facts.exit_code}"
        return Decision(Status.FAILED, VERIFY, f"verification `{task.verify}` failed ({code}); "
                        "its output is in the log", facts.exit_code, ended_at=facts.ended_at)
    if facts.exited:
        status, reason, message = outcome(task.completion, facts.exit_code, facts.done, facts.error)
        v = facts.verdict
        # The agent's output beats its exit code; the protocol files (.error, .done) beat both.
        said = facts.error is not None or (facts.done and task.completion != "exit")
        if v is not None and not said:
            from orchestra import verdict
            judged = verdict.judge(v, facts.exit_code, task.output)
            if judged is not None:
                reason, message = judged[1], judged[2]
                status = Status.PENDING if reason == LIMIT else Status.FAILED
        return Decision(status, reason, message, facts.exit_code, ended_at=facts.ended_at,
                        verdict=v, reset_at=v.reset_at if v is not None else None,
                        verify=status is Status.COMPLETED and bool(task.verify))
    deadline = task.deadline()
    if deadline is not None and now >= deadline:
        return Decision(Status.FAILED, TIMEOUT, _timeout_message(task), None, kill=True,
                        record="timeout")
    spoke = facts.error is not None or (facts.done and task.completion != "exit")
    if spoke and task.phase != VERIFY and facts.sentinel_at is not None \
            and now >= facts.sentinel_at + grace:
        status, reason, message = outcome(task.completion, 0, facts.done, facts.error)
        if status is Status.COMPLETED and task.verify:
            # Kill it, and judge it (and verify it) once it has exited.
            return Decision(None, None, None, None, kill=True)
        return Decision(status, reason, message, None, kill=True)
    return None


def _timeout_message(task):
    return f"timed out after {float(task.timeout):g}s"


def next_deadline(tasks):
    """The earliest time a running task times out, for the supervisor's sleep."""
    times = [t.deadline() for t in tasks if t.state is Status.RUNNING and t.deadline() is not None]
    return min(times) if times else None
