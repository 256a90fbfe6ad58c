"""Hostile files under .orchestra/ (hand-edited task files, sentinels, agent output, config,
events, planted links): every command still runs without a traceback, names the file it had to
skip, and goes on with the other tasks. In-process: cli.main with captured output, and the
supervisor loop driven as tests/test_supervisor_resilience.py drives it."""

import contextlib
import io
import json
import os
import shutil
import sys
import tempfile
import traceback
import unittest
from unittest import mock

from orchestra import cli, lease, logfile
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.supervisor import Supervisor
from orchestra.task import Task, new_id
from tests.helpers import FAKE_AGENT, row_of

NOW = 1_790_000_000.0
DEEP = "[" * 3000 + "]" * 3000  # 6 KB: past the depth json's parser takes
DEEP_FIELD = '{"type": "result", "x": ' + DEEP + "}"
HUGE = "1e400"  # json reads it as inf


class _Tty(io.TextIOWrapper):
    def isatty(self):
        return True


class Project(unittest.TestCase):
    def setUp(self):
        self.new_project()

    def new_project(self):
        self.root = tempfile.mkdtemp(prefix="orchestra-test-")
        self.addCleanup(shutil.rmtree, self.root, True)
        self.layout = Layout(self.root)
        os.makedirs(self.layout.config_dir)
        with open(self.layout.agent_config, "w") as f:
            json.dump({"agents": {"fake": {"command": sys.executable,
                                           "args": ["-S", FAKE_AGENT, "{prompt}"],
                                           "promptTemplate": "{prompt}"}}}, f)
        self.store = Store(self.layout)
        self.store.ensure()

    def add(self, prompt="done", **fields):
        task = Task.new(new_id(), "fake", prompt, NOW)
        task.update(**fields)
        self.store.create(task)
        return task.id

    def plant(self, path, text):
        with open(path, "w") as f:
            f.write(text)

    def edit(self, tid, raw):
        """Replace `"key": value` pairs of the task file by raw JSON text (1e400 stays text)."""
        path = self.layout.task_file(tid)
        with open(path) as f:
            data = json.load(f)
        parts = [f"{json.dumps(k)}: {json.dumps(v)}" for k, v in data.items() if k not in raw]
        parts += [f"{json.dumps(k)}: {v}" for k, v in raw.items()]
        self.plant(path, "{" + ", ".join(parts) + "}")

    def main(self, *argv, tty=False):
        out = (_Tty if tty else io.TextIOWrapper)(io.BytesIO(), encoding="utf-8")
        err = io.StringIO()
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                code = cli.main(["--root", self.root, *argv])
        except BaseException:  # noqa: BLE001 -- what escapes cli.main is a traceback
            self.fail(f"{argv} raised:\n{traceback.format_exc()}\nstderr: {err.getvalue()}")
        out.flush()
        return code, out.buffer.getvalue().decode("utf-8", "replace"), err.getvalue()


def _running(**fields):
    return dict(status="running", started_at="2026-09-21T14:13:20.000Z", attempt=1, **fields)


# name -> (fields of the hostile task as raw JSON, other files to plant, whether the task file
# is skipped as unreadable). The hostile task is running with no live process unless it says.
CASES = {
    "pid as text": ({"status": '"running"', "pid": '"12345"', "pid_start": '"1"'}, {}, False),
    "pid 1": ({"status": '"running"', "pid": "1"}, {}, False),  # killpg(1) signals all
    "huge pid": ({"status": '"running"', "pid": "1" + "0" * 30}, {}, False),
    "cwd a number": ({"cwd": "5"}, {}, True),
    "status a list": ({"status": "[]"}, {}, True),
    "timeout infinite": ({"timeout": HUGE}, {}, True),
    "timeout huge int": ({"timeout": "1" + "0" * 400}, {}, True),
    "tokens a list": ({"status": '"completed"', "tokens_in": "[]", "tokens_out": '"9"'}, {}, False),
    "tokens infinite": ({"status": '"completed"', "tokens_in": HUGE, "cost_usd": HUGE}, {}, False),
    "tokens huge int": ({"status": '"completed"', "tokens_out": "9" * 4000,
                         "cost_usd": "9" * 400}, {}, False),
    "cost nan": ({"status": '"completed"', "cost_usd": "NaN"}, {}, False),
    "reason not text": ({"status": '"failed"', "reason": '{"a": 1}', "error": "5",
                         "exit_code": '"x"', "session_id": "[1]"}, {}, False),
    "exit code infinite": ({"status": '"failed"', "reason": '"exit"', "exit_code": HUGE}, {}, False),
    "lone surrogate": ({"status": '"running"', "prompt": '"\\ud800 x"'}, {}, False),
    "nested task file": (None, {}, True),
    "nested .error": ({"status": '"running"'}, {"error": DEEP}, False),
    "nested .error field": ({"status": '"running"'},
                            {"error": '{"error": ' + DEEP[:1500] + DEEP[4500:] + "}"}, False),
    "nested output": ({"status": '"running"', "output": '"claude-stream-json"'},
                      {"log": DEEP_FIELD + "\n"}, False),
    "infinite tokens in output": (
        {"status": '"running"', "output": '"claude-stream-json"'},
        {"log": '{"type": "result", "usage": {"input_tokens": 1e400, "output_tokens": '
                + "9" * 4000 + '}, "total_cost_usd": 1e400}\n'}, False),
    "infinite limit reset in output": (
        {"status": '"running"', "output": '"claude-stream-json"'},
        {"log": '{"type": "rate_limit_event", "rate_limit_info": {"status": "rejected", '
                '"resetsAt": 1e400}}\n{"type": "result", "is_error": true, "result": '
                '"usage limit reached, try again in ' + "9" * 400 + ' seconds"}\n'}, False),
    "nested events": ({}, {"events": DEEP + "\n[1]\n" + '{"time": 5}\n'}, False),
}

COMMANDS = (("status",), ("status", "--json"), ("status", "--all"), ("stats",),
            ("stats", "--json"), ("events",), ("events", "--json"))


class HostileTaskFilesTest(Project):
    def new_project(self):
        super().new_project()
        self.good = self.add("good one", status="completed", tokens_in=5, cost_usd=0.5,
                             started_at="2026-09-21T14:13:20.000Z",
                             finished_at="2026-09-21T14:13:21.000Z")
        self.pending = self.add("waiting one")

    def plant_case(self, fields, files):
        tid = self.add("hostile one", **_running())
        if fields is None:
            self.plant(self.layout.task_file(tid), '{"id": "%s", "x": %s}' % (tid, DEEP))
        else:
            self.edit(tid, fields)
        for kind, text in files.items():
            path = {"log": self.layout.log_file(tid), "events": self.layout.events}.get(
                kind) or self.layout.sentinel(tid, kind)
            self.plant(path, text)
        return tid

    def test_every_command_goes_on_past_a_hostile_file(self):
        signals = []

        def probe(real):
            def kill(pid, sig):
                real(pid, 0)  # the real answer to "does it live?", and to a pid of a wrong type
                if sig:
                    signals.append((pid, sig))  # and never sent
            return kill

        for name, (fields, files, skipped) in CASES.items():
            with self.subTest(name):
                self.new_project()
                tid = self.plant_case(fields, files)
                where = os.path.join(".orchestra", "tasks", tid + ".json")
                with mock.patch("os.kill", probe(os.kill)), \
                        mock.patch("os.killpg", probe(os.killpg)):
                    for argv in COMMANDS + (("show", self.good), ("show", tid),
                                            ("logs", self.good), ("logs", tid),
                                            ("wait", self.good, "--timeout", "0.01"),
                                            ("cancel", "--all")):
                        code, out, err = self.main(*argv)
                        self.assertNotIn("Traceback", err, argv)
                        if "--json" in argv and argv[0] != "events":
                            json.loads(out, parse_constant=self.fail)  # no inf, no NaN
                        if argv == ("status", "--all"):
                            self.assertEqual(code, 0, err)
                            self.assertIsNotNone(row_of(self.good, out), out)
                            self.assertIsNotNone(row_of(self.pending, out), out)
                            self.assertEqual(row_of(tid, out) is not None, not skipped, out)
                        if skipped and argv[0] in ("status", "stats"):
                            self.assertIn(where, err, argv)
                        if argv[0] in ("show", "logs") and argv[1] == tid and skipped:
                            self.assertEqual(code, 1, err)
                            self.assertIn(tid, err)
                        else:
                            self.assertEqual(code, 0, (argv, err))
                self.assertEqual(signals, [])

    def test_bad_optional_fields_are_read_as_absent(self):
        tid = self.add("hostile", status="completed")
        self.edit(tid, {"tokens_in": HUGE, "tokens_out": "[]", "cost_usd": "9" * 400,
                        "pid": '"12345"', "reason": "7", "exit_code": "true"})
        task = self.store.get(tid)
        self.assertEqual((task.tokens_in, task.tokens_out, task.cost_usd, task.pid, task.reason,
                          task.exit_code), (None,) * 6)
        code, out, err = self.main("stats", "--json")
        self.assertEqual(json.loads(out)["total"]["tokens_in"], 5)  # the good task's alone

    def test_a_hostile_pid_is_never_signalled(self):
        tid = self.add("hostile", **_running())
        self.edit(tid, {"pid": '"12345"'})
        with mock.patch("os.kill") as kill, mock.patch("os.killpg") as killpg:
            self.assertEqual(self.main("cancel", tid)[0], 0)
        self.assertEqual((kill.call_args_list, killpg.call_args_list), ([], []))
        self.assertEqual(self.store.get(tid).status, "cancelled")

    def test_hostile_config_files_are_one_line_errors(self):
        for path in (self.layout.agent_config, self.layout.settings):
            with self.subTest(os.path.basename(path)):
                self.plant(path, DEEP)
                for argv in (("start", "fake", "x"), ("config", "list")):
                    code, out, err = self.main(*argv)
                    self.assertNotIn("Traceback", err)
                    if path == self.layout.agent_config and argv[0] == "start" or \
                            path == self.layout.settings and argv[0] == "config":
                        self.assertEqual((code, err.count("\n")), (2, 1), err)
                        self.assertIn(os.path.basename(path), err)
                        self.assertIn("nested too deeply", err)
                os.unlink(path)


class HostileReadersTest(Project):
    def test_agent_output_nested_too_deep_or_infinite_is_ignored(self):
        from orchestra import verdict
        for fmt in ("claude-stream-json", "claude-json", "gemini-json"):
            with self.subTest(fmt):
                v = verdict.parse(fmt, DEEP_FIELD + "\n" + '{"type": "result", "usage": '
                                  '{"input_tokens": 1e400}, "total_cost_usd": -1e400}\n', NOW)
                self.assertEqual((v.tokens_in, v.cost_usd), (None, None))

    def test_hooks_skip_event_lines_that_are_not_events(self):
        from orchestra import hooks
        self.plant(self.layout.settings, '{"hooks": [{"on": [["x"]], "command": ["true"]}]}')
        runner = hooks.Runner(self.layout)
        self.addCleanup(runner.close, 0)
        runner.poll()  # a list in "on" is a bad config, not a TypeError
        self.assertEqual(runner.hooks, [])
        self.plant(self.layout.settings, '{"hooks": [{"command": ["true"]}]}')
        os.utime(self.layout.settings, ns=(0, 0))  # seen as changed whatever the clock's tick
        self.plant(self.layout.events, DEEP + "\n[1]\n5\n" + '{"task": 5, "to": "failed"}\n')
        runner.poll()  # raised on the deep line, then on [1]
        self.assertEqual(len(runner.hooks), 1)


class HostileSupervisorTest(Project):
    def supervise(self):
        lock = lease.lock_for(self.layout)
        self.assertTrue(lock.acquire(timeout=0))
        self.addCleanup(lambda: lock.held and lock.release())
        err = io.StringIO()
        # give_up_after: a tick failing every time (the bug) ends the test instead of hanging it
        with contextlib.redirect_stderr(err), mock.patch("time.sleep"):
            Supervisor(self.layout, lock, 2, give_up_after=3).run()
        return err.getvalue()

    def test_a_tick_settles_the_other_tasks_past_hostile_sentinels_and_output(self):
        nested_error = self.add("nested .error", **_running())
        self.plant(self.layout.sentinel(nested_error, "error"), DEEP)
        output = dict(_running(), output="claude-stream-json")
        nested_output = self.add("nested output", **output)
        self.plant(self.layout.log_file(nested_output), DEEP_FIELD + "\n")
        huge = self.add("huge tokens", **output)
        self.plant(self.layout.sentinel(huge, "exit"), "0\n")
        self.plant(self.layout.log_file(huge), '{"type": "result", "usage": {"input_tokens": '
                   '1e400}, "total_cost_usd": 1e400}\n')
        good = self.add("echo=ran done")
        log = self.supervise()
        self.assertNotIn("tick failed", log)
        self.assertEqual(self.store.get(good).status, "completed")
        failed = self.store.get(nested_error)
        self.assertEqual((failed.status, failed.reason), ("failed", "error"))
        self.assertTrue(failed.error.startswith("[[["), failed.error)
        # No result record could be read: the run was not lost in a traceback but judged.
        self.assertEqual(self.store.get(nested_output).status, "failed")
        done = self.store.get(huge)
        self.assertEqual((done.status, done.tokens_in, done.cost_usd), ("completed", None, None))

    def test_a_launch_whose_log_is_a_link_fails_and_writes_nothing_outside(self):
        outside = os.path.join(self.root, "outside.txt")
        self.plant(outside, "mine\n")
        tid = self.add("echo=ran done")
        os.symlink(outside, self.layout.log_file(tid))
        log = self.supervise()
        self.assertNotIn("tick failed", log)
        task = self.store.get(tid)
        self.assertEqual((task.status, task.reason), ("failed", "launch"))
        self.assertIn("is a symbolic link", task.error)
        with open(outside) as f:
            self.assertEqual(f.read(), "mine\n")


class LogsTest(Project):
    def setUp(self):
        super().setUp()
        self.tid = self.add("done", status="completed")

    def write_log(self, data):
        with open(self.layout.log_file(self.tid), "wb") as f:
            f.write(data)

    def test_a_linked_log_is_refused(self):
        outside = os.path.join(self.root, "secret.txt")
        self.plant(outside, "secret\n")
        os.symlink(outside, self.layout.log_file(self.tid))
        code, out, err = self.main("logs", self.tid)
        self.assertEqual((code, out), (1, ""))
        self.assertIn("is a symbolic link", err)
        self.assertEqual(err.count("\n"), 1, err)

    def test_to_a_terminal_controls_are_shown_not_obeyed(self):
        self.write_log(b"\x1b[31mred\x1b[0m \x1b]52;c;aGk=\x07 \x1b[2J\x1b[H\tok\r\n")
        code, out, err = self.main("logs", self.tid, tty=True)
        self.assertEqual(out, "\x1b[31mred\x1b[0m ^[]52;c;aGk=^G ^[[2J^[[H\tok\r\n")
        self.assertEqual(self.main("logs", self.tid, "--raw", tty=True)[1].encode(),
                         b"\x1b[31mred\x1b[0m \x1b]52;c;aGk=\x07 \x1b[2J\x1b[H\tok\r\n")
        # Piped: unchanged.
        self.assertIn("\x1b]52", self.main("logs", self.tid)[1])


class ForTerminalTest(unittest.TestCase):
    def shown(self, *chunks):
        state, out = bytearray(), b""
        for chunk in chunks:
            out += logfile.for_terminal(chunk, state)
        return out + logfile.for_terminal(b"", state, final=True)

    def test_plain_text_and_colours_are_kept(self):
        text = "plain text, tabs\tand lines\r\nÜnïcödé ✔\n".encode()
        self.assertEqual(self.shown(text), text)
        colours = b"\x1b[1;31mbold red\x1b[0m \x1b[38;2;255;0;0mtrue\x1b[m \x1b[38:5:1mx\x1b[0m"
        self.assertEqual(self.shown(colours), colours)

    def test_osc_52_and_cursor_moves_are_shown_as_text(self):
        self.assertEqual(self.shown(b"\x1b]52;c;ZXZpbA==\x07"), b"^[]52;c;ZXZpbA==^G")
        self.assertEqual(self.shown(b"\x1b]52;c;ZXZpbA==\x1b\\"), b"^[]52;c;ZXZpbA==^[\\")
        self.assertEqual(self.shown(b"a\x1b[2Ab\x1b[10;5Hc\x1b[?1049h"),
                         b"a^[[2Ab^[[10;5Hc^[[?1049h")
        self.assertEqual(self.shown(b"\x1b[>4;2m"), b"^[[>4;2m")  # a keyboard mode, not colour
        self.assertEqual(self.shown(b"\x00\x08\x7f"), b"^@^H^?")
        self.assertEqual(self.shown("\u009b2J\u009d0;t\u009c".encode()),
                         b"<U+009B>2J<U+009D>0;t<U+009C>")

    def test_a_sequence_split_between_reads_is_still_recognised(self):
        data = b"x\x1b[31mred\x1b[0m\x1b]0;title\x07" + "\u009b".encode()
        expected = b"x\x1b[31mred\x1b[0m^[]0;title^G<U+009B>"
        for cut in range(1, len(data)):
            self.assertEqual(self.shown(data[:cut], data[cut:]), expected, cut)
        self.assertEqual(self.shown(b"a\x1b", b"[", b"3", b"1m"), b"a\x1b[31m")

    def test_an_unfinished_sequence_at_the_end_is_shown(self):
        self.assertEqual(self.shown(b"a\x1b[3"), b"a^[[3")
        self.assertEqual(self.shown(b"\x1b[" + b"1;" * 40 + b"m"), b"^[[" + b"1;" * 40 + b"m")


if __name__ == "__main__":
    unittest.main()
