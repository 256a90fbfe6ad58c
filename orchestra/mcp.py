"""The Model Context Protocol over stdio: JSON-RPC 2.0, one JSON message a line.

`Session.receive(line)` takes a line the client wrote and answers through `send(text)`: at
once for everything but `tools/call`, which runs on a thread of its own (a `wait` blocks for
as long as it is told) and answers when it ends, so answers may come in any order (the
client matches them by id). `close()` cancels what can be cancelled and waits for the rest.
What the tools do is `orchestra.mcptools`'; this module knows only the protocol.
"""

import json
import threading

from orchestra import __version__
from orchestra.errors import OrchestraError

# The revisions this server speaks, newest first: a client asking for another gets the newest.
VERSIONS = ("2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05")

PARSE_ERROR, INVALID_REQUEST, METHOD_NOT_FOUND = -32700, -32600, -32601
INVALID_PARAMS, INTERNAL_ERROR = -32602, -32603

INSTRUCTIONS = (
    "orchestra is the task queue of this project: it runs coding agents as background tasks. "
    "Use `start` to hand a piece of work to an agent (it returns the task's id), `wait` to "
    "block until tasks end (it returns each one's outcome and summary), `status`, `show` and "
    "`logs` to look at tasks, `diff` to review an isolated task's changes, and `cancel` and "
    "`retry` to change them. Tasks run only while a supervisor runs (`orchestra run`).")


def response(request_id, result):
    return {"jsonrpc": "2.0", "id": request_id, "result": result}


def error(request_id, code, message):
    return {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}


def text_result(texts, is_error=False):
    """A tools/call result: each text as a text content item."""
    return {"content": [{"type": "text", "text": t} for t in texts], "isError": is_error}


def parse(line):
    """(message, None) for a request or notification; (None, error response) otherwise."""
    try:
        message = json.loads(line)
    except (ValueError, RecursionError) as e:  # json raises the latter for deep nesting
        return None, error(None, PARSE_ERROR, f"not JSON: {e}")
    if not isinstance(message, dict):
        what = "a batch (an array)" if isinstance(message, list) else json.dumps(message)[:40]
        return None, error(None, INVALID_REQUEST, f"a message must be one JSON-RPC object, "
                           f"not {what}")
    request_id = message.get("id")
    if "id" in message and (isinstance(request_id, bool)
                            or not isinstance(request_id, (str, int))):
        return None, error(None, INVALID_REQUEST, "id must be a string or an integer")
    if message.get("jsonrpc") != "2.0":
        return None, error(request_id, INVALID_REQUEST, 'jsonrpc must be "2.0"')
    if not isinstance(message.get("method"), str):
        if "result" in message or "error" in message:
            return None, None  # an answer to a request of ours: we make none
        return None, error(request_id, INVALID_REQUEST, "method must be a string")
    params = message.get("params", {})
    if not isinstance(params, dict):
        # A notification is never answered, not even with an error.
        return None, (error(request_id, INVALID_PARAMS, "params must be an object")
                      if "id" in message else None)
    return message, None


def initialized(params):
    """The initialize result: the client's protocol version if this server speaks it."""
    asked = params.get("protocolVersion")
    return {"protocolVersion": asked if asked in VERSIONS else VERSIONS[0],
            "capabilities": {"tools": {}},
            "serverInfo": {"name": "orchestra", "version": __version__},
            "instructions": INSTRUCTIONS}


class _Call:
    """A tools/call in flight: its thread, the event that cancels it, and whether the client
    still wants an answer (the spec asks for none to a request the client cancelled)."""

    def __init__(self, thread, cancelled):
        self.thread, self.cancelled, self.answer = thread, cancelled, True


class Session:
    """One client's connection. `tools`: an object with `listed()` (the tools/list entries)
    and `call(name, arguments, cancelled) -> (is_error, texts)` for a listed name;
    `send(text)` writes one line (called from several threads, one at a time)."""

    def __init__(self, tools, send):
        self.tools, self._send = tools, send
        self._lock = threading.Lock()
        self._running = {}  # request id -> _Call

    def receive(self, line):
        if not line.strip():
            return
        message, problem = parse(line)
        if problem:
            self._write(problem)
        if message is None:
            return
        method, params = message["method"], message.get("params") or {}
        if "id" not in message:
            self._notified(method, params)
            return
        request_id = message["id"]
        if method == "tools/call":
            self._call(request_id, params)
            return
        if method == "initialize":
            self._write(response(request_id, initialized(params)))
        elif method == "ping":
            self._write(response(request_id, {}))
        elif method == "tools/list":
            self._write(response(request_id, {"tools": self.tools.listed()}))
        else:
            self._write(error(request_id, METHOD_NOT_FOUND, f"unknown method {method!r}; this "
                              "server has initialize, ping, tools/list and tools/call"))

    def close(self):
        """Ends the cancellable calls in flight (waits), then waits for every call to answer."""
        with self._lock:
            running = list(self._running.values())
        for call in running:
            call.cancelled.set()
        for call in running:
            call.thread.join()

    def _notified(self, method, params):
        if method == "notifications/cancelled":
            with self._lock:
                call = self._running.get(params.get("requestId"))
                if call:
                    call.answer = False
                    call.cancelled.set()
        # notifications/initialized and the rest need nothing from a server of tools.

    def _call(self, request_id, params):
        name, arguments = params.get("name"), params.get("arguments", {})
        if not isinstance(name, str):
            self._write(error(request_id, INVALID_PARAMS, "tools/call needs the tool's name"))
            return
        names = [t["name"] for t in self.tools.listed()]
        if name not in names:
            self._write(error(request_id, INVALID_PARAMS,
                              f"unknown tool {name!r}; the tools are {', '.join(names)}"))
            return
        cancelled = threading.Event()
        thread = threading.Thread(target=self._run, args=(request_id, name, arguments, cancelled),
                                  name=f"mcp-{name}", daemon=True)
        with self._lock:
            if request_id in self._running:
                self._write_locked(error(request_id, INVALID_REQUEST,
                                         f"request id {request_id!r} is still in use"))
                return
            self._running[request_id] = _Call(thread, cancelled)
        thread.start()

    def _run(self, request_id, name, arguments, cancelled):
        try:
            is_error, texts = self.tools.call(name, arguments, cancelled)
            answer = response(request_id, text_result(texts, is_error))
        except Exception as e:  # a bug of ours: said to the client, and the server goes on
            answer = error(request_id, INTERNAL_ERROR, f"{type(e).__name__}: {e}")
        with self._lock:
            if self._running.pop(request_id).answer:
                self._write_locked(answer)

    def _write(self, message):
        with self._lock:
            self._write_locked(message)

    def _write_locked(self, message):
        try:
            self._send(json.dumps(message, ensure_ascii=False, separators=(",", ":")))
        except (OSError, ValueError, OrchestraError):
            pass  # the client is gone: nothing is left to tell it
