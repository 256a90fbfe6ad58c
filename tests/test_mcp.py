"""`orchestra mcp`: the protocol (initialize, tools/list, tools/call, errors), each tool against
a project with the fake agent, and the server's concurrency. In-process (a Session fed lines,
its answers collected), but for the tasks' own runs and one test over real stdio pipes."""

import io
import json
import os
import subprocess
import sys
import threading
import time

from orchestra import mcp, mcptools
from orchestra.commands import mcp as mcp_command
from tests.helpers import REPO, ProjectCase, init_repo, main_in_process, wait_until


class Client:
    """A Session on `root`, spoken to as a client does: requests by id, answers collected."""

    def __init__(self, root):
        self.answers, self.next_id = [], 0
        self.session = mcp.Session(mcptools.Tools(root), self.answers.append)

    def send(self, message):
        self.session.receive(json.dumps(message) if not isinstance(message, str) else message)

    def request(self, method, params=None):
        """Sends a request; its id."""
        self.next_id += 1
        self.send({"jsonrpc": "2.0", "id": self.next_id, "method": method,
                   **({"params": params} if params is not None else {})})
        return self.next_id

    def answer(self, request_id, timeout=10):
        def found():
            for text in list(self.answers):
                message = json.loads(text)
                if message.get("id") == request_id:
                    return message
            return None
        return wait_until(found, timeout, message=f"the answer to request {request_id}")

    def ask(self, method, params=None):
        return self.answer(self.request(method, params))

    def tool(self, name, **arguments):
        """(is_error, [texts]) of a tools/call."""
        result = self.ask("tools/call", {"name": name, "arguments": arguments})["result"]
        return result["isError"], [c["text"] for c in result["content"]]


class McpCase(ProjectCase):
    def setUp(self):
        super().setUp()
        self.client = Client(self.root)
        self.addCleanup(self.client.session.close)

    def queued(self, prompt="done", **more):
        is_error, texts = self.client.tool("start", agent="fake", prompt=prompt, **more)
        self.assertFalse(is_error, texts)
        return texts[0].split()[1]  # "queued ID (fake); ..."

    def cli_error(self, *argv):
        """What the CLI says on stderr for `orchestra ARGV` (one line)."""
        return main_in_process(self.root, *argv)[2].strip()


class ProtocolTest(McpCase):
    def test_initialize_agrees_on_a_version_and_offers_tools(self):
        result = self.client.ask("initialize", {"protocolVersion": "2025-06-18",
                                                "capabilities": {}, "clientInfo": {"name": "t"}})
        result = result["result"]
        self.assertEqual(result["protocolVersion"], "2025-06-18")
        self.assertEqual(result["capabilities"], {"tools": {}})
        self.assertEqual(result["serverInfo"]["name"], "orchestra")
        newest = self.client.ask("initialize", {"protocolVersion": "1999-01-01"})["result"]
        self.assertEqual(newest["protocolVersion"], mcp.VERSIONS[0])
        self.client.send({"jsonrpc": "2.0", "method": "notifications/initialized"})
        self.assertEqual(self.client.ask("ping")["result"], {})
        self.assertEqual(len(self.client.answers), 3)  # a notification gets no answer

    def test_every_tool_has_a_description_and_a_valid_schema(self):
        tools = self.client.ask("tools/list")["result"]["tools"]
        self.assertEqual([t["name"] for t in tools], ["start", "status", "show", "logs", "wait",
                                                      "cancel", "retry", "diff"])
        kinds = {"string", "integer", "number", "boolean", "array", "object"}
        for tool in tools:
            self.assertGreater(len(tool["description"]), 60, tool["name"])
            schema = tool["inputSchema"]
            self.assertEqual(schema["type"], "object")
            self.assertLessEqual(set(schema["required"]), set(schema["properties"]))
            for name, prop in schema["properties"].items():
                self.assertIn(prop["type"], kinds, (tool["name"], name))
                self.assertTrue(prop["description"], (tool["name"], name))
                if prop["type"] == "array":
                    self.assertIn(prop["items"]["type"], kinds)
            json.dumps(schema)  # plain JSON

    def test_a_line_nested_too_deep_for_json_is_a_parse_error_not_a_crash(self):
        self.client.send("[" * 100_000)
        self.assertEqual(json.loads(self.client.answers[-1])["error"]["code"], mcp.PARSE_ERROR)

    def test_malformed_messages_are_json_rpc_errors_and_the_server_goes_on(self):
        for line, code in (("{not json", mcp.PARSE_ERROR), ("[]", mcp.INVALID_REQUEST),
                           ('"hello"', mcp.INVALID_REQUEST),
                           ('{"jsonrpc": "1.0", "id": 1, "method": "ping"}', mcp.INVALID_REQUEST),
                           ('{"jsonrpc": "2.0", "id": 2}', mcp.INVALID_REQUEST),
                           ('{"jsonrpc": "2.0", "id": [3], "method": "ping"}', mcp.INVALID_REQUEST),
                           ('{"jsonrpc": "2.0", "id": 4, "method": "ping", "params": 5}',
                            mcp.INVALID_PARAMS),
                           ('{"jsonrpc": "2.0", "id": 5, "method": "resources/list"}',
                            mcp.METHOD_NOT_FOUND)):
            self.client.answers.clear()
            self.client.send(line)
            self.assertEqual(len(self.client.answers), 1, line)
            self.assertEqual(json.loads(self.client.answers[0])["error"]["code"], code, line)
        self.client.answers.clear()
        self.client.send('{"jsonrpc": "2.0", "method": "notifications/cancelled", "params": 1}')
        self.assertEqual(self.client.answers, [])  # a notification is never answered
        unknown = self.client.ask("tools/call", {"name": "launch", "arguments": {}})
        self.assertEqual(unknown["error"]["code"], mcp.INVALID_PARAMS)
        self.assertIn("the tools are start, status", unknown["error"]["message"])
        self.assertEqual(self.client.ask("ping")["result"], {})


class ToolsTest(McpCase):
    def test_start_status_show_cancel_retry(self):
        task_id = self.queued("sleep=5", priority=3, timeout="10m", labels=["docs"])
        second = self.queued("done", depends_on=[task_id])
        is_error, texts = self.client.tool("status")
        self.assertFalse(is_error, texts)
        tasks = json.loads(texts[0])
        self.assertEqual({t["id"] for t in tasks}, {task_id, second})
        first = next(t for t in tasks if t["id"] == task_id)
        self.assertEqual((first["priority"], first["timeout"], first["labels"]), (3, 600, ["docs"]))
        self.assertIn(first["short_id"], task_id)
        # Filters, and an abbreviated id, as the CLI takes them.
        only = json.loads(self.client.tool("status", label=["docs"])[1][0])
        self.assertEqual([t["id"] for t in only], [task_id])
        shown = json.loads(self.client.tool("show", id=first["short_id"])[1][0])
        self.assertEqual((shown["id"], shown["depends_on"]), (task_id, []))
        self.assertEqual(json.loads(self.client.tool("show", id=second)[1][0])["depends_on"],
                         [task_id])

        is_error, texts = self.client.tool("cancel", ids=[task_id])
        self.assertFalse(is_error, texts)
        self.assertEqual(self.client.tool("cancel", ids=[task_id]),
                         (True, [self.cli_error("cancel", task_id)]))
        is_error, texts = self.client.tool("retry", ids=[task_id])
        self.assertFalse(is_error, texts)
        self.assertEqual(json.loads(self.client.tool("status", ids=[task_id])[1][0])[0]["status"],
                         "pending")

    def test_bad_arguments_fail_as_the_cli_does(self):
        cases = [
            ({"agent": "nobody", "prompt": "x"}, self.cli_error("start", "nobody", "x")),
            ({"agent": "fake", "prompt": "  "}, self.cli_error("start", "fake", "  ")),
            ({"agent": "fake", "prompt": "x", "priority": "high"},
             self.cli_error("start", "--priority", "high", "fake", "x")),
            ({"agent": "fake", "prompt": "x", "timeout": "soon"},
             self.cli_error("start", "--timeout", "soon", "fake", "x")),
            ({"agent": "fake", "prompt": "x", "depends_on": ["t-nope"]},
             self.cli_error("start", "--depends-on", "t-nope", "--", "fake", "x")),
        ]
        for arguments, message in cases:
            self.assertTrue(message.startswith("orchestra: "), message)
            self.assertEqual(self.client.tool("start", **arguments), (True, [message]), arguments)
        for arguments, words in (({"agent": "fake"}, "start needs 'prompt'"),
                                 ({"agent": "fake", "prompt": ["a", "b"]}, "prompt must be"),
                                 ({"agent": "fake", "prompt": "x", "priority": True},
                                  "priority must be"),
                                 ({"agent": "fake", "prompt": "x", "colour": "red"},
                                  "start takes no argument 'colour'"),
                                 ({"agent": "fake", "prompt": "x", "isolation": "docker"},
                                  "isolation must be one of worktree, none"),
                                 ({"agent": "fake", "prompt": "-"}, "the prompt is only `-`")):
            is_error, texts = self.client.tool("start", **arguments)
            self.assertTrue(is_error, arguments)
            self.assertIn(words, texts[0])
        # A prompt or an id that looks like an option is still a prompt or an id.
        self.assertFalse(self.client.tool("start", agent="fake", prompt="--help me")[0])
        self.assertEqual(self.client.tool("show", id="--json"),
                         (True, [self.cli_error("show", "--", "--json")]))
        self.assertEqual(json.loads(self.client.tool("status")[1][0])[0]["prompt"], "--help me")

    def test_wait_logs_and_diff_of_tasks_that_run(self):
        init_repo(self.root, {".gitignore": ".orchestra-cli/\n"})
        done = self.queued("echo=working sh=echo,new>made.txt sh=echo,wrote-it>$ORCHESTRA_DONE_FILE",
                           isolation="worktree")
        failed = self.queued("error=no-luck", isolation="none")
        self.ok("run", "--parallel", "2")
        is_error, texts = self.client.tool("wait", ids=[done, failed], timeout=20)
        self.assertTrue(is_error, texts)  # one failed
        self.assertIn(f"{failed} failed (error): no-luck", texts[0])
        outcome = json.loads(texts[-1])
        self.assertFalse(outcome["timed_out"])
        by_id = {t["id"]: t for t in outcome["tasks"]}
        self.assertEqual((by_id[done]["status"], by_id[done]["summary"]), ("completed", "wrote-it"))
        self.assertEqual((by_id[failed]["status"], by_id[failed]["reason"],
                          by_id[failed]["error"][:8]), ("failed", "error", "no-luck:"))
        self.assertEqual(self.client.tool("wait", ids=[done])[0], False)

        is_error, texts = self.client.tool("logs", id=done, lines=1)
        self.assertFalse(is_error, texts)
        self.assertEqual(texts[0].splitlines()[-1], "working")
        is_error, texts = self.client.tool("diff", id=done)
        self.assertFalse(is_error, texts)
        self.assertIn("made.txt | 1 +", texts[0])
        self.assertIn("+new", texts[-1])
        self.assertEqual(self.client.tool("diff", id=failed),
                         (True, [self.cli_error("diff", failed)]))

    def test_a_wait_that_times_out_says_so(self):
        task_id = self.queued()
        is_error, texts = self.client.tool("wait", ids=[task_id], timeout=0.2)
        self.assertTrue(is_error)
        self.assertIn(f"timed out after 0.2s waiting for {task_id}", texts[0])
        outcome = json.loads(texts[-1])
        self.assertTrue(outcome["timed_out"])
        self.assertEqual(outcome["tasks"][0]["status"], "pending")
        self.assertEqual(self.client.tool("wait", ids=[task_id], timeout=0),
                         (True, [self.cli_error("wait", "--timeout", "0", task_id)]))


    def test_inside_a_task_wait_is_the_cli_s_wait_of_that_task(self):
        from unittest import mock
        from orchestra import process
        from orchestra.paths import Layout
        from orchestra.store import Store
        me, sub = self.queued(), self.queued()
        agent = subprocess.Popen(["sleep", "30"])  # the running task's agent, as its run sees it
        self.addCleanup(agent.wait)
        self.addCleanup(agent.kill)
        store = Store(Layout(self.root))
        task = store.get(me)
        task.update(status="running", attempt=1, started_at="2026-12-01T00:00:00Z",
                    pid=agent.pid, pid_start=process.start_token(agent.pid))
        store.save(task)
        with mock.patch.dict(os.environ, {"ORCHESTRA_TASK_ID": me}):
            self.assertEqual(self.client.tool("wait", ids=[me]),
                             (True, [self.cli_error("wait", me)]))
            self.assertIn("cannot wait for itself", self.cli_error("wait", me))
            # While it waits, the task lends its slot to the one it waits for.
            waiting = self.client.request("tools/call", {"name": "wait", "arguments": {
                "ids": [sub], "timeout": 10}})
            wait_until(lambda: (store.get(me).data["waiting"] or {}).get("ids") == [sub],
                       message="the loan to be recorded")
            self.client.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                              "params": {"requestId": waiting}})
            wait_until(lambda: store.get(me).data["waiting"] is None,
                       message="the loan to end with the wait")


class ConcurrencyTest(McpCase):
    def test_status_answers_while_a_wait_blocks_and_a_cancelled_wait_ends(self):
        task_id = self.queued()
        waiting = self.client.request("tools/call", {"name": "wait", "arguments": {
            "ids": [task_id], "timeout": 30}})
        wait_until(lambda: self.client.session._running, message="the wait to be in flight")
        started = time.monotonic()
        self.assertFalse(self.client.tool("status")[0])
        self.assertLess(time.monotonic() - started, 5)
        self.client.send({"jsonrpc": "2.0", "method": "notifications/cancelled",
                          "params": {"requestId": waiting, "reason": "changed my mind"}})
        wait_until(lambda: not self.client.session._running, message="the wait to end")
        self.assertFalse(any(json.loads(a).get("id") == waiting for a in self.client.answers))

    def test_a_closed_stdin_ends_the_server_and_its_waits(self):
        task_id = self.queued()
        lines = [{"jsonrpc": "2.0", "id": 1, "method": "tools/call", "params": {
                  "name": "wait", "arguments": {"ids": [task_id], "timeout": 60}}},
                 {"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {
                  "name": "status", "arguments": {}}}]
        stdin = io.TextIOWrapper(io.BytesIO("".join(json.dumps(m) + "\n" for m in lines).encode()))
        out = []
        console = type("Console", (), {"out": staticmethod(out.append)})
        from orchestra.paths import Layout
        started = time.monotonic()
        self.assertEqual(mcp_command.run(Layout(self.root), console, stdin), 0)
        self.assertLess(time.monotonic() - started, 5)
        answers = {m["id"]: m["result"] for m in map(json.loads, out)}
        self.assertFalse(answers[2]["isError"])
        self.assertTrue(answers[1]["isError"])
        self.assertIn("cancelled", answers[1]["content"][0]["text"])


class StdioTest(ProjectCase):
    def test_two_servers_over_real_pipes_queue_into_one_project(self):
        servers = [subprocess.Popen([sys.executable, "-S", "-m", "orchestra", "mcp"], cwd=self.root,
                                    env=self.env(), stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                    stderr=subprocess.PIPE, text=True) for _ in range(2)]
        for server in servers:
            self.addCleanup(server.kill)
            server.stdin.write(json.dumps({"jsonrpc": "2.0", "id": 0, "method": "initialize",
                                           "params": {"protocolVersion": "2025-11-25"}}) + "\n")
            for n in range(1, 4):
                server.stdin.write(json.dumps({
                    "jsonrpc": "2.0", "id": n, "method": "tools/call", "params": {
                        "name": "start", "arguments": {"agent": "fake", "prompt": f"task {n}"}}})
                    + "\n")
            server.stdin.flush()
        answers = []
        for server in servers:
            out, err = server.communicate(timeout=10)  # closes stdin: the server ends
            self.assertEqual(server.returncode, 0, err)
            answers += map(json.loads, out.splitlines())
        queued = [a["result"]["content"][0]["text"].split()[1] for a in answers if a["id"]]
        self.assertEqual(len(set(queued)), 6, answers)
        listed = json.loads(self.ok("status", "--json"))
        self.assertEqual({t["id"] for t in listed}, set(queued))
