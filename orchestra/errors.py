"""The project's one error class and the exit-code table (documented in README)."""

OK = 0
FAILED = 1        # a task or operation failed
USAGE = 2         # usage or invalid input
TIMED_OUT = 124   # `wait --timeout` expired
INTERRUPTED = 130  # Ctrl-C where stopping is not the normal way out


class OrchestraError(Exception):
    """An expected failure: the CLI prints `orchestra: <message>` and exits with `code`."""

    def __init__(self, message, code=USAGE):
        super().__init__(message)
        self.message = message
        self.code = code


class NotFound(OrchestraError):
    def __init__(self, task_id):
        super().__init__(f"no task {task_id} (see `orchestra status --all` for the ids)", USAGE)
