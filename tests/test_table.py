"""Table rendering against golden files. Regenerate them with UPDATE_GOLDEN=1 after an
intended change, and read the diff before committing."""

import os
import unittest

from orchestra import table
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

    def test_every_width_fits_or_keeps_the_essentials(self):
        for width in range(40, 160, 7):
            text = table.render(sample(), NOW, Style(color=False), width=width)
            first = text.splitlines()[0]
            self.assertTrue(first.startswith("ID") and "STATUS" in first and "PROMPT" in first)
            if width >= 70:
                self.assertTrue(all(len(l) <= width for l in text.splitlines()), width)


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
