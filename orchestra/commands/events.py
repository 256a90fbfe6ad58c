"""`events`: the state transitions of every task, from .orchestra/events.jsonl; -f follows."""

import json
import os
import time

from orchestra.commands import args
from orchestra.table import printable

FOLLOW_POLL = 0.2


def run(layout, console, follow=False, as_json=False, ids=(), since=None):
    """ids: only these tasks' events; since: only events at or after this time (seconds
    since the epoch)."""
    from orchestra.tail import Tail
    wanted = _wanted(layout, ids, since)
    log = Tail(layout.events)
    try:
        while True:
            lines = log.read()
            for line in lines:
                if line.strip() and wanted(line):
                    console.out(line.decode("utf-8", "replace") if as_json else _human(line, console))
            if not follow:
                return 0
            time.sleep(FOLLOW_POLL)
    except KeyboardInterrupt:
        return 0  # the normal way to stop following


def _wanted(layout, ids, since):
    """Whether an event line is one asked for: every line when nothing narrows them."""
    if not ids and since is None:
        return lambda line: True
    from orchestra.clock import parse_iso
    from orchestra.commands import full_id
    from orchestra.errors import NotFound
    names = set()
    for task_id in ids:
        try:
            names.add(full_id(layout, task_id))
        except NotFound:  # gone from the queue (cleaned), its events stay in the log
            names.add(task_id)

    def wanted(line):
        try:
            e = json.loads(line)
            return ((not names or e["task"] in names)
                    and (since is None or parse_iso(e["time"]) >= since))
        except (ValueError, KeyError, TypeError, AttributeError, RecursionError):
            return False  # not one of ours: no task or time to match
    return wanted


def _human(line, console):
    try:
        e = json.loads(line)
        when = e["time"].replace("T", " ")[:19]
        change = f"{e['from'] or 'new'} → {e['to']}" if console.style.unicode else \
            f"{e['from'] or 'new'} -> {e['to']}"
        why = f" ({e['reason']})" if e.get("reason") else ""
        if e.get("event") == "edited":
            change, why = "edited", f" ({', '.join(e.get('changed') or ())})"
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
                           ("orchestra events ID --since 2h", "one task's, of the last two hours"),
                           ("orchestra events --json | jq .to", "for scripts")))
    p.add_argument("ids", nargs="*", metavar="ID", help="only the events of these tasks")
    p.add_argument("--since", metavar="WHEN",
                   help="only events since WHEN: a duration ago (30m, 2h, 1d) or a time (HH:MM, "
                   "or YYYY-MM-DD HH:MM)")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing new events")
    p.add_argument("--json", action="store_true", help="the JSON lines as they are stored")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, follow=a.follow, as_json=a.json, ids=a.ids,
        since=_since(a.since)))


def _since(text):
    if text is None:
        return None
    from orchestra.clock import parse_since
    from orchestra.errors import OrchestraError
    try:
        return parse_since(text, time.time())
    except ValueError as e:
        raise OrchestraError(f"--since: {e}") from None
