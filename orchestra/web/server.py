"""The dashboard's HTTP server: the token, the Host and Origin checks, routing to api.py,
actions.py and the live stream, and the page's three files."""

import ipaddress
import json
import os
import queue
import secrets
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

from orchestra.web import actions, api, live

BODY_MAX = 256 * 1024  # a prompt is text; a bigger body is no request of the page's
HEARTBEAT = 15.0
LOOPBACK = ("127.0.0.1", "localhost", "::1")
PAGE = {"/": ("index.html", "text/html; charset=utf-8"),
        "/app.js": ("app.js", "text/javascript; charset=utf-8"),
        "/style.css": ("style.css", "text/css; charset=utf-8")}
GETS = ("/api/workspaces", "/api/tasks", "/api/task", "/api/diff", "/api/metrics",
        "/api/events", "/api/agents")
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


class Server(ThreadingHTTPServer):
    daemon_threads = True  # an open stream must not keep the process from stopping

    def __init__(self, roots, host="127.0.0.1", port=0, token=None):
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.spaces = [api.Workspace(i, root) for i, root in enumerate(roots)]
        self.hub = live.Hub(self.spaces)  # before binding: a failed bind closes it
        super().__init__((host, port), Handler)
        self.host = host
        self.token = token or secrets.token_urlsafe(24)
        self.hub.start()
        self.cookie = f"orchestra-{self.server_port}"  # cookies are per host, not per port

    @property
    def url(self):
        shown = f"[{self.host}]" if ":" in self.host else self.host
        if self.host in ("0.0.0.0", "::"):
            shown = "127.0.0.1"
        return f"http://{shown}:{self.server_port}/?token={self.token}"

    def server_close(self):
        self.hub.stop()
        super().server_close()


def allowed_host(header, bound, port):
    """Whether a Host header names this server: the address bound, a loopback name, or an IP
    literal (DNS rebinding needs a name that resolves to us), with our port."""
    if not header:
        return False
    name, _, given = header.rpartition(":")
    if not name or given != str(port):
        return False
    name = name[1:-1] if name.startswith("[") and name.endswith("]") else name
    if name.lower() in LOOPBACK or name == bound:
        return True
    try:
        ipaddress.ip_address(name)
        return True
    except ValueError:
        return False


class Handler(BaseHTTPRequestHandler):
    server_version = "orchestra"
    sys_version = ""

    def log_message(self, format, *args):
        pass  # the terminal shows the URL; a line a request would bury it

    # -- the checks every request passes ------------------------------------------------

    def _checked(self):
        """The request's (path, query) once Host and token are right; None when answered."""
        srv = self.server
        if not allowed_host(self.headers.get("Host"), srv.host, srv.server_port):
            self._error(421, "wrong Host header: open the URL orchestra serve printed")
            return None
        parts = urlsplit(self.path)
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        token = query.pop("token", None)
        if token is not None and secrets.compare_digest(token, srv.token) \
                and parts.path == "/" and self.command == "GET":
            self.send_response(303)
            self.send_header("Location", "/")
            self.send_header("Set-Cookie", f"{srv.cookie}={srv.token}; HttpOnly; "
                             "SameSite=Strict; Path=/")
            self._common("text/plain")
            self.end_headers()
            return None
        if not (self._token_ok(token) and (token is None or parts.path != "/")):
            self._error(401, "no valid token: open the URL orchestra serve printed "
                        "(it holds ?token=...)")
            return None
        return parts.path, query

    def _token_ok(self, token):
        srv = self.server
        given = [token] if token is not None else []
        auth = self.headers.get("Authorization", "")
        if auth.startswith("Bearer "):
            given.append(auth[7:].strip())
        for part in self.headers.get("Cookie", "").split(";"):
            name, _, value = part.strip().partition("=")
            if name == srv.cookie:
                given.append(value)
        return any(secrets.compare_digest(g.encode(), srv.token.encode()) for g in given)

    def _same_origin(self):
        origin = f"http://{self.headers['Host']}"
        if self.headers.get("Origin") is not None:
            return self.headers["Origin"] == origin
        referer = self.headers.get("Referer")
        return referer is not None and (referer == origin or referer.startswith(origin + "/"))

    # -- methods -------------------------------------------------------------------------

    def do_GET(self):
        checked = self._checked()
        if checked is None:
            return
        path, query = checked
        if path in PAGE:
            return self._file(*PAGE[path])
        if path.startswith("/api/") and path[5:] in actions.ACTIONS:
            return self._error(405, f"{path} changes state: POST it", allow="POST")
        if path not in GETS:
            return self._error(404, f"no such page {path}")
        if path == "/api/events":
            return self._events()
        try:
            self._json(200, self._read(path, query))
        except api.ApiError as e:
            self._error(e.status, e.message)

    def do_POST(self):
        checked = self._checked()
        if checked is None:
            return
        path, _ = checked
        if not (path.startswith("/api/") and path[5:] in actions.ACTIONS):
            return self._error(405 if path in GETS or path in PAGE else 404,
                               f"{path} takes no POST", allow="GET")
        if not self._same_origin():
            return self._error(403, "cross-origin request refused: the Origin (or Referer) "
                               "must be this server's own")
        body = self._body()
        if body is None:
            return
        try:
            space = api.pick(self.server.spaces, body.pop("w", None))[0]
            words = actions.argv(path[5:], body)
        except api.ApiError as e:
            return self._error(e.status, e.message)
        except ValueError as e:
            return self._error(400, str(e))
        if space.problem():
            return self._error(409, space.problem())
        code, out, err = actions.run(space.root, words)
        message = err.strip().replace("orchestra: ", "")
        if code != 0:
            return self._error(actions.status_of(code), message or f"exit {code}")
        self._json(200, {"ok": True, "output": api.visible(out.strip()),
                         "warnings": api.visible(message) or None})

    def do_PUT(self):
        self._error(405, "only GET and POST", allow="GET, POST")

    do_DELETE = do_PATCH = do_PUT

    # -- reads ---------------------------------------------------------------------------

    def _read(self, path, query):
        spaces = self.server.spaces
        if path == "/api/workspaces":
            return api.workspaces(spaces)
        if path == "/api/metrics":
            return api.metrics(api.pick(spaces, query.get("w"), allow_all=True))
        chosen = api.pick(spaces, query.get("w"), allow_all=path == "/api/tasks")
        if path == "/api/tasks":
            out = []
            for s in chosen:
                try:
                    out += api.tasks(s)
                except api.ApiError:
                    if len(chosen) == 1:
                        raise
            return out
        space = chosen[0]
        if path == "/api/agents":
            return api.agent_names(space)
        if path == "/api/task":
            return api.task(space, query.get("id"))
        return api.diff(space, query.get("id"), lambda words: actions.run(space.root, words))

    def _events(self):
        hub = self.server.hub
        q = hub.subscribe()
        try:
            self.send_response(200)
            self._common("text/event-stream")
            self.end_headers()
            self.wfile.write(b": connected\n\n")
            self.wfile.flush()
            while True:
                try:
                    event = q.get(timeout=HEARTBEAT)
                except queue.Empty:
                    self.wfile.write(b": heartbeat\n\n")
                else:
                    if event is None:
                        return
                    self.wfile.write(b"data: " + json.dumps(event).encode() + b"\n\n")
                self.wfile.flush()
        except OSError:
            pass  # the page went away
        finally:
            hub.unsubscribe(q)

    # -- answers -------------------------------------------------------------------------

    def _body(self):
        if "json" not in self.headers.get("Content-Type", ""):
            self._error(415, "send the body as JSON (Content-Type: application/json)")
            return None
        try:
            length = int(self.headers.get("Content-Length", ""))
        except ValueError:
            self._error(411, "a POST needs its Content-Length")
            return None
        if length > BODY_MAX or length < 0:
            self._error(413, f"the body is over {BODY_MAX} bytes")
            return None
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except (ValueError, RecursionError):
            self._error(400, "the body is not JSON")
            return None
        if not isinstance(body, dict):
            self._error(400, "the body must be a JSON object")
            return None
        return body

    def _common(self, content_type):
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Security-Policy", CSP)
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("X-Frame-Options", "DENY")
        self.send_header("Cache-Control", "no-store")

    def _json(self, status, data):
        body = json.dumps(data, ensure_ascii=False).encode("utf-8")
        self.send_response(status)
        self._common("application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _error(self, status, message, allow=None):
        body = json.dumps({"error": message}).encode("utf-8")
        self.send_response(status)
        self._common("application/json; charset=utf-8")
        if allow:
            self.send_header("Allow", allow)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _file(self, name, content_type):
        with open(os.path.join(os.path.dirname(__file__), name), "rb") as f:
            body = f.read()
        self.send_response(200)
        self._common(content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
