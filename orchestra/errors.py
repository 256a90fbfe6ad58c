"""The project's one error class and the exit-code table (documented in README)."""

OK = 0
FAILED = 1        # a task or operation failed
USAGE = 2         # usage or invalid input
TIMED_OUT = 124   # `wait --timeout` expired
INTERRUPTED = 130  # Ctrl-C where stopping is not the normal way out
# `run --wait` stopped following the queue, which goes on under a background supervisor:
# 128 + the signal, as a shell reports a death by it (a closed stdout counts as SIGPIPE).
HUNG_UP = 129
STDOUT_CLOSED = 141
TERMINATED = 143


class OrchestraError(Exception):
    """An expected failure: the CLI prints `orchestra: <message>` and exits with `code`."""

    def __init__(self, message, code=USAGE):
        super().__init__(message)
        self.message = message
        self.code = code


class NotFound(OrchestraError):
    def __init__(self, task_id):
        super().__init__(f"no task {task_id} (see `orchestra status --all` for the ids)", USAGE)


class Interrupted(KeyboardInterrupt):
    """Leaving the way Ctrl-C does, for another reason: a hang-up, a SIGTERM, a closed stdout.
    A KeyboardInterrupt, so that each place that hands over or cleans up on Ctrl-C does so for
    these too."""

    def __init__(self, why, code):
        super().__init__(why)
        self.why = why
        self.code = code


def interruption(e):
    """(what happened, exit code) of a KeyboardInterrupt."""
    if isinstance(e, Interrupted):
        return e.why, e.code
    return "interrupted", INTERRUPTED
