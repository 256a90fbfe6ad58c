"""What an agent's own output says about its run: its verdict, session id, tokens, cost and
usage limits, read from the task's log in the output format the agent names. Pure: no I/O,
the clock passed in. How each format reads is formats.py's; the limit texts and reset times
are in limits.py."""

import json
import time
from collections import deque

from orchestra import limits
from orchestra.formats import HANDLERS, LOG_LINES, MESSAGE_MAX, WANTED, aider, last_object

STRUCTURED = ("claude-json", "claude-stream-json", "codex-jsonl", "gemini-json",
              "gemini-stream-json", "opencode-jsonl", "cursor-stream-json", "copilot-jsonl")
FORMATS = STRUCTURED + ("aider-text", "text")
HEADER = "=== orchestra:"  # the line orchestra writes into the log before each attempt
LIMITED, LIMIT, AGENT_ERROR, NO_RESULT = "limited", "limit", "agent_error", "no_result"

# A limit in a plain-text log counts only among its last lines: a limit the agent met and
# retried past earlier (aider retries litellm's RateLimitError itself) did not stop the run.
TEXT_TAIL = 30
LIMIT_GAP = 120.0  # longer between two limit signals, and the second starts a fresh run of them
# No agent CLI emits a record this long: a longer line is dropped unread rather than held.
LINE_MAX = 1 << 20
SINGLE_MAX = 8 << 20  # the last characters of a single-JSON format's output that are kept
_SINGLE = ("claude-json", "gemini-json")  # one JSON object at the end, maybe pretty-printed
JSON_STARTS = tuple('{}[]" \t')  # lines that belong to JSON, not to an agent's stderr
class Verdict:
    """What the output says; see the module doc. Plain attributes."""

    def __init__(self, failed=False, message=None, limited=False, reset_at=None, session_id=None,
                 tokens_in=None, tokens_out=None, cost_usd=None, has_result=False):
        self.failed = failed            # the agent says the run failed
        self.message = message          # its message when failed or limited
        self.limited = limited          # a usage/rate limit stopped it
        self.reset_at = reset_at        # epoch seconds when the limit lifts, if known
        self.session_id = session_id
        self.tokens_in = tokens_in      # every input token, cached ones included
        self.tokens_out = tokens_out    # output tokens, reasoning included
        self.cost_usd = cost_usd
        self.has_result = has_result    # a final result record was seen (structured formats)

    def __eq__(self, other):
        return isinstance(other, Verdict) and vars(self) == vars(other)

    def __repr__(self):
        return "Verdict(" + ", ".join(f"{k}={v!r}" for k, v in vars(self).items()) + ")"


def parse(fmt, text, now, limit_patterns=()):
    """The verdict of the last attempt in a whole log's text."""
    parser = StreamParser(fmt, lambda: now, limit_patterns)
    start = text.rfind("\n" + HEADER)
    parser.feed(text if start < 0 else text[start + 1:])
    return parser.verdict()


def judge(verdict, exit_code, fmt):
    """(status, reason, message) for orchestra to record, or None to let the exit code and the
    sentinels decide. The agent's own word beats its exit code: agents exit 0 on errors."""
    if verdict.limited:
        return LIMITED, LIMIT, verdict.message or "a usage limit stopped the run"
    if verdict.failed:
        return "failed", AGENT_ERROR, verdict.message or "the agent reported an error"
    if fmt in STRUCTURED and exit_code == 0 and not verdict.has_result:
        return "failed", NO_RESULT, f"exited 0 without a final result in its {fmt} output"
    return None


class _Run:
    """What one attempt's output has shown so far."""

    def __init__(self):
        self.session_id = self.tokens_in = self.tokens_out = self.cost_usd = None
        self.named_session = None  # a session an agent named but may not have saved yet
        self.has_result = self.failed = False
        self.message = None     # the agent's failure message
        self.limit = None       # the text of the last limit signal
        self.reset_at = None    # the last reset time a signal gave
        self.lines = 0          # non-blank lines seen
        self.limit_line = None  # the number of the last of them that held a limit
        # When, on the parser's monotonic clock, the current run of limit signals began and
        # when its last came: a CLI retrying a limit over and over keeps them coming.
        self.limit_first = self.limit_last = None
        self.error = None       # the API error Aider printed last and has not retried (yet)
        self.error_open = False  # its wrapped lines may still follow
        self.buf = deque()      # the last lines of a single-JSON format, SINGLE_MAX at most
        self.buf_len = 0

    def copy(self):
        c = _Run.__new__(_Run)
        c.__dict__.update(self.__dict__)
        c.buf = deque(self.buf)
        return c

    def keep(self, line):
        self.buf.append(line)
        self.buf_len += len(line) + 1
        while self.buf_len > SINGLE_MAX:  # the object wanted is the last one
            self.buf_len -= len(self.buf.popleft()) + 1


class StreamParser:
    """The verdict of a log read as it grows: feed it chunks cut anywhere, even mid-line. Its
    state stays bounded whatever it is fed: a line past LINE_MAX is dropped, and a single-JSON
    format keeps only its last SINGLE_MAX characters."""

    def __init__(self, fmt, now_fn, limit_patterns=(), monotonic=time.monotonic):
        if fmt not in FORMATS:
            raise ValueError(f"unknown output format {fmt!r}; known: {', '.join(FORMATS)}")
        self.fmt = fmt
        self._now, self._monotonic = now_fn, monotonic
        self._extra = limits.compile_patterns(limit_patterns)
        self._event = HANDLERS.get(fmt)
        self._log = LOG_LINES.get(fmt)
        self._run = _Run()
        self._partial = []  # the chunks of the line not yet ended
        self._partial_len = 0
        self._skipping = False  # within a line past LINE_MAX, dropped up to its newline
        self._memo = None

    def feed(self, chunk):
        if not chunk:
            return
        self._memo = None
        if "\n" not in chunk:
            self._hold(chunk)
            return
        head, _, chunk = chunk.partition("\n")
        if not self._skipping:
            line = "".join(self._partial) + head
            self._line(self._run, line, bool(self._extra) or limits.mentioned(line))
        self._partial, self._partial_len, self._skipping = [], 0, False
        lines = chunk.split("\n")
        self._hold(lines.pop())
        # One look over the chunk spares most lines the limit patterns, the costly part.
        maybe = bool(self._extra) or limits.mentioned(chunk)
        for line in lines:
            self._line(self._run, line, maybe)

    def _hold(self, piece):
        if self._skipping or not piece:
            return
        self._partial.append(piece)
        self._partial_len += len(piece)
        if self._partial_len > LINE_MAX:
            self._partial, self._partial_len, self._skipping = [], 0, True

    def verdict(self):
        """The verdict so far; final once the process has ended and its output is all fed."""
        if self._memo is None:
            run = self._run.copy()
            if self._partial:
                self._line(run, "".join(self._partial))
            if self.fmt in _SINGLE:
                obj = last_object("\n".join(run.buf), WANTED[self.fmt])
                if obj is not None:
                    self._handle(run, obj)
            self._memo = self._finish(run)
        return self._memo

    def waiting(self):
        """(text, reset_at, for how long) of the usage limit the agent waits on by its output
        so far, or None: its last limit signal is among its last TEXT_TAIL lines, and no
        result since said the run went well. For the supervisor, while the agent runs: some
        CLIs sleep on a limit. `for how long`: seconds from the first to the last of the
        signals that came one after another, each within LIMIT_GAP of the one before (Gemini
        CLI says "Please retry in 15s" about 15 times before it gives up)."""
        run = self._run
        if (run.limit_line is None or run.lines - run.limit_line >= TEXT_TAIL
                or (run.has_result and not run.failed)):
            return None
        return run.limit, run.reset_at, run.limit_last - run.limit_first

    def _line(self, run, line, maybe_limit=True):
        """One line of output; `maybe_limit` False when it cannot hold a limit text."""
        if len(line) > LINE_MAX:
            return
        line = line.rstrip("\r")
        if line.startswith(HEADER):
            run.__init__()
            return
        if self.fmt == "aider-text":
            aider(run, line)
            return
        if self.fmt == "text":
            if line.strip():
                run.lines += 1
                if maybe_limit:
                    self._signal(run, line)
            return
        if line:
            run.lines += 1
        if self.fmt in _SINGLE:
            run.keep(line)
        elif line.startswith("{"):
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                event = None  # cut short, not JSON after all, or nested past the parser: skipped
            if isinstance(event, dict):
                self._handle(run, event)
                return
        if line and not line.startswith(JSON_STARTS):  # the agent's stderr
            if self._log is not None:
                self._log(run, line)
            if maybe_limit:
                self._signal(run, line)  # warnings, and limits it gave up on

    def _handle(self, run, event):
        try:
            self._event(self, run, event)
        except RecursionError:  # a message deep in nested lists, turned into text: not one
            pass

    def _signal(self, run, text, loose=False, hit=False):
        """Note a limit if `text` reports one (or `hit` says it is one); whether it did."""
        if not (hit or limits.is_limit(text, self._extra, loose)):
            return False
        seen = self._monotonic()
        if (run.limit_last is None or seen - run.limit_last > LIMIT_GAP
                or run.lines - run.limit_line >= TEXT_TAIL):
            run.limit_first = seen
        run.limit, run.limit_line, run.limit_last = text.strip(), run.lines, seen
        at = limits.reset_at(text, self._now())
        if at is not None:
            run.reset_at = at
        return True

    def _fail(self, run, message, code=None):
        run.failed, run.message = True, message
        self._signal(run, message, loose=True, hit=str(code) == "429")

    def _finish(self, run):
        if run.error is not None:
            self._fail(run, run.error)
        if self.fmt == "text":
            limited = run.limit_line is not None and run.limit_line > run.lines - TEXT_TAIL
        else:  # a limit the agent met but then finished anyway did not stop it
            limited = run.limit is not None and not (run.has_result and not run.failed)
        message = run.message if run.failed else run.limit if limited else None
        return Verdict(failed=run.failed, message=_short(message), limited=limited,
                       reset_at=run.reset_at if limited else None, session_id=run.session_id,
                       tokens_in=run.tokens_in, tokens_out=run.tokens_out,
                       cost_usd=None if run.cost_usd is None else float(run.cost_usd),
                       has_result=run.has_result)


def _short(text):
    return text if text is None or len(text) <= MESSAGE_MAX else text[:MESSAGE_MAX - 1] + "…"
