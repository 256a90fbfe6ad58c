"""What the stand-ins of the providers' APIs share: what their scripted models write, a
handler that reads JSON bodies and answers JSON, and a threaded server on 127.0.0.1 that keeps
every request body it is sent."""

import http.server
import json
import re
import threading

DONE_PATH = re.compile(r"(/\S+?\.done)\b")  # the .done the protocol prompt names
FILE_TEXT = "written by the agent in its worktree\n"  # of hello.txt
SUMMARY = "wrote hello.txt"  # in the .done
# A command that leaves a process in a session of its own, as a CLI's shell tool starts them:
# it writes its pid to escaped.pid in its cwd.
ESCAPE = "setsid sh -c 'echo $$ > escaped.pid; exec sleep 300' > /dev/null 2>&1 & sleep 120"


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def body(self):
        length = int(self.headers.get("Content-Length") or 0)
        try:
            return json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            return {}

    def _send(self, code, payload, kind, headers=()):
        self.send_response(code)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(payload)))
        for name, value in headers.items() if isinstance(headers, dict) else headers:
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)

    def _json(self, code, data, headers=()):
        self._send(code, json.dumps(data).encode(), "application/json", headers)


class Server:
    """The server, serving on a thread: `url` (with `path`) for the CLI's base URL setting,
    `requests` the bodies received; `close()` when done."""

    def __init__(self, handler, path=""):
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.server.daemon_threads = True
        self.server.requests = []
        self.requests = self.server.requests
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}{path}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()
