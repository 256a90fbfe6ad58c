"""`logs`: print a task's log; with --follow, keep printing until the task ends."""

import os
import time

from orchestra import archive, logfile
from orchestra.commands import args, full_id, refresh
from orchestra.paths import Layout
from orchestra.store import Store

FOLLOW_POLL = 0.1
SETTLE_EVERY = 1.0


def run(layout, console, task_id, follow=False, raw=False, lines=None):
    """lines: only the last N lines of what is shown so far (then, with follow, what comes)."""
    task_id = full_id(layout, task_id)
    store = Store(layout, persist_cache=True)
    task, archived = archive.find(store, task_id)
    path = archive.where(layout, task.id, archived, Layout.log_file)
    writer = _Writer(console, raw=raw or not console.is_tty,
                     output=None if raw else task.output, lines=lines)
    write = writer.write
    offset = 0
    last_settle = 0.0
    try:
        while True:
            offset = _copy(path, offset, write)
            if not follow:
                write(b"", final=True)
                writer.release()
                if offset == 0:
                    console.warn(f"{task.id} has no log yet (status {task.status})")
                return 0
            now = time.time()
            if now - last_settle >= SETTLE_EVERY:
                refresh(store, now)  # a task whose supervisor died must still end the follow
                last_settle = now
            writer.release()
            task, archived = archive.find(store, task_id)
            if task.is_final:
                path = archive.where(layout, task.id, archived, Layout.log_file)
                _copy(path, offset, write)
                write(b"", final=True)
                return 0
            time.sleep(FOLLOW_POLL)
    except KeyboardInterrupt:
        return 0  # the normal way to stop following


class _Writer:
    """Agent output to stdout: as it is (raw), or with control sequences other than colours
    shown as text (logfile.for_terminal), a sequence cut between two reads included; the
    output of an agent whose JSON lines stream (`output`) as lines a person reads. With
    `lines`, what is shown is held until `release`, which prints its last `lines` lines."""

    def __init__(self, console, raw, output=None, lines=None):
        from orchestra import transcript
        self.console = console
        self.lines, self.held = lines, bytearray() if lines is not None else None
        self.carry = None if raw else bytearray()
        self.transcript = (transcript.Transcript(output, console.style.unicode)
                           if output in transcript.STREAMING else None)

    def write(self, chunk, final=False):
        if self.transcript is not None:
            chunk = self.transcript.feed(chunk, final)
        if self.carry is not None:
            chunk = logfile.for_terminal(chunk, self.carry, final)
        if not chunk:
            return
        if self.held is not None:
            self.held += chunk
        else:
            self.console.out_bytes(chunk)

    def release(self):
        if self.held is None:
            return
        parts = bytes(self.held).split(b"\n")
        self.held = None
        ended = parts[-1] == b""
        if ended:
            parts.pop()
        kept = parts[len(parts) - self.lines:] if self.lines else []
        if kept:
            self.console.out_bytes(b"\n".join(kept) + (b"\n" if ended else b""))


def _copy(path, offset, write):
    try:
        with logfile.open_read(path) as f:
            if os.fstat(f.fileno()).st_size < offset:
                offset = 0  # the log was truncated or replaced
            f.seek(offset)
            while True:
                chunk = f.read(65536)
                if not chunk:
                    return offset
                write(chunk)
                offset += len(chunk)
    except FileNotFoundError:
        return offset


def register(sub):
    p = args.subparser(sub, "logs", help="print a task's log",
                       description="Print a task's log (the agent's stdout and stderr). An "
                       "agent whose output streams as JSON lines (Claude, Codex, OpenCode, "
                       "Cursor) is shown a line per message, tool call and result; --raw "
                       "shows the JSON. To a terminal, control sequences other than colours "
                       "are shown as text (ESC as ^[), so the output cannot move the cursor, "
                       "retitle the terminal or write the clipboard; piped, the bytes are "
                       "passed as they are.",
                       epilog=args.examples(
                           ("orchestra logs ID", "what the agent said so far"),
                           ("orchestra logs -f ID", "follow it until the task ends"),
                           ("orchestra logs --raw ID > run.jsonl", "the log's bytes")))
    p.add_argument("id", metavar="ID", help="the task whose log to print")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the task ends")
    p.add_argument("-n", "--lines", type=args.count, metavar="N",
                   help="only the last N lines of what is shown (with --follow: then the rest "
                   "as it comes)")
    p.add_argument("--raw", action="store_true",
                   help="the log's bytes unchanged: JSON lines as the agent wrote them, escape "
                   "sequences included")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, a.id, follow=a.follow, raw=a.raw, lines=a.lines))
