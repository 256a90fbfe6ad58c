"""A stand-in of OpenAI's Responses API on 127.0.0.1 for running the real Codex CLI.

Its scripted model does what orchestra's protocol asks of an agent: an `exec_command` call that
writes hello.txt in its working directory, then one that creates the .done file at the absolute
path the prompt names, then a last message. A prompt holding ESCAPE gets instead a call that
leaves a process in a session of its own (as OpenCode's and Gemini CLI's shell tools start
theirs), which writes its pid to escaped.pid, and then calls that only sleep. `fail` scripts what the next protocol requests get
instead: a 400, or a 429 in OpenAI's format. Every request body is kept in `requests`.
"""

import json

from tests import standin
from tests.standin import DONE_PATH, ESCAPE, FILE_TEXT, SUMMARY  # noqa: F401 -- read here

BAD_REQUEST = "The model `standin` does not support this request."
USAGE = {"input_tokens": 40, "input_tokens_details": {"cached_tokens": 8}, "output_tokens": 12,
         "output_tokens_details": {"reasoning_tokens": 0}, "total_tokens": 52}


def user_texts(items):
    """The texts of the user messages among a request's input items."""
    for item in items or ():
        if item.get("type") == "message" and item.get("role") == "user":
            for part in item.get("content") or ():
                yield part.get("text") or ""


def _call(call_id, command):
    return {"type": "function_call", "id": "fc_" + call_id, "call_id": call_id,
            "name": "exec_command", "arguments": json.dumps({"cmd": command})}


def reply(body):
    """The scripted answer to one request: a list of output items."""
    prompt = "\n".join(t for t in user_texts(body.get("input")) if "orchestra" in t)
    done = DONE_PATH.search(prompt)
    if done is None:
        return [_message("ok")]
    outputs = {item.get("call_id"): item.get("output") for item in body.get("input") or ()
               if item.get("type") == "function_call_output"}
    if "ESCAPE" in prompt:
        return [_call(f"call_wait{len(outputs)}" if outputs else "call_escape",
                      "sleep 120" if outputs else ESCAPE)]
    if "call_hello" not in outputs:
        return [_call("call_hello", f"printf '{FILE_TEXT.strip()}\\n' > hello.txt")]
    if "call_done" not in outputs:
        return [_call("call_done", f"printf '{SUMMARY}\\n' > {done.group(1)}")]
    return [_message("Finished: " + SUMMARY)]


def _message(text):
    return {"type": "message", "id": "msg_standin", "role": "assistant", "status": "completed",
            "content": [{"type": "output_text", "text": text, "annotations": []}]}


def _events(items, response_id, model):
    response = {"id": response_id, "object": "response", "model": model, "status": "in_progress",
                "output": []}
    yield "response.created", {"type": "response.created", "response": response}
    for i, item in enumerate(items):
        yield "response.output_item.added", {"type": "response.output_item.added",
                                             "output_index": i, "item": item}
        yield "response.output_item.done", {"type": "response.output_item.done",
                                            "output_index": i, "item": item}
    yield "response.completed", {"type": "response.completed", "response": dict(
        response, status="completed", output=items, usage=USAGE)}


class _Handler(standin.Handler):
    def do_POST(self):
        body = self.body()
        if not self.path.startswith("/v1/responses"):
            self._json(404, {"error": {"message": "not found", "type": "invalid_request_error"}})
            return
        server = self.server
        server.requests.append(body)
        if server.failures and DONE_PATH.search("\n".join(user_texts(body.get("input")))):
            code, headers, error = server.failures.pop(0)
            self._json(code, {"error": error}, headers)
            return
        items = reply(body)
        payload = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n" for name, data in
                          _events(items, f"resp_{len(server.requests)}", body.get("model"))).encode()
        self._send(200, payload, "text/event-stream")

    def do_GET(self):
        self._json(200, {"object": "list", "data": []})


class StandIn(standin.Server):
    """The server, serving on a thread: `url` for the provider's base_url; `close()` when done."""

    def __init__(self):
        super().__init__(_Handler, "/v1")
        self.server.failures = []  # (status, headers, error object) for the next requests

    def fail(self, code, error, headers=(), times=1):
        """Answer the next `times` protocol requests with HTTP `code` and this error object."""
        self.server.failures.extend([(code, tuple(headers), error)] * times)

    def tool_outputs(self):
        """call_id -> output of every tool result the CLI sent back."""
        return {item.get("call_id"): item.get("output") for body in self.requests
                for item in body.get("input") or () if item.get("type") == "function_call_output"}

