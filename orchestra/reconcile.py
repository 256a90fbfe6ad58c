"""Pure decisions about running tasks, from what can be observed of them. No I/O.

The same rules serve a supervisor watching its own children, a supervisor adopting the
children of a dead one, and `status`/`wait` settling tasks when no supervisor is alive.
"""

from orchestra.task import EXIT, LIMIT, NO_RESULT, TIMEOUT, VERIFY, Status
from orchestra.transitions import Outcome, outcome

# How long an agent may keep running after writing .done or .error before its tree is
# killed: some CLIs finish their work and then never exit.
SENTINEL_GRACE = 10.0
# A usage limit that lifts sooner than this is waited out by the agent CLI itself (the
# `limit_grace` setting); a later one ends the run, which resumes once the limit lifts.
LIMIT_GRACE = 60.0


class Facts:
    """What is known about a running task's process and files at one moment."""

    __slots__ = ("exited", "exit_code", "done", "error", "error_reason", "cancelled", "timed_out",
                 "limited", "limit", "reset_at", "sentinel_at", "ended_at", "verdict",
                 "limit_for", "tree_alive", "elapsed", "last_words")

    def __init__(self, *, exited, exit_code=None, done=False, error=None, error_reason=None,
                 cancelled=False, timed_out=False, limited=False, limit=None, reset_at=None,
                 limit_for=0.0, sentinel_at=None, ended_at=None, verdict=None, tree_alive=None, elapsed=None,
                 last_words=None):
        self.exited = exited            # the task's own process is known to have ended
        self.exit_code = exit_code      # its status when known
        self.done = done                # .done exists
        self.error = error              # message of .error, or None
        self.error_reason = error_reason  # `setup`: orchestra wrote .error, for worktree_setup
        self.cancelled = cancelled      # .cancelled exists: a kill was decided for a cancel
        self.timed_out = timed_out      # .timeout exists: a kill was decided for a timeout
        self.limited = limited          # .limit exists: a kill was decided for a usage limit
        self.limit = limit              # the limit its live output says it waits on, or None
        self.reset_at = reset_at        # when that limit lifts (or the .limit mark's), if known
        self.limit_for = limit_for      # seconds its output has kept on saying it is limited
        self.sentinel_at = sentinel_at  # mtime of .done/.error
        self.ended_at = ended_at        # when the process ended, if seen later (.exit mtime)
        self.verdict = verdict          # what its output said (verdict.Verdict), if read
        # Some process of the run still lives (its own, or one it started, wherever that
        # moved); None: the same as not exited.
        self.tree_alive = (not exited) if tree_alive is None else tree_alive
        self.elapsed = elapsed          # seconds it has run, on a monotonic clock when known
        # The last meaningful line of its output, or a function that reads it: only a run
        # judged by its exit code alone needs it, and most runs say their outcome.
        self.last_words = last_words


class Decision:
    __slots__ = ("outcome", "kill", "record", "ended_at", "verdict", "reset_at", "verify")

    def __init__(self, outcome=None, kill=False, record=None, ended_at=None, verdict=None,
                 reset_at=None, verify=False):
        self.outcome = outcome  # how the run ended; None: not yet (kill it, judge it once gone)
        self.kill = kill        # the process tree must be killed
        self.record = record    # a sentinel to write first, so the kill outlives its killer
        self.ended_at = ended_at  # the true end time when the run ended unobserved
        self.verdict = verdict    # the agent's report, whose usage is recorded with the outcome
        self.reset_at = reset_at  # with reason LIMIT: when the limit lifts, if known
        self.verify = verify      # not an outcome yet: start the task's verification command

    @property
    def status(self):
        return self.outcome.status if self.outcome is not None else None

    @property
    def reason(self):
        return self.outcome.reason if self.outcome is not None else None

    @property
    def error(self):
        return self.outcome.error if self.outcome is not None else None

    def __repr__(self):
        return f"Decision({self.outcome!r}, kill={self.kill}, record={self.record})"


KILL = Decision(kill=True)


def decide(task, facts, now, grace=SENTINEL_GRACE, limit_grace=LIMIT_GRACE):
    """The transition a running task must make now, or None to leave it running.

    No outcome is final while a process of the run lives: a decided kill (a cancel, a
    timeout, a usage limit) is recorded as a sentinel and the outcome follows once the tree
    is gone, with what the run's output said (session, tokens)."""
    v = facts.verdict
    if facts.cancelled:
        return KILL if facts.tree_alive else Decision(
            Outcome(Status.CANCELLED, None, "cancelled", facts.exit_code), verdict=v)
    if facts.timed_out:
        return KILL if facts.tree_alive else Decision(
            Outcome(Status.FAILED, TIMEOUT, _timeout_message(task), facts.exit_code), verdict=v)
    # The protocol files (.error, .done) beat the agent's output, and that beats its exit code.
    spoke = facts.error is not None or (facts.done and task.completion != "exit")
    if facts.limited and facts.tree_alive:
        return KILL
    if facts.limited and not spoke:
        said = v is not None and v.limited
        return Decision(Outcome(Status.PENDING, LIMIT, v.message if said else
                                "a usage limit stopped the run", facts.exit_code),
                        ended_at=facts.ended_at, verdict=v,
                        reset_at=v.reset_at if said and v.reset_at else facts.reset_at)
    if facts.exited and facts.tree_alive:
        return KILL  # it left processes behind: they go before the run is judged
    if facts.exited and task.phase == VERIFY:
        if facts.exit_code == 0:
            return Decision(Outcome(Status.COMPLETED, None, None, 0), ended_at=facts.ended_at)
        code = "no exit status" if facts.exit_code is None else f"exit code {facts.exit_code}"
        return Decision(Outcome(Status.FAILED, VERIFY, f"verification `{task.verify}` failed "
                                f"({code}); its output is in the log", facts.exit_code),
                        ended_at=facts.ended_at)
    if facts.exited:
        result = outcome(task.completion, facts.exit_code, facts.done, facts.error,
                         facts.error_reason)
        if v is not None and not spoke:
            from orchestra import verdict
            judged = verdict.judge(v, facts.exit_code, task.output)
            if judged is not None:
                status = Status.PENDING if judged[1] == LIMIT else Status.FAILED
                result = Outcome(status, judged[1], judged[2], facts.exit_code)
        if result.reason in (EXIT, NO_RESULT):
            # Only an exit code to go on: what the agent said last tells why.
            words = facts.last_words() if callable(facts.last_words) else facts.last_words
            if words:
                result = Outcome(result.status, result.reason, f"{result.error}: {words}",
                                 result.exit_code)
        return Decision(result, ended_at=facts.ended_at, verdict=v,
                        reset_at=v.reset_at if v is not None else None,
                        verify=result.status is Status.COMPLETED and bool(task.verify))
    if facts.limit is not None and not spoke and task.phase != VERIFY:
        # A limit the CLI sleeps on holds a slot: past the grace the run ends, parked. So
        # does one it retries over and over, each wait short, for longer than the grace.
        if (facts.reset_at is not None and facts.reset_at - now > limit_grace) \
                or facts.limit_for >= limit_grace:
            return Decision(kill=True, record="limit", reset_at=facts.reset_at)
        if _timed_out(task, facts, now):  # it timed out waiting on the limit, not working
            return Decision(kill=True, record="limit", reset_at=facts.reset_at)
    if _timed_out(task, facts, now):
        return Decision(kill=True, record="timeout")
    if spoke and task.phase != VERIFY and facts.sentinel_at is not None \
            and now >= facts.sentinel_at + grace:
        return KILL  # it reported and did not exit: judged by its sentinel once gone
    return None


def _timed_out(task, facts, now):
    timeout = task.timeout
    if not timeout:
        return False
    if facts.elapsed is not None:
        return facts.elapsed >= float(timeout)
    deadline = task.deadline()
    return deadline is not None and now >= deadline


def _timeout_message(task):
    return f"timed out after {float(task.timeout):g}s"

