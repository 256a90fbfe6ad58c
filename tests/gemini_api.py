"""A stand-in of Google's Gemini API (`generateContent`, `streamGenerateContent`) on 127.0.0.1
for running the real Gemini CLI.

Its scripted model does what orchestra's protocol asks of an agent: a run_shell_command call
that runs `command` (by default writing hello.txt in its working directory), then a write_file
call that creates the .done file at the absolute path the prompt names, then a last text
answer. Requests that do not carry the protocol prompt (side requests the CLI makes of its own)
get a short text answer. `error=400` answers every model request with that HTTP error in
Google's format instead; `retry_after=S` answers the protocol's requests with a 429 quota
error whose RetryInfo asks for S seconds (while `server.retry_after` is set), from the
conversation's `limit_from`th tool call on. Every request body is kept in `requests` for the test to read.
"""

import json

from tests import standin
from tests.standin import DONE_PATH, ESCAPE, FILE_TEXT, SUMMARY  # noqa: F401 -- read here

COMMAND = f"echo '{FILE_TEXT.strip()}' > hello.txt"
RETRY_AFTER = 300
ERROR_MESSAGE = "API key not valid. Please pass a valid API key."
USAGE = {"promptTokenCount": 40, "candidatesTokenCount": 12, "totalTokenCount": 52}


def _parts(body, role):
    for content in body.get("contents") or ():
        if content.get("role", "user") == role:
            yield from content.get("parts") or ()


def reply(body, command=COMMAND):
    """The scripted answer to one request: a list of parts."""
    config = body.get("generationConfig") or {}
    schema = config.get("responseJsonSchema") or config.get("responseSchema")
    if schema:  # the CLI's own questions (how complex is the task, who speaks next)
        return [{"text": json.dumps(_sample(schema))}]
    said = "\n".join(p.get("text", "") for p in _parts(body, "user") if isinstance(p, dict))
    done = DONE_PATH.search(said)
    if done is None or "orchestra" not in said:
        return [{"text": "ok"}]
    called = {p["functionCall"].get("name") for p in _parts(body, "model")
              if isinstance(p, dict) and "functionCall" in p}
    if "run_shell_command" not in called:
        return [{"functionCall": {"name": "run_shell_command",
                                  "args": {"command": command, "description": "Run it"}}}]
    if "write_file" not in called:
        return [{"functionCall": {"name": "write_file",
                                  "args": {"file_path": done.group(1),
                                           "content": SUMMARY + "\n"}}}]
    return [{"text": "Finished: " + SUMMARY}]


def _sample(schema):
    """The least value `schema` accepts: its first enum value, 1, "ok", or objects of them."""
    if schema.get("enum"):
        return schema["enum"][0]
    kind = str(schema.get("type", "object")).lower()
    if kind == "object":
        return {k: _sample(v) for k, v in (schema.get("properties") or {}).items()}
    return {"array": [], "boolean": False, "integer": 1, "number": 1}.get(kind, "ok")


def _response(parts):
    return {"candidates": [{"content": {"role": "model", "parts": parts},
                            "finishReason": "STOP", "index": 0}],
            "usageMetadata": USAGE, "modelVersion": "gemini-standin"}


class _Handler(standin.Handler):
    def do_POST(self):
        body = self.body()
        path = self.path.split("?")[0]
        if path.endswith(":countTokens"):
            self._json(200, {"totalTokens": 40})
            return
        if not path.endswith(("generateContent", "GenerateContent")):
            self._json(404, {"error": {"code": 404, "message": "not found", "status": "NOT_FOUND"}})
            return
        self.server.requests.append(body)
        calls = sum("functionCall" in p for p in _parts(body, "model") if isinstance(p, dict))
        if self.server.retry_after and "orchestra" in json.dumps(body) \
                and calls >= self.server.limit_from:
            self._json(429, {"error": {
                "code": 429, "status": "RESOURCE_EXHAUSTED",
                "message": "You exceeded your current quota, please check your plan and billing "
                           f"details. Please retry in {self.server.retry_after}s.",
                "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                             "retryDelay": f"{self.server.retry_after}s"}]}})
            return
        if self.server.error:
            self._json(self.server.error, {"error": {
                "code": self.server.error, "message": ERROR_MESSAGE,
                "status": "INVALID_ARGUMENT"}})
            return
        data = _response(reply(body, self.server.command))
        if not path.endswith(":streamGenerateContent"):
            self._json(200, data)
            return
        payload = f"data: {json.dumps(data)}\r\n\r\n".encode()
        self._send(200, payload, "text/event-stream")


class StandIn(standin.Server):
    """The server, serving on a thread: `url` for GOOGLE_GEMINI_BASE_URL; `close()` when done.
    `command`: what the model's shell tool call runs."""

    def __init__(self, error=None, command=COMMAND, retry_after=None, limit_from=0):
        super().__init__(_Handler)
        self.server.error, self.server.command = error, command
        self.server.retry_after, self.server.limit_from = retry_after, limit_from

    def tool_results(self):
        """{name: response} of every function response the CLI sent back."""
        return {p["functionResponse"].get("name"): p["functionResponse"].get("response")
                for body in self.requests for p in _parts(body, "user")
                if isinstance(p, dict) and "functionResponse" in p}

