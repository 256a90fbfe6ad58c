"""What an agent's own output says about its run: its verdict, session id, tokens, cost and
usage limits, read from the task's log in the output format the agent names. Pure: no I/O,
the clock passed in. The limit texts and reset times are in limits.py."""

import json
import re
from collections import deque

from orchestra import limits

STRUCTURED = ("claude-json", "claude-stream-json", "codex-jsonl", "gemini-json", "opencode-jsonl",
              "cursor-stream-json")
FORMATS = STRUCTURED + ("aider-text", "text")
HEADER = "=== orchestra:"  # the line orchestra writes into the log before each attempt
LIMITED, LIMIT, AGENT_ERROR, NO_RESULT = "limited", "limit", "agent_error", "no_result"

# A limit in a plain-text log counts only among its last lines: a limit the agent met and
# retried past earlier (aider retries litellm's RateLimitError itself) did not stop the run.
TEXT_TAIL = 30
MESSAGE_MAX = 500
# No agent CLI emits a record this long: a longer line is dropped unread rather than held.
LINE_MAX = 1 << 20
SINGLE_MAX = 8 << 20  # the last characters of a single-JSON format's output that are kept
_SINGLE = ("claude-json", "gemini-json")  # one JSON object at the end, maybe pretty-printed
_NOT_NOISE = tuple('{}[]" \t')  # lines that belong to JSON, not to an agent's stderr
_TOP_OBJECT = re.compile(r"^\{", re.M)
# Aider prints an API error as litellm's exception text, wrapped at 80 columns, then either
# "Retrying in 0.2 seconds..." or nothing more (it gave up, and exits 0 all the same).
_AIDER_ERROR = re.compile(r"litellm\.\w+(?:Error|Exception)\b")
_AIDER_RETRY = re.compile(r"Retrying in \d")
_AIDER_TOKENS = re.compile(r"^Tokens: ([\d.]+[kM]?) sent\b.*?, ([\d.]+[kM]?) received\.")
_AIDER_COST = re.compile(r"\bCost: \$([\d.]+) message, \$([\d.]+) session\.")


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


WORDS_MAX = 300  # the most of an agent's last line that goes into a task's error
_ESCAPES = re.compile(r"\x1b(?:\[[0-9;:?<=>]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?")
_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f]")
_LETTER = re.compile(r"[^\W\d_]")


def last_words(text):
    """The last meaningful line the agent wrote in the last attempt of a log's `text`, made safe
    to show and cut to WORDS_MAX; None when it said nothing. Skipped: blank lines, orchestra's
    own `===`/`---` lines, JSON that reports no error, and lines with no letter (progress bars,
    spinners); a line redrawn with carriage returns counts as what it shows last."""
    start = text.rfind("\n" + HEADER)
    if start >= 0:
        text = text[start + 1:]
    for raw in reversed(text.split("\n")):
        line = _ESCAPES.sub("", raw.rstrip("\r").rpartition("\r")[2]).strip()
        if line.startswith(("===", "---")) or not _LETTER.search(line):
            continue
        if line.startswith(_NOT_NOISE):
            line = _json_error(line)
            if not line:
                continue
        line = _CONTROLS.sub("?", " ".join(line.split()))
        return line if len(line) <= WORDS_MAX else line[:WORDS_MAX - 1] + "…"
    return None


def _json_error(line):
    """The message of a one-line JSON error record, or None for any other JSON."""
    try:
        obj = json.loads(line)
    except (ValueError, RecursionError):
        return None
    if not isinstance(obj, dict):
        return None
    err = obj.get("error")
    if isinstance(err, dict):
        err = err.get("message") or _dict(err.get("data")).get("message")
    if not err and obj.get("type") == "error":
        err = obj.get("message")
    return err.strip() if isinstance(err, str) else None


class _Run:
    """What one attempt's output has shown so far."""

    def __init__(self):
        self.session_id = self.tokens_in = self.tokens_out = self.cost_usd = None
        self.has_result = self.failed = False
        self.message = None     # the agent's failure message
        self.limit = None       # the text of the last limit signal
        self.reset_at = None    # the last reset time a signal gave
        self.lines = 0          # non-blank lines seen
        self.limit_line = None  # the number of the last of them that held a limit
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

    def __init__(self, fmt, now_fn, limit_patterns=()):
        if fmt not in FORMATS:
            raise ValueError(f"unknown output format {fmt!r}; known: {', '.join(FORMATS)}")
        self.fmt = fmt
        self._now = now_fn
        self._extra = limits.compile_patterns(limit_patterns)
        self._event = _HANDLERS.get(fmt)
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
                obj = _last_object("\n".join(run.buf), _WANTED[self.fmt])
                if obj is not None:
                    self._handle(run, obj)
            self._memo = self._finish(run)
        return self._memo

    def waiting(self):
        """(text, reset_at) of the usage limit the agent waits on by its output so far, or None:
        its last limit signal is among its last TEXT_TAIL lines, and no result since said the
        run went well. For the supervisor, while the agent runs: some CLIs sleep on a limit."""
        run = self._run
        if (run.limit_line is None or run.lines - run.limit_line >= TEXT_TAIL
                or (run.has_result and not run.failed)):
            return None
        return run.limit, run.reset_at

    def _line(self, run, line, maybe_limit=True):
        """One line of output; `maybe_limit` False when it cannot hold a limit text."""
        if len(line) > LINE_MAX:
            return
        line = line.rstrip("\r")
        if line.startswith(HEADER):
            run.__init__()
            return
        if self.fmt == "aider-text":
            _aider(run, line)
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
        if maybe_limit and line and not line.startswith(_NOT_NOISE):
            self._signal(run, line)  # the agent's stderr: warnings, and limits it gave up on

    def _handle(self, run, event):
        try:
            self._event(self, run, event)
        except RecursionError:  # a message deep in nested lists, turned into text: not one
            pass

    def _signal(self, run, text, loose=False, hit=False):
        """Note a limit if `text` reports one (or `hit` says it is one); whether it did."""
        if not (hit or limits.is_limit(text, self._extra, loose)):
            return False
        run.limit, run.limit_line = text.strip(), run.lines
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


def _aider(run, line):
    """One line of Aider's plain-text output: its usage reports and its API errors. An error
    runs on over the wrapped lines that follow it, up to a blank line."""
    text = line.strip()
    m = _AIDER_ERROR.search(text)
    if m and text.startswith(m.group(0)):
        run.error, run.error_open = text, True
    elif _AIDER_RETRY.match(text):
        run.error, run.error_open = None, False  # retried: a later line tells how that went
    elif run.error_open:
        run.error_open = bool(text) and len(run.error) < MESSAGE_MAX
        if text:
            run.error += " " + text
    m = _AIDER_TOKENS.match(text)
    if m:  # one report a model call: the run's totals are their sums
        run.error, run.error_open = None, False  # an answer came after it
        run.tokens_in = _add(run.tokens_in, _aider_count(m.group(1)))
        run.tokens_out = _add(run.tokens_out, _aider_count(m.group(2)))
    m = _AIDER_COST.search(text)
    if m:
        run.cost_usd = float(m.group(2))  # the session's cost so far


def _aider_count(text):
    """A count as Aider rounds it: 240, 6.2k, 12k, 1.5M."""
    scale = {"k": 1000, "M": 1000000}.get(text[-1], 1)
    try:
        return int(round(float(text.rstrip("kM")) * scale))
    except ValueError:
        return None


def _claude(parser, run, ev):
    """Claude's result object and stream events; Cursor's stream-json copies them."""
    _session(run, ev.get("session_id"))
    kind = ev.get("type")
    if kind == "rate_limit_event":
        info = _dict(ev.get("rate_limit_info"))
        if info.get("status") == "rejected":  # "allowed_warning" only warns
            run.limit = f"usage limit reached ({_text(info.get('rateLimitType')) or 'rate limit'})"
            run.limit_line = run.lines
            at = limits.epoch(info.get("resetsAt"))
            if at is not None:
                run.reset_at = at
    elif kind == "result":
        run.has_result = True
        usage = _dict(ev.get("usage"))
        # Claude counts cache reads and writes apart from input_tokens.
        run.tokens_in = _sum(usage, "input_tokens", "cache_creation_input_tokens",
                             "cache_read_input_tokens")
        run.tokens_out = _sum(usage, "output_tokens")
        run.cost_usd = _number(ev.get("total_cost_usd", ev.get("cost_usd")))
        text, subtype = _text(ev.get("result")).strip(), _text(ev.get("subtype"))
        if ev.get("is_error") is True or subtype.startswith("error"):
            errors = ev.get("errors")
            errors = "; ".join(map(str, errors)) if isinstance(errors, list) else ""
            said = _text(_dict(ev.get("error")).get("message"))  # Qwen Code's result
            parser._fail(run, text or said or errors or subtype or "error result",
                         ev.get("api_error_status"))
        elif limits.is_limit_answer(text):
            parser._fail(run, text)


def _codex(parser, run, ev):
    kind = ev.get("type")
    if kind == "thread.started":
        _session(run, ev.get("thread_id"))
    elif kind == "turn.completed":
        # Error events before it were retries (reconnecting, a 429 waited out): the turn won.
        run.has_result, run.failed, run.message = True, False, None
        usage = _dict(ev.get("usage"))
        run.tokens_in = _sum(usage, "input_tokens")  # cached_input_tokens are a part of it
        run.tokens_out = _sum(usage, "output_tokens")
    elif kind == "turn.failed":
        run.has_result = True
        parser._fail(run, _api_message(_text(_dict(ev.get("error")).get("message")))
                     or "turn failed")
    elif kind == "error":
        parser._fail(run, _api_message(_text(ev.get("message"))) or "error")


def _api_message(text):
    """Codex passes an API error's body on as it came, `{"error": {"message": ...}}` (after
    "unexpected status 400 Bad Request: " in some releases): the message it holds."""
    start = text.find("{")
    if start < 0:
        return text
    try:
        body = json.loads(text[start:])
    except (ValueError, RecursionError):
        return text
    message = _text(_dict(_dict(body).get("error")).get("message"))
    return text[:start] + message if message else text


def _opencode(parser, run, ev):
    _session(run, ev.get("sessionID"))
    kind, part = ev.get("type"), _dict(ev.get("part"))
    if kind == "step_start":
        run.has_result = False
    elif kind == "step_finish":  # one a model call: the run's totals are their sums
        tokens = _dict(part.get("tokens"))
        run.tokens_in = _add(run.tokens_in, _sum(tokens, "input"),
                             _sum(_dict(tokens.get("cache")), "read", "write"))
        run.tokens_out = _add(run.tokens_out, _sum(tokens, "output", "reasoning"))
        run.cost_usd = _add(run.cost_usd, _number(part.get("cost")))
        run.has_result = part.get("reason") not in ("tool-calls", "tool_calls")  # else more steps
    elif kind == "error":
        err = _dict(ev.get("error"))
        data = _dict(err.get("data"))
        message = _text(data.get("message")) or _text(err.get("message")) or _text(err.get("name"))
        parser._fail(run, message or "error", data.get("statusCode"))


def _gemini(parser, run, obj):
    _session(run, obj.get("session_id"))
    for model in _dict(_dict(obj.get("stats")).get("models")).values():
        tokens = _dict(_dict(model).get("tokens"))
        run.tokens_in = _add(run.tokens_in, _sum(tokens, "prompt"))  # cached ones included
        run.tokens_out = _add(run.tokens_out, _sum(tokens, "candidates", "thoughts"))
    err = obj.get("error")
    if err is not None:
        d = _dict(err)
        message = (_text(d.get("message")) or _text(d.get("type"))) if d else str(err)
        if message.startswith("{"):  # the API's own error body, passed on as it came
            message = _json_error(message) or message
        parser._fail(run, message or "error", d.get("code"))
    run.has_result = "response" in obj or err is not None


_HANDLERS = {"claude-json": _claude, "claude-stream-json": _claude, "cursor-stream-json": _claude,
             "codex-jsonl": _codex, "opencode-jsonl": _opencode, "gemini-json": _gemini}
_WANTED = {"claude-json": lambda o: o.get("type") == "result",
           "gemini-json": lambda o: any(k in o for k in ("response", "error", "stats", "session_id"))}


def _last_object(text, wanted):
    """The last top-level JSON object in `text` that `wanted` accepts. Top-level objects start
    a line (pretty-printed ones indent what is inside); stderr lines around them are skipped."""
    decode = json.JSONDecoder().raw_decode
    found, end = None, 0
    for m in _TOP_OBJECT.finditer(text):
        if m.start() < end:
            continue
        try:
            obj, end = decode(text, m.start())
        except (ValueError, RecursionError):
            continue
        if isinstance(obj, dict) and wanted(obj):
            found = obj
    return found


def _dict(v):
    return v if isinstance(v, dict) else {}


def _text(v):
    return v if isinstance(v, str) else ""


NUMBER_MAX = 1e15  # tokens or dollars past any run: json reads 1e400 as inf, and ints of any size


def _number(v):
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    return v if -NUMBER_MAX < v < NUMBER_MAX else None  # False for nan and inf


def _sum(d, *keys):
    """The sum of the numbers under `keys`, or None when there is none."""
    return _add(*(int(d[k]) for k in keys if _number(d.get(k)) is not None))


def _add(*values):
    values = [v for v in values if v is not None]
    return sum(values) if values else None


def _session(run, value):
    if isinstance(value, str) and value:
        run.session_id = value


def _short(text):
    return text if text is None or len(text) <= MESSAGE_MAX else text[:MESSAGE_MAX - 1] + "…"
