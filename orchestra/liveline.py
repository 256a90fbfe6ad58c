"""`run --wait` on a terminal: under the lines of what changed, one live line per running task
(its run time, plan progress and latest activity), redrawn every second in place. Piped,
`run --wait` prints only the lines of what changed."""

import os
import threading
import time

from orchestra import activity
from orchestra.table import elapsed, excerpt, printable
from orchestra.clock import human
from orchestra.task import Status

REDRAW_EVERY = 1.0
_UP_AND_CLEAR = "\x1b[{n}F\x1b[J"  # to the start of the line n lines up, then clear below


class LiveLines:
    """Owns the terminal's last lines while `run --wait` supervises: `say` prints a line above
    them; a thread redraws them from the task files every REDRAW_EVERY."""

    def __init__(self, console, layout, clock=time.time):
        from orchestra.store import Store
        self.console, self.layout, self.clock = console, layout, clock
        self.store = Store(layout)
        self.shown = 0  # live lines on the screen now
        self.lock = threading.Lock()
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._loop, name="orchestra-live", daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.close()

    def close(self):
        """Stop redrawing and take the live lines off the screen (before a summary or a
        warning is printed under them)."""
        if self.stopped.is_set():
            return
        self.stopped.set()
        if self.thread.is_alive():
            self.thread.join()
        with self.lock:
            self._draw([])

    def say(self, text):
        if self.stopped.is_set():
            self.console.out(text)
            return
        with self.lock:
            lines = self._live_lines()
            self._draw([text], keep=False)
            self._draw(lines)

    def _loop(self):
        while not self.stopped.wait(REDRAW_EVERY):
            try:
                with self.lock:
                    self._draw(self._live_lines())
            except (OSError, ValueError):
                return  # the terminal went away: the lines of what changed say what matters
            except Exception:  # noqa: BLE001 -- a half-written task file; the next second redraws
                continue

    def _live_lines(self):
        now = self.clock()
        running = [t for t in self.store.scan().tasks.values() if t.state is Status.RUNNING]
        running.sort(key=lambda t: (t.started() or 0, t.id))
        return [self.line(t, now) for t in running]

    def line(self, task, now):
        """Plain text: cut to the width, a line with colours in it would be cut wrong."""
        style = self.console.style
        took = human(elapsed(task, now) or 0)
        parts = [f"{style.status_icon(Status.RUNNING)} {task.id} {task.agent}: {took}"]
        done = activity.read_plan(self.layout.plan_file(task.id))
        if done:
            parts.append(f"plan {activity.progress_text(done)}")
        said = activity.read_latest(self.layout.log_file(task.id), task.output)
        if said:
            parts.append(printable(said))
        return style.sep.join(parts)

    def _draw(self, lines, keep=True):
        """Replace the live lines on screen by `lines`; keep=False prints them for good."""
        try:  # read each time: the terminal may have been resized
            width = os.get_terminal_size(self.console.stdout.fileno()).columns
        except (OSError, ValueError):
            width = self.console.width or 80
        width = max(20, width - 1)  # a wrapped line would break the count of lines to redraw
        text = _UP_AND_CLEAR.format(n=self.shown) if self.shown else ""
        if keep:
            lines = [excerpt(line, width, self.console.style.ellipsis) for line in lines]
        text += "".join(line + "\n" for line in lines)
        self.shown = len(lines) if keep else 0
        self.console.write(text)
