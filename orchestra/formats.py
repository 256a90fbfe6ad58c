"""How each agent's output format reads: one handler a format, fed the events (JSON formats)
or lines (Aider's text) of a run, noting on the run what they say. StreamParser (verdict.py)
feeds them. Pure."""

import json
import re

from orchestra import limits

MESSAGE_MAX = 500
_TOP_OBJECT = re.compile(r"^\{", re.M)
# Aider prints an API error as litellm's exception text, wrapped at 80 columns, then either
# "Retrying in 0.2 seconds..." or nothing more (it gave up, and exits 0 all the same).
_AIDER_ERROR = re.compile(r"litellm\.\w+(?:Error|Exception)\b")
_AIDER_RETRY = re.compile(r"Retrying in \d")
_AIDER_TOKENS = re.compile(r"^Tokens: ([\d.]+[kM]?) sent\b.*?, ([\d.]+[kM]?) received\.")
_AIDER_COST = re.compile(r"\bCost: \$([\d.]+) message, \$([\d.]+) session\.")



def json_error(line):
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


def aider(run, line):
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
        elif text.startswith("[API Error: ") and text.partition("\n")[0].endswith("]"):
            # Qwen Code 0.15 ends a run the API refused so, as a success, and exits 0; on a
            # 429 a hint of its own ("Possible quota limitations…") follows on the next line.
            parser._fail(run, text.partition("\n")[0][1:-1])


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


_OPENCODE_SESSION = re.compile(r"\bsession\.id=(ses_\w+)")


def opencode_log(run, line):
    """A line of OpenCode's own log (--print-logs, on stderr). A 429 it sleeps on can come
    before any JSON event, and then only its log names the session that a resume needs."""
    if run.session_id is None and "session.id=" in line:
        m = _OPENCODE_SESSION.search(line)
        if m:
            _session(run, m.group(1))


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
            message = json_error(message) or message
        parser._fail(run, message or "error", d.get("code"))
    run.has_result = "response" in obj or err is not None


def _gemini_stream(parser, run, ev):
    """Gemini CLI's stream-json: the session named in its first event (so a run ended on a
    limit can be resumed), the totals and any error in its `result`. The session counts once
    the model has answered in it: Gemini CLI saves none before, and `--resume` of one stopped
    at its first request fails ("No previous sessions found"), where a fresh run would not."""
    kind = ev.get("type")
    if kind == "init":
        run.named_session = ev.get("session_id")
    elif kind == "tool_use" or (kind == "message" and ev.get("role") == "assistant"):
        _session(run, run.named_session)
    if kind != "result":
        return
    run.has_result = True
    stats = _dict(ev.get("stats"))
    run.tokens_in = _sum(stats, "input_tokens")  # cached ones included
    run.tokens_out = _sum(stats, "output_tokens")
    if ev.get("status") != "success":
        err = _dict(ev.get("error"))
        message = _text(err.get("message")) or _text(err.get("type"))
        inner = message.strip()
        if inner.startswith("[API Error: ") and inner.endswith("]"):
            inner = inner[len("[API Error: "):-1]  # the API's own error body, passed on as it came
        if inner.startswith("{"):
            message = json_error(inner) or message
        parser._fail(run, message or "error", err.get("code"))


def _copilot(parser, run, ev):
    """Copilot CLI's `--output-format json` (1.0.102): JSON Lines of its session's events,
    ending with a `result` that names the session (`sessionId`, for `--resume`) and the exit
    code. An API error it gave up on is a `session.error` (with the HTTP status: 429 for a
    limit) before it. Its `usage` holds premium requests, durations and line counts, no
    tokens. Its source emits `assistant.usage` events (inputTokens, outputTokens) that it did
    not write against a provider of one's own; where they come, the tokens are their sums."""
    kind, data = ev.get("type"), _dict(ev.get("data"))
    if kind == "session.error":
        parser._fail(run, _text(data.get("message")).strip() or _text(data.get("errorType"))
                     or "error", data.get("statusCode"))
    elif kind == "assistant.usage":  # one a model call: the run's totals are their sums
        run.tokens_in = _add(run.tokens_in, _sum(data, "inputTokens"))
        run.tokens_out = _add(run.tokens_out, _sum(data, "outputTokens"))
    elif kind == "result":
        run.has_result = True
        _session(run, ev.get("sessionId"))
        code = ev.get("exitCode")
        if code == 0:  # errors before it were retried past
            run.failed, run.message = False, None
        elif not run.failed:
            parser._fail(run, f"exit code {code}" if _number(code) is not None else "failed")


HANDLERS = {"claude-json": _claude, "claude-stream-json": _claude, "cursor-stream-json": _claude,
             "codex-jsonl": _codex, "opencode-jsonl": _opencode, "gemini-json": _gemini,
             "gemini-stream-json": _gemini_stream,
             "copilot-jsonl": _copilot}
LOG_LINES = {"opencode-jsonl": opencode_log}  # readers of the lines that are not JSON
WANTED = {"claude-json": lambda o: o.get("type") == "result",
           "gemini-json": lambda o: any(k in o for k in ("response", "error", "stats", "session_id"))}


def last_object(text, wanted):
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
