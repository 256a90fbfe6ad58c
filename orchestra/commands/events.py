"""`events`: the state transitions of every task, from .orchestra/events.jsonl; -f follows."""

import json
import os
import time

from orchestra.commands import args
from orchestra.table import printable

FOLLOW_POLL = 0.2


def run(layout, console, follow=False, as_json=False):
    from orchestra.hooks import resume_at
    inode, offset, partial = None, 0, b""
    try:
        while True:
            try:
                with open(layout.events, "rb") as f:
                    st = os.fstat(f.fileno())
                    if resume_at(inode, offset, st) != offset:  # rotated: a new log begins
                        offset, partial = 0, b""
                    inode = st.st_ino
                    f.seek(offset)
                    data = f.read()
            except FileNotFoundError:
                data = b""
            offset += len(data)
            lines = (partial + data).split(b"\n")
            partial = lines.pop()  # a line still being written waits for its newline
            for line in lines:
                if line.strip():
                    console.out(line.decode("utf-8", "replace") if as_json else _human(line, console))
            if not follow:
                return 0
            time.sleep(FOLLOW_POLL)
    except KeyboardInterrupt:
        return 0  # the normal way to stop following


def _human(line, console):
    try:
        e = json.loads(line)
        when = e["time"].replace("T", " ")[:19]
        change = f"{e['from'] or 'new'} → {e['to']}" if console.style.unicode else \
            f"{e['from'] or 'new'} -> {e['to']}"
        why = f" ({e['reason']})" if e.get("reason") else ""
        return printable(f"{when}  {e['task']}  {e['agent']}  {change}{why}  "
                         f"attempt {e.get('attempt', 0)}")
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
        return printable(line.decode("utf-8", "replace"))  # not one of ours: shown as it is


def register(sub):
    p = args.subparser(sub, "events", help="print task state transitions",
                       description="Print every task state transition recorded in "
                       ".orchestra/events.jsonl (time, task, agent, from, to, reason, attempt); "
                       "-f keeps printing new ones until Ctrl-C.",
                       epilog=args.examples(
                           ("orchestra events", "every transition so far"),
                           ("orchestra events -f", "and new ones as they happen"),
                           ("orchestra events --json | jq .to", "for scripts")))
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    p.add_argument("--json", action="store_true", help="the JSON lines as they are stored")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, follow=a.follow, as_json=a.json))
