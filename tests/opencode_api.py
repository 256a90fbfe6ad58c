"""A stand-in of an OpenAI-compatible Chat Completions API on 127.0.0.1 for running the real
OpenCode CLI (its `@ai-sdk/openai-compatible` provider) and Qwen Code, with tool calls,
streamed or not. The tools it calls are OpenCode's (`bash`, `write`), or Qwen Code's or
Copilot CLI's in a request that offers theirs (DIALECTS).

Its scripted model does what orchestra's protocol asks of an agent: a `bash` tool call that
writes hello.txt in its working directory, then a `write` tool call that creates the .done
file at the absolute path the prompt names, then a last text answer. Requests that do not
carry the protocol prompt (titles and other side requests) get a short text answer. A prompt
holding ESCAPE gets a `bash` call that leaves a process in a session of its own, writes its
pid to escaped.pid and sleeps; one holding API_ERROR an HTTP 400 in OpenAI's error format,
every time. While `limited` is set, the protocol's requests get a 429 in OpenAI's format whose
message and retry-after header ask for RETRY_AFTER seconds. Every request body is kept in `requests` for the test to read.
"""

import json

from tests import standin
from tests.anthropic_api import API_ERROR
from tests.standin import DONE_PATH, ESCAPE, FILE_TEXT, SUMMARY  # noqa: F401 -- read here

USAGE = {"prompt_tokens": 100, "completion_tokens": 7, "total_tokens": 107}
RETRY_AFTER = 300
RATE_LIMIT = ("Rate limit reached for standin on tokens per min (TPM). "
              f"Please try again in {RETRY_AFTER}s.")


# (shell tool, file-writing tool, its path and content arguments) of each CLI.
DIALECTS = (("bash", "write", "filePath", "content"),                    # OpenCode
            ("run_shell_command", "write_file", "file_path", "content"),  # Qwen Code
            ("bash", "create", "path", "file_text"))                      # Copilot CLI


def _text(message):
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or () if isinstance(part, dict))


def _call(call_id, name, arguments):
    return {"id": call_id, "type": "function",
            "function": {"name": name, "arguments": json.dumps(arguments)}}


def reply(messages, offered=()):
    """The scripted answer to a conversation: (text, tool calls). `offered`: the names of
    the tools the request offers."""
    shell, write, path, content = next(
        (tools for tools in DIALECTS if tools[1] in offered), DIALECTS[0])
    users = "\n".join(_text(m) for m in messages if m.get("role") == "user")
    done = DONE_PATH.search(users)
    if done is None or "orchestra" not in users:
        return "ok", []
    called = {call.get("id") for m in messages if m.get("role") == "assistant"
              for call in m.get("tool_calls") or ()}
    if "ESCAPE" in users:
        if "call_escape" in called:
            return "Started.", []
        return "", [_call("call_escape", shell, {"command": ESCAPE,
                                                  "description": "Start a server"})]
    if "call_hello" not in called:
        return "", [_call("call_hello", shell, {"command": f"echo '{FILE_TEXT.strip()}' > hello.txt",
                                                "description": "Write hello.txt"})]
    if "call_done" not in called:
        return "", [_call("call_done", write, {path: done.group(1), content: SUMMARY + "\n"})]
    return "Finished: " + SUMMARY, []


def _chunks(text, calls, base):
    yield dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": text},
                               "finish_reason": None}])
    for i, call in enumerate(calls):
        yield dict(base, choices=[{"index": 0, "delta": {"tool_calls": [dict(call, index=i)]},
                                   "finish_reason": None}])
    yield dict(base, choices=[{"index": 0, "delta": {},
                               "finish_reason": "tool_calls" if calls else "stop"}])
    yield dict(base, choices=[], usage=USAGE)


class _Handler(standin.Handler):
    def do_POST(self):
        body = self.body()
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}"}})
            return
        self.server.requests.append(body)
        messages = body.get("messages") or []
        if any("API_ERROR" in _text(m) for m in messages if m.get("role") == "user"):
            self._json(400, {"error": {"message": API_ERROR, "type": "invalid_request_error",
                                       "param": None, "code": None}})
            return
        if self.server.limited and DONE_PATH.search(json.dumps(messages)):
            self._json(429, {"error": {"message": RATE_LIMIT, "type": "tokens",
                                       "param": None, "code": "rate_limit_exceeded"}},
                       {"retry-after": str(RETRY_AFTER)})
            return
        text, calls = reply(messages, {tool.get("function", {}).get("name")
                                       for tool in body.get("tools") or ()})
        base = {"id": f"chatcmpl-standin{len(self.server.requests)}",
                "object": "chat.completion.chunk", "created": 1767261600,
                "model": body.get("model", "standin")}
        if not body.get("stream"):
            message = {"role": "assistant", "content": text}
            if calls:
                message["tool_calls"] = calls
            self._json(200, dict(base, object="chat.completion", usage=USAGE, choices=[
                {"index": 0, "message": message,
                 "finish_reason": "tool_calls" if calls else "stop"}]))
            return
        payload = "".join(f"data: {json.dumps(chunk)}\n\n"
                          for chunk in _chunks(text, calls, base)) + "data: [DONE]\n\n"
        self._send(200, payload.encode(), "text/event-stream")

    def do_GET(self):
        self._json(200, {"object": "list", "data": [{"id": "standin", "object": "model"}]})


class StandIn(standin.Server):
    """The server, serving on a thread: `url` for the provider's baseURL; `close()` when done."""

    def __init__(self):
        super().__init__(_Handler, "/v1")
        self.server.limited = False
