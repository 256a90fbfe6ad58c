"""`stats`: totals per agent (outcomes, failures by reason, run times, tokens, cost)."""

import time

from orchestra import stats
from orchestra.clock import human
from orchestra.commands import args, refresh
from orchestra.store import Store

COLUMNS = ("AGENT", "TASKS", "DONE", "FAILED", "CANCELLED", "ACTIVE", "MEDIAN", "P90",
           "TOKENS IN", "TOKENS OUT", "COST")


def run(layout, console, since=None, as_json=False, daily=False):
    now = time.time()
    live = refresh(Store(layout, persist_cache=True), now)
    past = Store(layout.archived(), persist_cache=True).scan()
    for problem in live.problems + past.problems:
        console.warn(problem)
    tasks = list(live.tasks.values()) + [t for i, t in past.tasks.items() if i not in live.tasks]
    if daily:
        return _by_day(console, tasks, now, since, as_json)
    report = stats.summarize(tasks, now, since)
    if as_json:
        import json
        console.out(json.dumps(report, indent=2))
        return 0
    rows = [_row(name, totals) for name, totals in report["agents"].items()]
    rows.append(_row("total", report["total"]))
    lines = _table(console, COLUMNS, rows)
    failures = report["total"]["failures"]
    if failures:
        lines.append("\nfailures by reason: " + ", ".join(f"{k} {v}" for k, v in failures.items()))
    if since is not None:
        lines.append(f"(tasks created in the last {human(since)})")
    console.out("\n".join(lines))
    return 0


def _by_day(console, tasks, now, since, as_json):
    """A row a day of the totals over every agent; --since keeps that many whole days."""
    days = None if since is None else max(1, -(-int(since) // 86400))
    report = stats.by_day(tasks, now, days)
    if as_json:
        import json
        console.out(json.dumps(report, indent=2))
        return 0
    if not report:
        console.out("no tasks yet")
        return 0
    rows = [_row(day, day_report["total"]) for day, day_report in report.items()]
    lines = _table(console, ("DAY",) + COLUMNS[1:], rows)
    lines.append("(a task counts on the day it finished, else started, else was created)")
    console.out("\n".join(lines))
    return 0


def _table(console, columns, rows):
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(columns)]
    lines = ["  ".join(console.style.paint(c.ljust(w), "bold") for c, w in zip(columns, widths))]
    return lines + ["  ".join(cell.ljust(w) for cell, w in zip(r, widths)).rstrip() for r in rows]


def _row(name, t):
    def count(value):
        if value is None:
            return "-"
        return f"{value / 1000:.1f}k" if value >= 10000 else str(value)

    return (name, str(t["tasks"]), str(t["completed"]), str(t["failed"]), str(t["cancelled"]),
            str(t["active"]), human(t["median_seconds"]), human(t["p90_seconds"]),
            count(t["tokens_in"]), count(t["tokens_out"]),
            "-" if t["cost_usd"] is None else f"${t['cost_usd']:.2f}")


def register(sub):
    p = args.subparser(sub, "stats", help="totals per agent",
                       description="Totals per agent over live and archived tasks: outcomes, "
                       "failures by reason, run times (median, p90), tokens and cost where the "
                       "agents report them.",
                       epilog=args.examples(("orchestra stats", "since the beginning"),
                                            ("orchestra stats --since 7d", "this week"),
                                            ("orchestra stats --by-day --since 7d",
                                             "a row for each of the last seven days")))
    p.add_argument("--since", type=args.seconds, metavar="DURATION",
                   help="only tasks created in the last DURATION, e.g. 24h, 7d (with "
                   "--by-day: that many days, each shown even with no task)")
    p.add_argument("--by-day", action="store_true",
                   help="a row a day (the local day a task finished, else started, else was "
                   "created); with --json per agent too")
    p.add_argument("--json", action="store_true", help="the totals as a JSON object")
    p.set_defaults(func=lambda layout, console, a: run(layout, console, since=a.since,
                                                       as_json=a.json, daily=a.by_day))
