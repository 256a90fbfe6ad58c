"""An agent's JSON-lines output as a person reads it: one line for each assistant message, tool
call, tool result, error and result, for `logs` of the agents whose output streams (`--raw`
gives the JSON lines as they are). Lines that are not JSON (orchestra's headers, an agent's
stderr) pass unchanged. Pure: bytes in, bytes out."""

import json

LINE_MAX = 16 * 1024 * 1024  # the longest line held back to be rendered whole
STREAMING = ("claude-stream-json", "cursor-stream-json", "codex-jsonl", "opencode-jsonl",
             "gemini-stream-json", "copilot-jsonl")
_WIDTH = 240  # characters of a message or a tool's output shown on its line


class Marks:
    def __init__(self, unicode):
        self.say, self.tool, self.out, self.note, self.bad, self.ok, self.cut = (
            ("»", "⚙", "  ↳", "·", "✖", "✔", "…") if unicode
            else (">", "$", "  ->", "-", "x", "=", "~"))


def one_line(text, m, width=_WIDTH):
    flat = " ".join(str(text).split())
    return flat if len(flat) <= width else flat[:width - 1] + m.cut


def _tool_input(value, m):
    """The part of a tool call's input that says what it does: a command, a path, a pattern."""
    if not isinstance(value, dict):
        return one_line(value or "", m)
    for key in ("command", "cmd", "file_path", "filePath", "path", "pattern", "url", "query"):
        if isinstance(value.get(key), (str, list)):
            shown = value[key] if isinstance(value[key], str) else " ".join(map(str, value[key]))
            return one_line(shown, m)
    return one_line(json.dumps(value, ensure_ascii=False), m)


def _claude(o, m):
    kind = o.get("type")
    if kind == "system" and o.get("subtype") == "init":
        yield f"{m.note} session {o.get('session_id', '?')} ({o.get('model', '?')})"
    elif kind in ("assistant", "user"):
        content = (o.get("message") or {}).get("content") or []
        for part in content if isinstance(content, list) else ():
            if not isinstance(part, dict):
                continue
            if part.get("type") == "text" and kind == "assistant":
                yield f"{m.say} {one_line(part.get('text', ''), m)}"
            elif part.get("type") == "tool_use":
                yield f"{m.tool} {part.get('name', 'tool')} {_tool_input(part.get('input'), m)}"
            elif part.get("type") == "tool_result":
                result = part.get("content")
                if isinstance(result, list):
                    result = " ".join(p.get("text", "") for p in result if isinstance(p, dict))
                mark = m.bad if part.get("is_error") else m.out
                yield f"{mark} {one_line(result or '', m)}"
    elif kind == "rate_limit_event":
        info = o.get("rate_limit_info") or {}
        if info.get("status") not in (None, "allowed"):
            yield f"{m.note} rate limit {info.get('status')} ({info.get('rateLimitType', '?')})"
    elif kind == "result":
        failed = o.get("is_error") or o.get("subtype") not in (None, "success")
        text = one_line(o.get("result") or o.get("subtype") or "", m)
        yield f"{m.bad if failed else m.ok} {o.get('subtype', 'result')}: {text}"


def _codex(o, m):
    kind, item = o.get("type"), o.get("item") or {}
    if kind == "thread.started":
        yield f"{m.note} session {o.get('thread_id', '?')}"
    elif kind in ("item.started", "item.completed") and isinstance(item, dict):
        what = item.get("type")
        if what == "command_execution" and kind == "item.started":
            yield f"{m.tool} {one_line(item.get('command', ''), m)}"
        elif what == "command_execution":
            out = one_line(item.get("aggregated_output") or "", m)
            yield f"{m.out} exit {item.get('exit_code')}" + (f": {out}" if out else "")
        elif what == "agent_message" and kind == "item.completed":
            yield f"{m.say} {one_line(item.get('text', ''), m)}"
        elif what == "file_change" and kind == "item.completed":
            paths = [c.get("path", "?") for c in item.get("changes") or () if isinstance(c, dict)]
            yield f"{m.tool} edit {one_line(', '.join(paths), m)}"
        elif what == "reasoning" and kind == "item.completed":
            yield f"{m.note} {one_line(item.get('text', ''), m)}"
    elif kind == "turn.completed":
        usage = o.get("usage") or {}
        yield (f"{m.ok} turn done: {usage.get('input_tokens', '?')} tokens in, "
               f"{usage.get('output_tokens', '?')} out")
    elif kind == "turn.failed":
        yield f"{m.bad} {one_line((o.get('error') or {}).get('message', 'turn failed'), m)}"
    elif kind == "error":
        yield f"{m.bad} {one_line(o.get('message', ''), m)}"


def _opencode(o, m):
    kind, part = o.get("type"), o.get("part") or {}
    if kind == "text":
        yield f"{m.say} {one_line(part.get('text', ''), m)}"
    elif kind == "tool_use":
        state = part.get("state") or {}
        yield f"{m.tool} {part.get('tool', 'tool')} {_tool_input(state.get('input'), m)}"
        if state.get("output"):
            yield f"{m.out} {one_line(state['output'], m)}"
    elif kind == "step_finish" and part.get("reason") == "stop":
        # Each step is one model call and counts only its own tokens: the run's are their sum.
        tokens = part.get("tokens") or {}
        yield (f"{m.ok} done (last step: {tokens.get('input', '?')} tokens in, "
               f"{tokens.get('output', '?')} out)")
    elif kind == "error":
        error = o.get("error") or {}
        message = (error.get("data") or {}).get("message") or error.get("name") or "error"
        yield f"{m.bad} {one_line(message, m)}"


def _gemini(o, m):
    kind = o.get("type")
    if kind == "init":
        yield f"{m.note} session {o.get('session_id', '?')} ({o.get('model', '?')})"
    elif kind == "message" and o.get("role") == "assistant":
        yield f"{m.say} {one_line(o.get('content') or '', m)}"
    elif kind == "tool_use":
        yield f"{m.tool} {o.get('tool_name', 'tool')} {_tool_input(o.get('parameters'), m)}"
    elif kind == "tool_result":
        mark = m.out if o.get("status") == "success" else m.bad
        yield f"{mark} {one_line(str(o.get('output') or o.get('error') or ''), m)}"
    elif kind == "error":
        yield f"{m.bad} {one_line(o.get('message') or '', m)}"
    elif kind == "result":
        error = o.get("error") if isinstance(o.get("error"), dict) else {}
        if o.get("status") == "success":
            stats = o.get("stats") or {}
            yield (f"{m.ok} success ({stats.get('input_tokens', '?')} tokens in, "
                   f"{stats.get('output_tokens', '?')} out)")
        else:
            yield f"{m.bad} {o.get('status', 'error')}: {one_line(error.get('message') or '', m)}"


def _copilot(o, m):
    kind = o.get("type")
    data = o.get("data") if isinstance(o.get("data"), dict) else {}
    if kind == "assistant.message":
        if data.get("content"):
            yield f"{m.say} {one_line(data['content'], m)}"
        for call in data.get("toolRequests") or ():
            if isinstance(call, dict):
                yield f"{m.tool} {call.get('name', 'tool')} {_tool_input(call.get('arguments'), m)}"
    elif kind == "tool.execution_complete":
        result = data.get("result") if isinstance(data.get("result"), dict) else {}
        error = data.get("error") if isinstance(data.get("error"), dict) else {}
        text = result.get("content") or error.get("message") or "(no output)"
        yield f"{m.out if data.get('success') else m.bad} {one_line(text, m)}"
    elif kind == "session.error":
        yield f"{m.bad} {one_line(data.get('message') or data.get('errorType') or 'error', m)}"
    elif kind == "result":
        code = o.get("exitCode")
        yield f"{m.ok if code == 0 else m.bad} exit {code} (session {o.get('sessionId', '?')})"


_RENDER = {"claude-stream-json": _claude, "cursor-stream-json": _claude, "codex-jsonl": _codex,
           "opencode-jsonl": _opencode, "gemini-stream-json": _gemini,
           "copilot-jsonl": _copilot}


def render_line(output, line, marks):
    """A log line (text, no newline) as the lines to show: JSON of the format rendered (an
    event nobody needs to read shows nothing), anything else as it is."""
    stripped = line.strip()
    if not stripped.startswith("{"):
        return [line]
    try:
        obj = json.loads(stripped)
    except (ValueError, RecursionError):
        return [line]
    if not isinstance(obj, dict):
        return [line]
    return list(_RENDER[output](obj, marks))


class Transcript:
    """Feeds a log's bytes as they come, chunks cut anywhere; gives back the rendered bytes
    of the whole lines so far (`final` flushes a last line without its newline)."""

    def __init__(self, output, unicode=True):
        self.output, self.marks, self.partial = output, Marks(unicode), b""
        self.overlong = False  # within a line past LINE_MAX: passed on as it is, to its end

    def feed(self, chunk, final=False):
        passed = b""
        if self.overlong:
            head, newline, chunk = chunk.partition(b"\n")
            passed, self.overlong = head + newline, not newline
        data = self.partial + chunk
        lines = data.split(b"\n")
        self.partial = lines.pop() if not final else b""
        if final and lines and not lines[-1]:
            lines.pop()  # the newline that ended the last line
        out = []
        for raw in lines:
            text = raw.decode("utf-8", "replace")
            out += render_line(self.output, text, self.marks)
        rendered = passed + "".join(x + "\n" for x in out).encode("utf-8")
        if len(self.partial) > LINE_MAX:  # no JSON to render in sight: memory stays bounded
            rendered, self.partial, self.overlong = rendered + self.partial, b"", True
        return rendered
