"""What a running task is doing: its plan's progress ("3/7", from the Markdown checklist the
protocol asks agents to keep and tick off) and the latest thing its agent said or did (the
log's last meaningful line, streamed JSON rendered as `logs` shows it). Reads are bounded:
a plan's head and a log's tail, whatever their size."""

import os
import re

PLAN_MAX = 64 * 1024   # a checklist longer than this is counted over its head
TAIL = 16 * 1024       # the end of a log looked at for its latest line
LATEST_MAX = 120

_ITEM = re.compile(r"^[ \t]*(?:[-*+]|\d+[.)])[ \t]+\[([ xX])\]", re.M)


def plan_progress(text):
    """(ticked, total) of a Markdown checklist's items, or None without one."""
    marks = _ITEM.findall(text)
    if not marks:
        return None
    return sum(1 for m in marks if m != " "), len(marks)


def latest(output, tail):
    """The last meaningful line of a log's `tail` (text, starting at a line), for an agent
    whose output is `output`; None when there is none."""
    from orchestra import transcript
    from orchestra.lastwords import last_words
    from orchestra.table import excerpt, printable
    if output in transcript.STREAMING:
        marks = transcript.Marks(unicode=True)
        lines = tail.split("\n")
        lines.pop()  # a JSON line still being written reads as no JSON at all
        for line in reversed(lines):
            for shown in reversed(transcript.render_line(output, line, marks)):
                if shown.strip() and not shown.startswith(("===", "---")):
                    return excerpt(printable(shown.strip()), LATEST_MAX)
        return None
    words = last_words(tail)
    return excerpt(words, LATEST_MAX) if words else None


def read_plan(path):
    try:
        with open(path, "rb") as f:
            return plan_progress(f.read(PLAN_MAX).decode("utf-8", "replace"))
    except OSError:
        return None


def read_latest(path, output):
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            start = max(0, size - TAIL)
            f.seek(start)
            data = f.read(TAIL)
    except OSError:
        return None
    text = data.decode("utf-8", "replace")
    if start:
        text = text.partition("\n")[2]
    return latest(output, text)


def progress_text(progress):
    return f"{progress[0]}/{progress[1]}" if progress else ""
