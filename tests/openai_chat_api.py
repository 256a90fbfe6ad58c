"""A stand-in of OpenAI's Chat Completions API on 127.0.0.1 for running the real Aider CLI
(through litellm), streamed (SSE) or not.

Its scripted model answers the way Aider's edit formats ask: a reply that creates hello.txt,
in the SEARCH/REPLACE form when the system prompt asks for it and as a whole file otherwise.
What a request gets is chosen by a word in its last user message:

- `standin-400`: HTTP 400, an invalid_request_error, every time;
- `standin-429`: HTTP 429, rate_limit_exceeded, without a retry hint, every time;
- `standin-429-hint`: HTTP 429 whose message says "Please try again in 4s" and whose
  retry-after header says the same, every time;
- `standin-429-then-ok`: 429s with a short retry hint for the first THEN_OK requests (more
  than the OpenAI client retries by itself, so that Aider prints the error and retries), then
  the edit.

Every request body is kept in `requests` for the test to read.
"""

import json
import re
import threading

from tests import standin

FILE_NAME = "hello.txt"
FILE_TEXT = "written by aider in its worktree\n"
TOKENS_IN, TOKENS_OUT = 100, 7  # the usage every answer reports
BAD_REQUEST = "standin says: this request is malformed"
_FAULT = re.compile(r"\bstandin-(400|429-hint|429-then-ok|429)\b")
THEN_OK = 3


def _text(message):
    content = message.get("content")
    if isinstance(content, str):
        return content
    return "".join(part.get("text", "") for part in content or () if isinstance(part, dict))


def answer(messages):
    """The scripted assistant text for a conversation."""
    system = "\n".join(_text(m) for m in messages if m.get("role") == "system")
    if "SEARCH/REPLACE" in system:
        edit = f"<<<<<<< SEARCH\n=======\n{FILE_TEXT}>>>>>>> REPLACE\n"
    else:
        edit = FILE_TEXT
    return f"I will create {FILE_NAME}.\n\n{FILE_NAME}\n```\n{edit}```\n"


def _error(status, message, kind, code):
    return status, {"error": {"message": message, "type": kind, "param": None, "code": code}}


def fault(server, messages):
    """(status, body, headers) of the error this conversation asks for, or None."""
    users = [_text(m) for m in messages if m.get("role") == "user"]
    m = _FAULT.search(users[-1] if users else "")
    if m is None:
        return None
    kind = m.group(1)
    if kind == "400":
        return (*_error(400, BAD_REQUEST, "invalid_request_error", None), {})
    if kind == "429-then-ok":
        with server.lock:
            server.limited += 1
            if server.limited > THEN_OK:
                return None
        hint = "Please try again in 0.2s."
    elif kind == "429-hint":
        hint = "Please try again in 4s."
    else:
        hint = ""
    message = ("Rate limit reached for standin in organization org-standin on tokens per min "
               "(TPM): Limit 30000, Used 29900, Requested 1200. " + hint).strip()
    headers = {"retry-after": re.search(r"[\d.]+", hint).group(0)} if hint else {}
    return (*_error(429, message, "tokens", "rate_limit_exceeded"), headers)


def _chunks(text, model, reply_id):
    base = {"id": reply_id, "object": "chat.completion.chunk", "created": 1767261600,
            "model": model}
    yield dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""},
                               "finish_reason": None}])
    for piece in re.findall(r".{1,40}", text, re.S):
        yield dict(base, choices=[{"index": 0, "delta": {"content": piece},
                                   "finish_reason": None}])
    yield dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}])
    yield dict(base, choices=[], usage=_usage())


def _usage():
    return {"prompt_tokens": TOKENS_IN, "completion_tokens": TOKENS_OUT,
            "total_tokens": TOKENS_IN + TOKENS_OUT}


class _Handler(standin.Handler):
    def do_POST(self):
        body = self.body()
        if not self.path.rstrip("/").endswith("/chat/completions"):
            self._json(404, {"error": {"message": f"no route {self.path}", "type": "invalid_request_error",
                                       "param": None, "code": None}})
            return
        self.server.requests.append(body)
        messages = body.get("messages") or []
        failed = fault(self.server, messages)
        if failed is not None:
            self._json(*failed)
            return
        model, reply_id = body.get("model", "standin"), f"chatcmpl-standin{len(self.server.requests)}"
        text = answer(messages)
        if not body.get("stream"):
            self._json(200, {"id": reply_id, "object": "chat.completion", "created": 1767261600,
                             "model": model, "usage": _usage(),
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": text}}]})
            return
        payload = "".join(f"data: {json.dumps(chunk)}\n\n"
                          for chunk in _chunks(text, model, reply_id)) + "data: [DONE]\n\n"
        self._send(200, payload.encode(), "text/event-stream", {})

    def do_GET(self):
        self._json(200, {"object": "list", "data": []})



class StandIn(standin.Server):
    """The server, serving on a thread: `url` for OPENAI_API_BASE; `close()` when done."""

    def __init__(self):
        super().__init__(_Handler, "/v1")
        self.server.lock = threading.Lock()
        self.server.limited = 0

