"""Table rendering against golden files. Regenerate them with UPDATE_GOLDEN=1 after an
intended change, and read the diff before committing."""

import os
import unittest

from orchestra import cells, overview, table
from orchestra.clock import iso
from orchestra.table import Style
from orchestra.task import Task

NOW = 1_790_000_000.0
GOLDEN = os.path.join(os.path.dirname(__file__), "golden")


def sample():
    def t(n, agent, prompt, **fields):
        task = Task.new(f"task_{1789990000000 + n * 1000}_{n:06x}", agent, prompt,
                        1_789_990_000 + n)
        task.update(**fields)
        return task
    return [
        t(1, "claude", "Add input validation to the signup form and write tests for every field",
          status="completed", attempt=1, started_at=iso(NOW - 900), finished_at=iso(NOW - 780)),
        t(2, "codex", "Refactor utils.py\ninto   smaller modules", status="failed", reason="timeout",
          attempt=3, max_retries=2, started_at=iso(NOW - 700), finished_at=iso(NOW - 100)),
        t(3, "demo", "Say hello", status="running", attempt=1, started_at=iso(NOW - 65)),
        t(4, "gemini", "Write docs", status="pending", attempt=1, max_retries=3, retries=1,
          reason="exit", not_before=iso(NOW + 4)),
        t(5, "aider", "Fix the flaky test", status="pending"),
        t(6, "opencode", "Nothing", status="cancelled", started_at=iso(NOW - 50),
          finished_at=iso(NOW - 40), attempt=1),
        t(7, "claude", "Document it", status="pending",
          depends_on=["task_1789990003000_000003", "task_1789990001000_000001"]),
    ]


def wide_sample():
    """The sample with CJK, emoji, combining marks and a wide agent name."""
    tasks = sample()
    tasks[0].update(prompt="サインアップフォームに入力検証を追加し、すべての項目のテストを書く")
    tasks[1].update(prompt="Refactor 🚀 utils.py 👩‍💻 into smaller modules ✅")
    tasks[2].update(prompt="Say héllo to 世界")
    tasks[4].update(agent="助手")
    return tasks


class GoldenTest(unittest.TestCase):
    def check(self, name, text):
        path = os.path.join(GOLDEN, name)
        if os.environ.get("UPDATE_GOLDEN"):
            with open(path, "w", encoding="utf-8") as f:
                f.write(text + "\n")
        with open(path, encoding="utf-8") as f:
            self.assertEqual(text + "\n", f.read(), f"{name} differs (UPDATE_GOLDEN=1 rewrites it)")

    def test_plain(self):
        style = Style(color=False, unicode=True)
        status_of = {t.id: t.status for t in sample()}
        text = table.render(sample(), NOW, style, status_of=status_of) + "\n\n" + table.summary(
            sample(), 3, {"pid": 4242, "parallel": 2, "daemon": True}, style, paused=True)
        self.check("status_plain.txt", text)

    def test_color(self):
        self.check("status_color.txt", table.render(sample(), NOW, Style(color=True, unicode=True)))

    def test_ascii_style_writes_only_ascii(self):
        style = Style(color=False, unicode=False)
        tasks = sample()
        long = tasks[0].copy()
        long.update(prompt="word " * 40)
        tasks[0] = long
        for width in (None, 60, 200):
            table.render(tasks, NOW, style, width=width).encode("ascii")
        table.summary(tasks, 3, {"pid": 1, "parallel": 2}, style, paused=True).encode("ascii")

    def test_ascii_narrow(self):
        text = table.render(sample(), NOW, Style(color=False, unicode=False), width=80)
        self.check("status_ascii_80.txt", text)
        self.assertTrue(all(len(line) <= 80 for line in text.splitlines()))
        self.assertFalse(any(ord(c) > 127 for c in text))

    def test_isolated_tasks_show_their_changes_where_there_is_room(self):
        tasks = sample()[:3]
        tasks[0].update(isolation="worktree", changes=[3, 12, 3])
        tasks[1].update(isolation="worktree", changes=[0, 0, 0])
        tasks[2].update(isolation="worktree")  # running: nothing recorded yet
        self.check("status_isolated.txt", table.render(tasks, NOW, Style(unicode=True)))
        ascii_text = table.render(tasks, NOW, Style(unicode=False), width=110)
        self.assertIn("  +12 -3  ", ascii_text)
        narrow = table.render(tasks, NOW, Style(unicode=True), width=80)
        self.assertNotIn("CHANGES", narrow)  # the first to give way
        self.assertIn("TIME", narrow)
        tasks[0].update(branch="orchestra/000001-add-input")
        self.assertIn("1 to review: `orchestra diff ID`", table.summary(tasks, 0, None, Style()))
        tasks[0].update(merged="2026-12-01T00:00:00.000Z")
        self.assertNotIn("to review", table.summary(tasks, 0, None, Style()))

    def test_no_row_is_wider_than_the_terminal(self):
        tasks = wide_sample()
        for width in range(30, 201):
            text = table.render(tasks, NOW, Style(color=False), width=width)
            widest = max(cells.width(line) for line in text.splitlines())
            self.assertLessEqual(widest, width, width)
            if width >= 70:
                self.assertTrue(text.startswith("ID") and "PROMPT" in text.splitlines()[0])

    def test_wide_text_at_200_80_50_30_columns(self):
        for width in (200, 80, 50, 30):
            text = table.render(wide_sample(), NOW, Style(color=False), width=width)
            self.check(f"status_wide_{width}.txt", text)

    def test_the_prompt_fills_a_wide_terminal(self):
        tasks = sample()[:1]
        tasks[0].update(prompt="word " * 60)
        line = table.render(tasks, NOW, Style(), width=200).splitlines()[1]
        self.assertEqual(cells.width(line), 200)
        self.assertTrue(line.endswith("…"))
        piped = table.render(tasks, NOW, Style(), width=None).splitlines()[1]
        self.assertLess(len(piped), 150)  # no width to fill: the prompt keeps its cap

    def test_columns_give_way_in_order(self):
        widths = [25, 8, 21, 5, 6, 3, 7, 60]
        steps = []
        for width in (200, 110, 100, 90, 80, 70, 60, 55, 45):
            w, shown = list(widths), [0, 1, 2, 3, 4, 5, 6, 7]
            fits = table.fit_columns(w, shown, width)
            steps.append((width, [table.HEADERS[i] for i in shown if i not in (0, 1, 2, 7)],
                          w[2], w[1], w[7], fits))
        self.assertEqual(steps, [
            (200, ["AGE", "TIME", "TRY", "CHANGES"], 21, 8, 60, True),   # the prompt fills
            (110, ["AGE", "TIME", "TRY", "CHANGES"], 21, 8, 21, True),   # the prompt shrinks
            (100, ["AGE", "TIME", "TRY"], 21, 8, 20, True),              # CHANGES goes first
            (90, ["TIME", "TRY"], 21, 8, 17, True),                      # then AGE
            (80, ["TIME"], 21, 8, 12, True),                             # then TRY
            (70, [], 11, 8, 20, True),                                   # TIME, STATUS cut
            (60, [], 11, 6, 12, True),                                   # then AGENT
            (55, [], 11, 6, 7, True),                                    # then the prompt
            (45, [], 11, 6, 0, False),                                   # lines are cut
        ])


class CellsTest(unittest.TestCase):
    def test_width_counts_terminal_cells(self):
        self.assertEqual(cells.width("hello"), 5)
        self.assertEqual(cells.width("世界"), 4)            # East Asian Wide
        self.assertEqual(cells.width("ＡＢ"), 4)            # Fullwidth
        self.assertEqual(cells.width("e\u0301"), 1)        # a combining mark
        self.assertEqual(cells.width("a\u200bb"), 2)       # a zero-width space
        self.assertEqual(cells.width("🚀"), 2)              # emoji are mostly Wide
        self.assertEqual(cells.width("✔ ▶ ○"), 5)           # the status icons are narrow

    def test_cut_by_cells(self):
        self.assertEqual(cells.cut("世界世界", 5), "世界…")
        self.assertEqual(cells.cut("世界世界", 8), "世界世界")
        self.assertEqual(cells.cut("abcdef", 4, "~"), "abc~")
        self.assertEqual(cells.cut("abc", 0), "")
        self.assertEqual(cells.width(cells.pad("世界", 6)), 6)

    def test_fold_keeps_every_line_within_the_width(self):
        text = "4 tasks: 1 running · supervisor pid 42, parallel 2 · 世界世界世界世界世界世界"
        lines = cells.fold(text, 20)
        self.assertTrue(all(cells.width(line) <= 20 for line in lines), lines)
        self.assertEqual(" ".join(lines).replace("…", ""), text[:len(" ".join(lines)) - 1])


class OverviewTest(unittest.TestCase):
    def tasks(self):
        out = []
        for n in range(30):
            state = "running" if n < 3 else "pending" if n < 13 else "completed"
            task = Task.new(f"task_{1789990000000 + n * 1000}_{n:06x}", "demo", f"p{n}",
                            1_789_990_000 + n, priority=5 if n == 12 else 0)
            task.update(status=state, started_at=iso(NOW - 100 + n) if state != "pending" else None,
                        finished_at=iso(NOW - 50 + n) if state == "completed" else None)
            out.append(task)
        return out

    def test_running_then_next_pending_then_latest_finished(self):
        fitted = overview.fit(self.tasks(), 9)
        prompts = [t.prompt for t in fitted.tasks]
        # finished (latest last), all running, pending in queue order (priority 5 first)
        self.assertEqual(prompts, ["p27", "p28", "p29", "p0", "p1", "p2", "p12", "p3", "p4"])
        self.assertEqual((fitted.finished_left, fitted.pending_left), (14, 7))
        self.assertIn("14 finished and 7 pending not shown", fitted.note(Style()))

    def test_running_tasks_are_never_hidden(self):
        fitted = overview.fit(self.tasks(), 2)
        self.assertEqual([t.prompt for t in fitted.tasks], ["p0", "p1", "p2"])

    def test_everything_fits(self):
        fitted = overview.fit(self.tasks(), 30)
        self.assertEqual(len(fitted.tasks), 30)
        self.assertEqual(fitted.note(Style()), "")


class PieceTest(unittest.TestCase):
    def test_excerpt_flattens_and_cuts(self):
        self.assertEqual(table.excerpt("a\n  b\tc", 10), "a b c")
        self.assertEqual(table.excerpt("abcdefghij", 5), "abcd…")

    def test_summary_without_supervisor_hints_at_run(self):
        text = table.summary(sample(), 0, None, Style())
        self.assertIn("no supervisor", text)
        self.assertTrue(text.startswith("7 tasks:"))
        self.assertIn("3 pending", text)

    def test_summary_totals_cost_and_tokens(self):
        tasks = sample()
        tasks[0].update(cost_usd=1.25, tokens_in=12000, tokens_out=3000)
        tasks[1].update(cost_usd=0.5, tokens_in=100, tokens_out=None)
        self.assertIn("$1.75, 15.1k tokens", table.summary(tasks, 0, None, Style()))
        self.assertNotIn("$", table.summary(sample(), 0, None, Style()))

    def test_no_escape_codes_without_colour(self):
        self.assertNotIn("\x1b[", table.render(sample(), NOW, Style(color=False)))

    def test_progress_lines(self):
        tasks = sample()
        style = Style(color=False, unicode=False)
        self.assertIn("completed in 2m00s", table.progress(None, tasks[0], NOW, style))
        self.assertIn("failed (timeout)", table.progress(None, tasks[1], NOW, style))
        self.assertIn("retry 1/3 in 4s", table.progress(None, tasks[3], NOW, style))


if __name__ == "__main__":
    unittest.main()
