"""`status` as a terminal shows it: the fitted default table, `--watch` in a real terminal
(tmux) across resizes with wide text, and `--json --watch` as JSON Lines."""

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import unittest

from orchestra import cells, ids, table
from orchestra.clock import iso
from orchestra.commands import status
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.table import Style
from orchestra.task import Task
from tests.helpers import main_in_process, wait_until

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
PROMPTS = ["サインアップフォームに入力検証を追加する", "Fix 🚀 the flaky test ✅", "Say héllo to 世界",
           "Refactor utils.py into smaller modules and write tests for every function"]


def make_project(case, pending=3, finished=3):
    """A project of task files written as they are (no supervisor, nothing running)."""
    root = tempfile.mkdtemp(prefix="orchestra-watch-")
    case.addCleanup(shutil.rmtree, root, True)
    store = Store(Layout(root))
    store.ensure()
    now = time.time()
    tasks = []
    for n in range(pending + finished):
        task = Task.new(f"task_{int(now * 1000) - 10_000 + n}_{n:06x}", "demo",
                        PROMPTS[n % len(PROMPTS)], now - 10 + n / 1000)
        if n >= pending:
            task.update(status="completed", attempt=1, started_at=iso(now - 9),
                        finished_at=iso(now - 9 + n))
        with open(store.layout.task_file(task.id), "w", encoding="utf-8") as f:
            json.dump(task.to_dict(), f)
        tasks.append(task)
    return root, tasks


class FittedTableTest(unittest.TestCase):
    def test_a_piped_status_shows_what_fits_and_says_what_it_leaves_out(self):
        root, _ = make_project(self, pending=40, finished=40)
        code, out, err = main_in_process(root, "status")
        self.assertEqual(code, 0, err)
        lines = out.splitlines()
        self.assertEqual(len(lines), 1 + status.PIPED_ROWS + 3)  # header, rows, note, "", summary
        self.assertIn("15 finished and 15 pending not shown; `orchestra status --all`", out)
        self.assertTrue(lines[-1].startswith("80 tasks: 40 pending, 40 completed"))
        code, out, _ = main_in_process(root, "status", "--all")
        self.assertEqual(len(out.splitlines()), 1 + 80 + 2)
        self.assertNotIn("not shown", out)
        code, out, _ = main_in_process(root, "status", "--json")
        self.assertEqual(len(json.loads(out)), 80)  # complete


    def test_a_terminal_gets_a_screenful_with_the_header_on_top(self):
        import io
        from orchestra.cli import Console
        root, _ = make_project(self, pending=40, finished=40)
        console = Console(io.StringIO(), io.StringIO(), Style(), 30, True, 12)
        layout = Layout(root)
        for width, height, footer in ((80, 24, None), (30, 12, None), (30, 12, "every 2s")):
            lines = status._frame(Store(layout, persist_cache=True), None, layout, console, (),
                                  False, None, width, height, footer)
            # a plain status leaves the last line to the shell's prompt
            self.assertLessEqual(len(lines), height - (footer is None), (width, lines))
            self.assertTrue(lines[0].startswith("ID"))
            self.assertTrue(all(cells.width(line) <= width for line in lines), lines)
            self.assertTrue(any("not shown" in line for line in lines))


@unittest.skipUnless(shutil.which("tmux"), "needs tmux")
class WatchInTerminalTest(unittest.TestCase):
    def tmux(self, *argv):
        return subprocess.run(["tmux", "-u", "-L", self.socket, *argv], capture_output=True,
                              text=True, encoding="utf-8", check=True).stdout

    def setUp(self):
        self.socket = f"orchestra-watch-{os.getpid()}"
        self.addCleanup(subprocess.run, ["tmux", "-L", self.socket, "kill-server"],
                        capture_output=True)

    def screen(self):
        # -J joins a wrapped row back into one line, so a row that wrapped is wider than
        # the pane
        return self.tmux("capture-pane", "-p", "-J", "-t", "w").rstrip("\n").split("\n")

    def test_watch_fits_every_width_and_gives_the_terminal_back(self):
        root, tasks = make_project(self)
        env = dict(os.environ, PYTHONPATH=REPO, LANG="C.UTF-8", LC_ALL="C.UTF-8",
                   TERM="xterm-256color")
        env.pop("NO_COLOR", None)
        command = (f"trap true INT; printf 'BEFORE\\n'; {sys.executable} -m orchestra --root {root} status "
                   f"--watch --interval 5; printf 'EXIT=%s\\n' $?; sleep 30")
        subprocess.run(["tmux", "-u", "-L", self.socket, "new-session", "-d", "-s", "w",
                        "-x", "200", "-y", "50", "sh", "-c", command], env=env, check=True)
        for columns in (200, 80, 50, 30):
            if columns != 200:
                self.tmux("resize-window", "-t", "w", "-x", str(columns), "-y", "20")
            short = ids.abbreviations([t.id for t in tasks])
            header = table.render(tasks, time.time(), Style(), width=columns,
                                  short=short).split("\n")[0]

            def drawn():  # the frame for this width (the interval is long: a resize draws it)
                lines = self.screen()
                return lines[0].rstrip() == header and any("Ctrl-C quits" in l for l in lines)
            wait_until(drawn, timeout=5, interval=0.02, message=f"a frame at {columns} columns")
            lines = self.screen()
            self.assertTrue(all(cells.width(l.rstrip()) <= columns for l in lines),
                            (columns, lines))
            self.assertEqual(self.tmux("display-message", "-p", "-t", "w", "#{alternate_on}"),
                             "1\n")
            if columns == 200:
                self.assertIn("サインアップフォームに入力検証を追加する", "".join(lines))
            self.assertEqual(sum(1 for l in lines if l.split(" ")[0] in short.values()),
                             len(tasks))
        self.tmux("send-keys", "-t", "w", "C-c")
        wait_until(lambda: any(l.startswith("EXIT=") for l in self.screen()), timeout=5,
                   interval=0.02, message="the watch to exit")
        lines = [l for l in self.screen() if l.strip()]
        self.assertEqual(lines, ["BEFORE", "EXIT=0"])  # the main screen, as it was
        self.assertEqual(self.tmux("display-message", "-p", "-t", "w", "#{alternate_on}"),
                         "0\n")


class JsonWatchTest(unittest.TestCase):
    def test_one_json_document_a_line_and_nothing_else(self):
        root, tasks = make_project(self, pending=2, finished=1)
        env = dict(os.environ, PYTHONPATH=REPO)
        proc = subprocess.Popen([sys.executable, "-S", "-m", "orchestra", "--root", root, "status",
                                 "--json", "--watch", "--interval", "0.05"], env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            first = proc.stdout.readline()
            # a change: a task cancelled by hand shows as a second document
            task = tasks[0].copy()
            task.update(status="cancelled", finished_at=iso(time.time()))
            path = Layout(root).task_file(task.id)
            with open(path + ".tmp", "w", encoding="utf-8") as f:
                json.dump(task.to_dict(), f)
            os.replace(path + ".tmp", path)
            second = proc.stdout.readline()
        finally:
            proc.send_signal(signal.SIGINT)
            try:
                rest, err = proc.communicate(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()  # (SIGINT is ignored where the tests were started with `&`)
                proc.communicate()
                raise
        self.assertEqual(proc.returncode, 0, err)
        docs = [json.loads(line) for line in (first, second) + tuple(rest.splitlines())]
        self.assertEqual(len(docs), 2)  # printed at a change, not at every interval
        self.assertEqual([d["status"] for d in docs[0]], ["pending", "pending", "completed"])
        self.assertEqual(docs[1][0]["status"], "cancelled")


if __name__ == "__main__":
    unittest.main()
