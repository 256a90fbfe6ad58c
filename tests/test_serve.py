"""`orchestra serve`: the dashboard's server in this process (port 0, a thread) over temp
projects, spoken to with http.client: auth, the Host and Origin checks, every endpoint, the
actions, the live stream, a vanished workspace."""

import http.client
import io
import json
import os
import re
import shutil
import tempfile
import threading
import time

from orchestra.web import live, server
from tests.helpers import REPO, ProjectCase, init_repo, main_in_process, wait_until


class ServeCase(ProjectCase):
    def serve(self, roots=None):
        self.server = server.Server(roots or [self.root], "127.0.0.1", 0)
        thread = threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05},
                                  daemon=True)
        thread.start()
        self.addCleanup(self.server.server_close)
        self.addCleanup(self.server.shutdown)
        self.port, self.token = self.server.server_port, self.server.token
        self.origin = f"http://127.0.0.1:{self.port}"

    def setUp(self):
        super().setUp()
        self.serve()

    def request(self, method, path, body=None, headers=None, auth=True):
        """(status, headers, body bytes)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        all_headers = {"Authorization": f"Bearer {self.token}"} if auth else {}
        if body is not None:
            all_headers.update({"Content-Type": "application/json", "Origin": self.origin})
            body = json.dumps(body).encode()
        all_headers.update(headers or {})
        try:
            conn.request(method, path, body=body, headers=all_headers)
            answer = conn.getresponse()
            return answer.status, answer, answer.read()
        finally:
            conn.close()

    def raw(self, method, path, body, headers=None):
        """(status, body) of a request with the token and a JSON type, no Origin."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request(method, path, body=body, headers={
                "Authorization": f"Bearer {self.token}", "Content-Type": "application/json",
                **(headers or {})})
            answer = conn.getresponse()
            return answer.status, answer.read()
        finally:
            conn.close()

    def get(self, path, status=200):
        code, _, data = self.request("GET", path)
        self.assertEqual(code, status, data)
        return json.loads(data)

    def post(self, action, status=200, **body):
        code, _, data = self.request("POST", "/api/" + action, body)
        self.assertEqual(code, status, data)
        return json.loads(data)

    def queued(self, prompt="done", **more):
        out = self.post("start", w=0, agent="fake", prompt=prompt, **more)["output"]
        return re.search(r"task_\w+", out).group(0)


class Safety(ServeCase):
    def test_the_token_is_needed_and_becomes_a_cookie(self):
        for path in ("/", "/app.js", "/api/tasks", "/api/events"):
            code, _, data = self.request("GET", path, auth=False)
            self.assertEqual(code, 401, path)
            self.assertIn("token", json.loads(data)["error"])
        code, _, _ = self.request("GET", "/?token=wrong", auth=False)
        self.assertEqual(code, 401)
        code, answer, _ = self.request("GET", f"/?token={self.token}", auth=False)
        self.assertEqual((code, answer.getheader("Location")), (303, "/"))
        cookie = answer.getheader("Set-Cookie")
        for part in ("HttpOnly", "SameSite=Strict", "Path=/"):
            self.assertIn(part, cookie)
        pair = cookie.split(";")[0]
        code, answer, page = self.request("GET", "/", headers={"Cookie": pair}, auth=False)
        self.assertEqual(code, 200)
        self.assertIn(b'<script src="/app.js"', page)
        self.assertIn("default-src 'self'", answer.getheader("Content-Security-Policy"))
        self.assertEqual(answer.getheader("X-Content-Type-Options"), "nosniff")
        self.assertEqual(answer.getheader("Referrer-Policy"), "no-referrer")
        code, answer, _ = self.request("GET", "/api/tasks", headers={"Cookie": pair}, auth=False)
        self.assertEqual((code, answer.getheader("Cache-Control")), (200, "no-store"))
        self.assertEqual(self.request("GET", f"/api/tasks?token={self.token}", auth=False)[0], 200)
        self.assertEqual(self.request("GET", "/api/tasks", auth=False, headers={
            "Authorization": "Bearer nope"})[0], 401)

    def test_the_host_must_be_this_server(self):
        for host in ("evil.example:%d", "127.0.0.1:1", "localhost.evil.example:%d"):
            code, _, _ = self.request("GET", "/api/tasks", headers={"Host": host % self.port
                                                                    if "%d" in host else host})
            self.assertEqual(code, 421, host)
        for host in ("localhost:%d", "127.0.0.1:%d", "[::1]:%d"):
            self.assertEqual(self.request("GET", "/api/tasks",
                                          headers={"Host": host % self.port})[0], 200, host)

    def test_actions_are_post_only_and_same_origin(self):
        for action in ("start", "cancel", "retry", "merge", "pause", "resume"):
            code, answer, _ = self.request("GET", "/api/" + action)
            self.assertEqual((code, answer.getheader("Allow")), (405, "POST"), action)
        self.assertEqual(self.request("POST", "/api/tasks", {})[0], 405)
        for headers in ({"Origin": "http://evil.example"}, {"Origin": "null"},
                        {"Origin": f"http://localhost:{self.port}"}):
            code, _, data = self.request("POST", "/api/pause", {"w": 0}, headers=headers)
            self.assertEqual(code, 403, headers)
            self.assertIn("cross-origin", json.loads(data)["error"])
        self.assertFalse(os.path.exists(os.path.join(self.root, ".orchestra", "paused")))
        # Without an Origin, a Referer of this server will do; with neither it is refused.
        self.assertEqual(self.raw("POST", "/api/resume", b"{}")[0], 403)
        self.assertEqual(self.raw("POST", "/api/pause", b"{}",
                                  {"Referer": self.origin + "/#queue"})[0], 200)
        self.assertTrue(os.path.exists(os.path.join(self.root, ".orchestra", "paused")))

    def test_bodies_are_json_objects_of_bounded_size(self):
        code, _, _ = self.request("POST", "/api/pause", {"w": 0},
                                  headers={"Content-Type": "text/plain"})
        self.assertEqual(code, 415)
        self.assertEqual(self.request("POST", "/api/pause", [1])[0], 400)
        code, _, data = self.request("POST", "/api/start", {
            "w": 0, "agent": "fake", "prompt": "x" * (server.BODY_MAX + 1)})
        self.assertEqual(code, 413)
        self.assertIn("over", json.loads(data)["error"])

    def test_task_data_is_text(self):
        prompt = "<script>alert(1)</script> \x1b]0;owned\x07 <img src=x onerror=alert(2)>"
        task_id = self.queued(prompt)
        [task] = self.get("/api/tasks?w=0")
        self.assertEqual(task["prompt"], prompt)  # JSON text; the page shows it as text
        with open(os.path.join(self.root, ".orchestra", "logs", task_id + ".log"), "w") as f:
            f.write("plain\n\x1b[31mred\x1b[0m \x9b2J\n")
        shown = self.get(f"/api/task?w=0&id={task_id}")
        self.assertEqual(shown["log"], "plain\n\u241b[31mred\u241b[0m \ufffd2J\n")
        with open(os.path.join(REPO, "orchestra", "web", "app.js")) as f:
            script = f.read()
        for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
            self.assertNotIn(sink, script)
        with open(os.path.join(REPO, "orchestra", "web", "index.html")) as f:
            self.assertNotRegex(f.read(), r"<script>|<script [^>]*>[^<]|\son\w+=")


    def test_a_taken_port_falls_back_to_a_free_one_unless_asked_for(self):
        from orchestra import cli
        from orchestra.commands import serve
        from orchestra.errors import OrchestraError
        err = io.StringIO()
        console = cli.make_console(True, stdout=io.StringIO(), stderr=err)
        other = serve._bind(console, [self.root], "127.0.0.1", None, default=self.port)
        self.addCleanup(other.server_close)
        self.assertNotEqual(other.server_port, self.port)
        self.assertIn(f"port {self.port} is taken: serving on {other.server_port} instead",
                      err.getvalue())
        with self.assertRaises(OrchestraError) as caught:
            serve._bind(console, [self.root], "127.0.0.1", self.port)
        self.assertIn(f"cannot listen on 127.0.0.1:{self.port}", caught.exception.message)


class Endpoints(ServeCase):
    def test_reads(self):
        task_id = self.queued("done", labels=["night"], priority=3)
        plan = os.path.join(self.root, ".orchestra", "plans", task_id + "_plan.md")
        os.makedirs(os.path.dirname(plan), exist_ok=True)
        with open(plan, "w") as f:
            f.write("# Plan\n- [x] one\n- [ ] two\n")
        [space] = self.get("/api/workspaces")
        self.assertEqual((space["id"], space["root"], space["ok"], space["counts"]["pending"]),
                         (0, self.root, True, 1))
        [task] = self.get("/api/tasks?w=all")
        self.assertEqual((task["id"], task["labels"], task["priority"], task["workspace"]),
                         (task_id, ["night"], 3, 0))
        self.assertTrue(task_id.rpartition("_")[2].startswith(task["short_id"]))
        shown = self.get(f"/api/task?w=0&id={task['short_id']}")
        self.assertEqual(shown["task"]["id"], task_id)
        self.assertEqual(shown["plan"], "# Plan\n- [x] one\n- [ ] two\n")
        self.assertEqual([e["to"] for e in shown["events"]], ["pending"])
        self.assertEqual(self.get("/api/agents?w=0"), ["fake"])
        metrics = self.get("/api/metrics?w=all")
        self.assertEqual(metrics["agents"]["fake"]["tasks"], 1)
        [(day, totals)] = metrics["days"].items()
        self.assertEqual((day, totals["total"]["active"]), (time.strftime("%Y-%m-%d"), 1))
        self.assertIn("worktree of its own", self.get(f"/api/diff?w=0&id={task_id}", 400)["error"])
        self.assertIn("no task", self.get("/api/task?w=0&id=task_1764071563123_a1b2c3", 404)["error"])
        self.assertIn("no workspace", self.get("/api/tasks?w=7", 400)["error"])
        self.assertIn("no workspace", self.get("/api/task?w=all&id=x", 400)["error"])
        self.assertEqual(self.request("GET", "/nothing")[0], 404)

    def test_actions_speak_as_the_cli(self):
        refused = self.post("start", 400, w=0, agent="nobody", prompt="x")
        self.assertIn("unknown agent 'nobody'", refused["error"])
        self.assertIn("takes no field", self.post("start", 400, w=0, agent="fake", prompt="x",
                                                  shell="rm")["error"])
        self.assertIn("needs 'prompt'", self.post("start", 400, w=0, agent="fake")["error"])
        self.assertIn("--timeout", self.post("start", 400, w=0, agent="fake", prompt="x",
                                             timeout="soon")["error"])
        task_id = self.queued("done", timeout="30m", isolation="none")
        self.assertEqual(self.post("cancel", w=0, id=task_id)["ok"], True)
        self.assertEqual(self.get(f"/api/task?w=0&id={task_id}")["task"]["status"], "cancelled")
        self.post("retry", w=0, id=task_id)
        self.assertEqual(self.get(f"/api/task?w=0&id={task_id}")["task"]["status"], "pending")
        self.assertIn("no task", self.post("cancel", 400, w=0, id="task_1764071563123_a1b2c3")["error"])
        self.post("pause", w=0)
        self.assertTrue(self.get("/api/workspaces")[0]["paused"])
        self.post("resume", w=0)
        self.assertFalse(self.get("/api/workspaces")[0]["paused"])

    def test_a_run_streams_live_and_merges(self):
        init_repo(self.root, {".gitignore": ".orchestra-cli/\n"})
        events = Stream(self.port, self.token)
        self.addCleanup(events.close)
        task_id = self.queued("sh=echo,new>made.txt done", isolation="worktree")
        arrived = events.until(lambda e: e["task"] == task_id and e["to"] == "pending")
        self.assertEqual(arrived["workspace"], 0)
        self.assertEqual(main_in_process(self.root, "run", "--wait")[0], 0)
        events.until(lambda e: e["task"] == task_id and e["to"] == "completed")
        [task] = self.get("/api/tasks?w=0")
        self.assertEqual((task["status"], task["changes"]), ("completed", [1, 1, 0]))
        diff = self.get(f"/api/diff?w=0&id={task_id}")
        self.assertEqual(diff["files"], [{"path": "made.txt", "added": 1, "removed": 0}])
        self.assertIn("+new", diff["patch"])
        self.post("merge", w=0, id=task_id)
        with open(os.path.join(self.root, "made.txt")) as f:
            self.assertEqual(f.read(), "new\n")
        self.assertIn("already merged", self.post("merge", w=0, id=task_id)["output"])

    def test_twenty_clients_each_get_a_transition(self):
        streams = [Stream(self.port, self.token) for _ in range(20)]
        for s in streams:
            self.addCleanup(s.close)
        wait_until(lambda: self.server.hub.clients() == 20, 5, message="20 clients")
        task_id = self.queued()
        for s in streams:
            s.until(lambda e: e["task"] == task_id)


class Workspaces(ServeCase):
    def setUp(self):
        ProjectCase.setUp(self)
        self.other = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, self.other, True)
        shutil.copytree(os.path.join(self.root, ".orchestra-cli"),
                        os.path.join(self.other, ".orchestra-cli"))
        self.serve([self.root, self.other])

    def test_a_vanished_workspace_is_told_and_the_others_served(self):
        here = self.queued()
        there = self.post("start", w=1, agent="fake", prompt="done")["output"]
        self.assertEqual(len(self.get("/api/tasks?w=all")), 2)
        shutil.rmtree(self.other)
        spaces = self.get("/api/workspaces")
        self.assertEqual([s["ok"] for s in spaces], [True, False])
        self.assertIn("gone", spaces[1]["error"])
        self.assertEqual([t["id"] for t in self.get("/api/tasks?w=all")], [here])
        self.assertIn("gone", self.get("/api/tasks?w=1", 409)["error"])
        self.assertIn("gone", self.post("pause", 409, w=1)["error"])
        self.assertEqual(self.get("/api/metrics?w=all")["total"]["tasks"], 1)
        self.assertIn("task_", there)


class Stream:
    """A client of /api/events: its events, read by a thread as they come."""

    def __init__(self, port, token):
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        self.conn.request("GET", "/api/events", headers={"Authorization": f"Bearer {token}"})
        self.answer = self.conn.getresponse()
        assert self.answer.getheader("Content-Type") == "text/event-stream"
        self.events = []
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        try:
            for line in self.answer:
                if line.startswith(b"data: "):
                    self.events.append(json.loads(line[6:]))
        except (OSError, ValueError):
            pass

    def until(self, wanted, timeout=10):
        return wait_until(lambda: next((e for e in self.events if wanted(e)), None), timeout,
                          message="the event on the stream")

    def close(self):
        self.conn.close()


class Hub(ServeCase):
    def test_a_rotated_log_is_read_from_its_start(self):
        path = os.path.join(self.root, ".orchestra", "events.jsonl")
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write(json.dumps({"task": "old", "to": "x"}) * 40 + "\n")
        hub = live.Hub([self.server.spaces[0]])
        hub.start()
        self.addCleanup(hub.stop)
        q = hub.subscribe()
        os.replace(path, path + ".1")
        with open(path, "w") as f:
            f.write(json.dumps({"task": "new", "to": "y"}) + "\n")
        self.assertEqual(q.get(timeout=5)["task"], "new")
