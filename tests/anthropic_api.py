"""A stand-in of Anthropic's Messages API on 127.0.0.1 for running the real Claude Code CLI.

Its scripted model does what orchestra's protocol asks of an agent: a Bash tool call that
writes hello.txt in its working directory, then a Write tool call that creates the .done file
at the absolute path the prompt names, then a last text answer. Requests that do not carry the
protocol prompt (side requests the CLI makes of its own) get a short text answer. Every request
body is kept in `requests` for the test to read.

A prompt holding QUEUE_SUBTASK, in a request that offers orchestra's MCP `start` tool
(`mcp__orchestra__start`), is answered with a call of it that queues SUBTASK_PROMPT for the
fake agent, then with a text that quotes the tool's result.

While `limited` is set, the protocol's requests get a 429 in Anthropic's format whose
retry-after header asks for RETRY_AFTER seconds. A prompt holding API_ERROR is answered with an HTTP 400 in Anthropic's error format; one
holding ESCAPE gets a Bash call that leaves a process in a session of its own (as OpenCode's
and Gemini CLI's shell tools start theirs), writes its pid to escaped.pid, and then sleeps.
"""

import json

from tests import standin
from tests.standin import DONE_PATH, ESCAPE, FILE_TEXT, SUMMARY  # noqa: F401 -- read here

API_ERROR = "messages.0.content.0: the stand-in refuses this request"
MCP_START = "mcp__orchestra__start"
RETRY_AFTER = 1800
RATE_LIMIT = ("This request would exceed your organization's rate limit of 50,000 input tokens "
              "per minute. Please reduce the prompt length or try again later.")
SUBTASK_PROMPT = "echo=queued-by-claude done"


def _texts(message):
    content = message.get("content")
    if isinstance(content, str):
        return [content]
    return [block.get("text", "") for block in content or () if block.get("type") == "text"]


def reply(body):
    """The scripted answer to one request: a list of content blocks."""
    messages = body.get("messages") or []
    first = "\n".join(_texts(messages[0])) if messages else ""
    offered = {tool.get("name") for tool in body.get("tools") or ()}
    if "QUEUE_SUBTASK" in first and MCP_START in offered:
        return _queue_subtask(messages)
    done = DONE_PATH.search(first)
    if done is None or "orchestra" not in first:
        return [{"type": "text", "text": "ok"}]
    if "API_ERROR" in first:
        return None
    if "ESCAPE" in first:
        return [{"type": "tool_use", "id": "toolu_escape", "name": "Bash",
                 "input": {"command": ESCAPE, "description": "Start a server"}}]
    called = {block.get("id") for m in messages if m.get("role") == "assistant"
              and isinstance(m.get("content"), list) for block in m["content"]}
    if "toolu_hello" not in called:
        return [{"type": "tool_use", "id": "toolu_hello", "name": "Bash",
                 "input": {"command": f"echo '{FILE_TEXT.strip()}' > hello.txt",
                           "description": "Write hello.txt"}}]
    if "toolu_done" not in called:
        return [{"type": "tool_use", "id": "toolu_done", "name": "Write",
                 "input": {"file_path": done.group(1), "content": SUMMARY + "\n"}}]
    return [{"type": "text", "text": "Finished: " + SUMMARY}]


def _queue_subtask(messages):
    results = [block for m in messages if m.get("role") == "user"
               and isinstance(m.get("content"), list) for block in m["content"]
               if block.get("type") == "tool_result" and block.get("tool_use_id") == "toolu_queue"]
    if not results:
        return [{"type": "tool_use", "id": "toolu_queue", "name": MCP_START,
                 "input": {"agent": "fake", "prompt": SUBTASK_PROMPT}}]
    inner = results[0].get("content")
    text = inner if isinstance(inner, str) else " ".join(
        b.get("text", "") for b in inner or () if isinstance(b, dict))
    return [{"type": "text", "text": "Sub-task: " + text}]


def _events(blocks, model, message_id):
    yield "message_start", {"type": "message_start", "message": {
        "id": message_id, "type": "message", "role": "assistant", "model": model,
        "content": [], "stop_reason": None, "stop_sequence": None,
        "usage": {"input_tokens": 25, "output_tokens": 1}}}
    for i, block in enumerate(blocks):
        if block["type"] == "text":
            yield "content_block_start", {"type": "content_block_start", "index": i,
                                          "content_block": {"type": "text", "text": ""}}
            delta = {"type": "text_delta", "text": block["text"]}
        else:
            yield "content_block_start", {"type": "content_block_start", "index": i,
                                          "content_block": dict(block, input={})}
            delta = {"type": "input_json_delta", "partial_json": json.dumps(block["input"])}
        yield "content_block_delta", {"type": "content_block_delta", "index": i, "delta": delta}
        yield "content_block_stop", {"type": "content_block_stop", "index": i}
    stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
    yield "message_delta", {"type": "message_delta",
                            "delta": {"stop_reason": stop, "stop_sequence": None},
                            "usage": {"output_tokens": 12}}
    yield "message_stop", {"type": "message_stop"}


class _Handler(standin.Handler):
    def do_POST(self):
        body = self.body()
        if not self.path.startswith("/v1/messages") or self.path.startswith("/v1/messages/count"):
            self._json(200, {"input_tokens": 25} if "count" in self.path else {})
            return
        self.server.requests.append(body)
        blocks, model = reply(body), body.get("model", "claude-standin")
        if self.server.limited and blocks is not None and "orchestra" in json.dumps(body):
            self._json(429, {"type": "error", "error": {"type": "rate_limit_error",
                                                        "message": RATE_LIMIT}},
                       {"retry-after": str(RETRY_AFTER)})
            return
        if blocks is None:
            self._json(400, {"type": "error", "error": {
                "type": "invalid_request_error", "message": API_ERROR}})
            return
        message_id = f"msg_standin_{len(self.server.requests)}"  # the CLI joins equal ids
        if not body.get("stream"):
            stop = "tool_use" if any(b["type"] == "tool_use" for b in blocks) else "end_turn"
            self._json(200, {"id": message_id, "type": "message", "role": "assistant",
                             "model": model, "content": blocks, "stop_reason": stop,
                             "stop_sequence": None,
                             "usage": {"input_tokens": 25, "output_tokens": 12}})
            return
        payload = "".join(f"event: {name}\ndata: {json.dumps(data)}\n\n"
                          for name, data in _events(blocks, model, message_id)).encode()
        self._send(200, payload, "text/event-stream")

    def do_GET(self):
        self._json(200, {"data": [], "has_more": False})

    def do_HEAD(self):
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()


class StandIn(standin.Server):
    """The server, serving on a thread: `url` for ANTHROPIC_BASE_URL; `close()` when done."""

    def __init__(self):
        super().__init__(_Handler)
        self.server.limited = False

    def tool_results(self):
        """(tool_use_id, is_error, text) of every tool result the CLI sent back."""
        found = {}
        for body in self.requests:
            for message in body.get("messages") or ():
                content = message.get("content")
                for block in content if isinstance(content, list) else ():
                    if block.get("type") == "tool_result":
                        inner = block.get("content")
                        text = inner if isinstance(inner, str) else " ".join(
                            b.get("text", "") for b in inner or () if isinstance(b, dict))
                        found[block["tool_use_id"]] = (bool(block.get("is_error")), text)
        return found

