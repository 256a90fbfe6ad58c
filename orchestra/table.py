"""Pure rendering of the status table, its summary line and progress lines. No I/O.

`Style` carries the two decisions made once by the CLI: colour, and whether the terminal
takes Unicode icons.
"""

import time

from orchestra import cells as _cells, dependencies
from orchestra.clock import human
from orchestra.task import CONFIG, LIMIT, SCHEDULED, Status

_RESET = "\x1b[0m"
_CODES = {"bold": "1", "dim": "2", "red": "31", "green": "32", "yellow": "33", "blue": "34",
          "magenta": "35", "cyan": "36"}
_STATUS_COLOR = {Status.PENDING: "yellow", Status.RUNNING: "cyan", Status.COMPLETED: "green",
                 Status.FAILED: "red", Status.CANCELLED: "magenta"}
_ICONS = {Status.PENDING: ("○", "."), Status.RUNNING: ("▶", ">"), Status.COMPLETED: ("✔", "+"),
          Status.FAILED: ("✖", "x"), Status.CANCELLED: ("⊘", "-")}
RETRY_ICON = ("↻", "~")
HEADERS = ("ID", "AGENT", "STATUS", "AGE", "TIME", "TRY", "CHANGES", "PROMPT")
_CHANGES = 6
_AGENT, _STATUS, _PROMPT = 1, 2, 7
_GAP = "  "
# How the columns give way as the terminal narrows, each step taken only while a row is still
# too wide: the prompt, which otherwise fills the width, shrinks to _MIN_PROMPT cells; then
# CHANGES, AGE, TRY and TIME are left out in turn (CHANGES shows only where there is room, and
# only when a task has recorded some); then STATUS is cut to _MIN_STATUS cells and AGENT to
# _MIN_AGENT; then the prompt shrinks to nothing. The ID is never cut by the layout; a line
# still too wide after all that (ids longer than the width allows) is cut at the width.
_MIN_PROMPT = 12
_DROP_ORDER = (_CHANGES, 3, 5, 4)
_MIN_STATUS = 11
_MIN_AGENT = 6
_MAX_PROMPT = 72  # with no width to fill (piped, no COLUMNS)
_KEPT_PROMPT = 400  # characters of a prompt the scan cache keeps: wider than any terminal row
_PENDING, _RUNNING, _FAILED = (Status.PENDING.value, Status.RUNNING.value,
                              Status.FAILED.value)


class Style:
    def __init__(self, color=False, unicode=True):
        self.color = color
        self.unicode = unicode
        self.sep = " · " if unicode else " - "      # between the parts of a summary line
        self.ellipsis = "…" if unicode else "~"     # where text was cut
        self.minus = "−" if unicode else "-"        # of lines removed: "+12 −3"

    def paint(self, text, *names):
        if not self.color or not names:
            return text
        return "\x1b[" + ";".join(_CODES[n] for n in names) + "m" + text + _RESET

    def icon(self, pair):
        return pair[0] if self.unicode else pair[1]

    def status_icon(self, status):
        return self.icon(_ICONS[status])

    def status_color(self, status):
        return _STATUS_COLOR[status]


# C0 and C1 control characters but tab and newline: a prompt or an agent's message printed
# must not drive the terminal (retitle it, clear it, move the cursor).
_CONTROLS = dict.fromkeys([*range(0, 9), *range(11, 32), *range(127, 160)], "?")


def printable(text):
    text = str(text)
    return text if text.isprintable() else text.translate(_CONTROLS)


def excerpt(text, limit, ellipsis="…"):
    flat = printable(" ".join(str(text).split()))
    if len(flat) <= limit:
        return flat
    return flat[:max(0, limit - 1)] + ellipsis if limit > 1 else flat[:limit]


def status_text(task, now, style, waits=()):
    """'▶ running', '✖ failed: timeout', '↻ retry in 4s', '○ waits: task_…a1b2c3 +1'.

    `waits`: the dependencies it still waits on."""
    # Reads task.data directly: status renders thousands of rows.
    state, d = task.state, task.data
    if state is Status.PENDING and waits:
        more = f" +{len(waits) - 1}" if len(waits) > 1 else ""
        return f"{style.status_icon(state)} waits: task_{style.icon(('…', '~'))}{waits[0][-6:]}{more}"
    if state is Status.PENDING and d["reason"] == CONFIG:
        return f"{style.status_icon(state)} waits: agent config"
    if state is Status.PENDING and d["not_before"] and task.ready_at() > now:
        if d["reason"] == LIMIT:
            until = time.strftime("%H:%M", time.localtime(task.ready_at()))
            return f"{style.status_icon(state)} limited until {until}"
        if d["reason"] == SCHEDULED:
            return f"{style.status_icon(state)} at {local_time(task.ready_at(), now)}"
        return f"{style.icon(RETRY_ICON)} retry in {human(task.ready_at() - now)}"
    return f"{style.status_icon(state)} {_word(task)}"


def local_time(at, now):
    """'16:00' in local time, or '2026-12-03 16:00' when that is not today."""
    day = "" if time.localtime(at)[:3] == time.localtime(now)[:3] else "%Y-%m-%d "
    return time.strftime(day + "%H:%M", time.localtime(at))


def _word(task):
    """'completed', 'failed: timeout': the status without its icon."""
    d = task.data
    if d["status"] == _FAILED and d["reason"]:
        return f"{d['status']}: {d['reason']}"
    return d["status"]


def attempt_text(task):
    """'2/3' (attempt of the ones allowed) with automatic retries, else just the attempt."""
    attempt, retries = task.data["attempt"], task.data["max_retries"]
    if not attempt:
        return "-"
    if not retries:
        return str(attempt)
    # After a `retry` by hand the attempts can outnumber 1 + max_retries: never show 3/2.
    return f"{attempt}/{max(attempt, 1 + retries)}"


def elapsed(task, now):
    started = task.started()
    if started is None:
        return None
    if task.state is Status.RUNNING:
        return now - started
    finished = task.finished()
    return (finished - started) if finished is not None else None


# Of fixed_cells' output, in the header of the scan caches that keep it: bump it whenever
# that output changes, so that caches holding the old cells are rebuilt rather than shown.
CELLS_FORMAT = 5


def fixed_cells(task):
    """The cells of a task's row that depend on its file alone, not on the clock, the style or
    the other tasks: (STATUS without its icon, TIME or None while it runs, TRY, PROMPT, and
    (lines added, removed) or None). The scan cache keeps them (`task.memo`), so a `status`
    does not compute them again. Labels lead the prompt: `[docs,urgent] the prompt`."""
    d = task.data
    took = None if d["status"] == _RUNNING else human(elapsed(task, None))
    text = d["prompt"]
    if d["labels"]:
        text = f"[{','.join(d['labels'])}] {text}"
    # One character past what a row shows, with no ellipsis: render cuts it, in the style's.
    prompt = printable(" ".join(text.split())[:_KEPT_PROMPT + 1])
    if prompt == d["prompt"]:
        prompt = d["prompt"]  # the same object, which marshal stores once in the scan cache
    changes = d["changes"]
    return (_word(task), took, attempt_text(task), prompt,
            (changes[1], changes[2]) if changes else None)


def tally(task):
    """What the summary line adds up of a task: (cost in USD, tokens in, tokens out, whether it
    waits for review), or None when it has none of them. The scan cache keeps it with the
    task's status, so that a summary of every task unpacks none of them."""
    d = task.data
    review = bool(_to_review(d))
    if d["cost_usd"] is None and d["tokens_in"] is None and d["tokens_out"] is None \
            and not review:
        return None
    return (d["cost_usd"], d["tokens_in"], d["tokens_out"], review)


def changes_text(changes, style):
    """'+12 −3': the lines a task's branch added and removed ([files, added, removed])."""
    return f"+{changes[-2]} {style.minus}{changes[-1]}"


def _rows(tasks, now, style, status_of, short, progress):
    icons = {s.value: style.status_icon(s) + " " for s in Status}
    rows = []
    for task in tasks:
        d = task.data
        word, took, attempt, prompt, lines = task.memo(fixed_cells)
        state = d["status"]
        if state == _PENDING and (d["not_before"] or d["depends_on"] and status_of is not None):
            waits = dependencies.unmet(task, status_of) if status_of is not None else ()
            status = status_text(task, now, style, waits)
        else:
            status = icons[state] + word
            if d["id"] in progress:
                status += " " + progress[d["id"]]
        rows.append((short.get(d["id"], d["id"]), d["agent"], status, human(now - task.created()),
                     human(elapsed(task, now)) if took is None else took, attempt,
                     changes_text(lines, style) if lines else "-", prompt))
    return rows


def render(tasks, now, style, width=None, status_of=None, short=None, ordered=False,
           progress=None):
    """The table, oldest first (`ordered`: in the order given), fitted into `width` terminal
    cells (None: no limit) as the comment on _DROP_ORDER says. `status_of` (id -> status of
    every known task) lets pending tasks say what they wait on; `short` (id -> abbreviation,
    orchestra.ids) what the ID column shows instead of the id; `progress` (id -> "3/7") the
    plan progress that follows a running task's status."""
    if not ordered:
        tasks = sorted(tasks, key=lambda t: (t.data["created_at"] or "", t.data["id"]))
    rows = _rows(tasks, now, style, status_of, short or {}, progress or {})
    columns = list(zip(*rows)) or [()] * len(HEADERS)
    # The status icons are all one cell wide, so len() measures that column; agent names and
    # prompts are measured in cells.
    widths = [max(len(h), max(map(_cells.width if i in (_AGENT, _PROMPT) else len, c), default=0))
              for i, (h, c) in enumerate(zip(HEADERS, columns))]
    shown = list(range(len(HEADERS)))
    if not any(t.data["changes"] for t in tasks):
        shown.remove(_CHANGES)
    if width is None:
        widths[_PROMPT] = min(widths[_PROMPT], _MAX_PROMPT)
        too_wide = False
    else:
        too_wide = not fit_columns(widths, shown, width)
    if too_wide and style.color:
        style = _plain(style)  # lines are cut at the width below, which colour codes would upset
    ellipsis = style.ellipsis
    last, padded = shown[-1], shown[:-1]
    lines = [_GAP.join(style.paint(HEADERS[i].ljust(widths[i]) if i != last
                                   else _cells.cut(HEADERS[i], widths[i], ellipsis), "bold")
                       for i in shown)]
    # A row is one %-format of a template, faster than padding a thousand rows cell by cell;
    # a column left out is formatted as "%.0s", as nothing.
    specs = [f"%-{widths[i]}s" if i in padded else "%s" if i == last else "%.0s"
             for i in range(len(HEADERS))]
    if style.color:
        specs[0] = style.paint(specs[0], "dim")
        specs[_STATUS] = "%s"  # padded and painted row by row, in the colour of its status
    specs[_AGENT] = "%s"  # padded row by row: a wide name needs fewer spaces than %-Ns gives
    template = "".join((_GAP if i in shown[1:] else "") + spec for i, spec in enumerate(specs))
    limit, agent_room, status_room = widths[last], widths[_AGENT], widths[_STATUS]
    for task, row in zip(tasks, rows):
        prompt = row[last]
        if len(prompt) > limit or not prompt.isascii():
            prompt = _cells.cut(prompt, limit, ellipsis)  # as excerpt() would: it is flat already
        agent, status = row[_AGENT], row[_STATUS]
        if len(status) > status_room:
            status = _cells.cut(status, status_room, ellipsis)
        if agent.isascii() and len(agent) <= agent_room:
            agent = agent.ljust(agent_room)
        else:
            agent = _cells.pad(_cells.cut(agent, agent_room, ellipsis), agent_room)
        if style.color:
            status = style.paint(status.ljust(status_room), style.status_color(task.state))
        line = (template % (row[0], agent, status, *row[3:last], prompt)).rstrip()
        lines.append(line)
    if too_wide:
        lines = [_cells.cut(line, width, ellipsis) for line in lines]
    return "\n".join(lines)


def fit_columns(widths, shown, width):
    """Fit the columns into `width` cells, changing `widths` and `shown` in place, step by step
    as the comment on _DROP_ORDER says; False if even the last step leaves rows too wide."""
    full_prompt = widths[_PROMPT]

    def room():  # cells the prompt can have, the other columns as they are now
        return width - sum(widths[i] for i in shown if i != _PROMPT) - len(_GAP) * (len(shown) - 1)

    steps = [("drop", i) for i in _DROP_ORDER] + [("cut", _STATUS), ("cut", _AGENT)]
    for kind, column in [(None, None)] + steps:
        if kind == "drop" and column in shown:
            shown.remove(column)
        elif kind == "cut":
            widths[column] = min(widths[column], _MIN_STATUS if column == _STATUS else _MIN_AGENT)
        if room() >= min(full_prompt, _MIN_PROMPT):
            widths[_PROMPT] = min(full_prompt, room())
            return True
    widths[_PROMPT] = max(0, room())
    return room() >= 0


def _plain(style):
    return Style(color=False, unicode=style.unicode)


def summary(tasks, hidden, supervisor, style, paused=False):
    """'4 tasks: 1 running, 2 pending, 1 failed · supervisor pid 42, parallel 2'."""
    return summary_of(*counted(tasks), hidden, supervisor, style, paused)


def counted(tasks):
    """What summary() reads of `tasks`: (how many, {Status: how many}, their tallies that are
    not None)."""
    counts = {}
    tallies = []
    for t in tasks:
        state = t.state
        counts[state] = counts.get(state, 0) + 1
        spent = t.memo(tally)
        if spent is not None:
            tallies.append(spent)
    return len(tasks), counts, tallies


def summary_of(n, counts, tallies, hidden, supervisor, style, paused=False):
    """summary() of tasks as counted() gives them."""
    parts = [f"{counts[s]} {s.value}" for s in Status if counts.get(s)]
    text = f"{n} task{'s' if n != 1 else ''}" + (": " + ", ".join(parts) if parts else "")
    if hidden:
        text += f" ({hidden} older finished hidden; --all shows them)"
    review = sum(1 for spent in tallies if spent[3])
    if review:
        text += style.sep + f"{review} to review: `orchestra diff ID`, `orchestra merge ID`"
    costs = [spent[0] for spent in tallies if spent[0] is not None]
    tokens = [(spent[1] or 0) + (spent[2] or 0) for spent in tallies
              if spent[1] is not None or spent[2] is not None]
    if costs or tokens:
        spent = [f"${sum(costs):.2f}"] if costs else []
        spent += [f"{_count(sum(tokens))} tokens"] if tokens else []
        text += style.sep + ", ".join(spent)
    if supervisor is not None:
        kind = "daemon" if supervisor.get("daemon") else "supervisor"
        text += style.sep + f"{kind} pid {supervisor.get('pid', '?')}, parallel {supervisor.get('parallel', '?')}"
    elif counts.get(Status.PENDING) or counts.get(Status.RUNNING):
        text += style.sep + "no supervisor: `orchestra run` starts one"
    if paused:
        text += style.sep + "PAUSED: no task starts until `orchestra resume`"
    return text


def _to_review(d):
    """A completed task whose branch holds changes not yet merged (merge = manual, or an auto
    merge that was not clean or safe)."""
    return (d["status"] == "completed" and d["branch"] and not d["merged"]
            and d["changes"] and d["changes"][0])


def _count(n):
    return f"{n / 1000:.1f}k" if n >= 10000 else str(n)


def progress(before, after, now, style):
    """One line for a change the supervisor made, for `run --wait`."""
    state = after.state
    tid = style.paint(after.id, "dim")
    if state is Status.RUNNING:
        return f"{style.status_icon(state)} {tid} {after.agent}: started (attempt {after.attempt})"
    if state is Status.PENDING and after.reason == CONFIG:
        return (f"{style.status_icon(state)} {tid} {after.agent}: waits for the agent config "
                f"({printable(after.error)}); it starts once the config is valid")
    if state is Status.PENDING and after.reason == LIMIT:
        return (f"{style.status_icon(state)} {tid} {after.agent}: usage limit, resumes at "
                f"{local_time(after.ready_at() or now, now)} ({printable(after.error)})")
    if state is Status.PENDING:
        wait = human(max(0.0, after.ready_at() - now))
        return (f"{style.paint(style.icon(RETRY_ICON), 'yellow')} {tid} {after.agent}: "
                f"{after.reason} ({printable(after.error)}); retry {after.retries}/{after.max_retries} in {wait}")
    mark = style.paint(style.status_icon(state), style.status_color(state))
    took = human(elapsed(after, now))
    if state is Status.COMPLETED:
        return f"{mark} {tid} {after.agent}: completed in {took}"
    if state is Status.FAILED:
        return f"{mark} {tid} {after.agent}: failed ({after.reason}) after {took}: {printable(after.error)}"
    return f"{mark} {tid} {after.agent}: cancelled"
