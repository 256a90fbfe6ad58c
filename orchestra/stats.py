"""Totals over tasks for `stats`: a pure function of the tasks and the clock. No I/O."""

import time

from orchestra.task import Status

_FINAL = {Status.COMPLETED.value, Status.FAILED.value, Status.CANCELLED.value}


def percentile(values, q):
    """The q-th percentile (0-100) by nearest rank; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank = max(1, -(-len(ordered) * q // 100))  # ceil without floats
    return ordered[int(rank) - 1]


def summarize(tasks, now, since=None):
    """{"agents": {name: totals}, "total": totals} over the tasks created in the last `since`
    seconds (all with None). Totals: tasks, completed, failed, cancelled, active, failures by
    reason, run time median and p90 (seconds, finished runs), tokens in/out, cost in USD."""
    groups = {}
    for t in tasks:
        if since is not None and now - t.created() > since:
            continue
        groups.setdefault(t.data["agent"], []).append(t)
    agents = {name: _totals(group) for name, group in sorted(groups.items())}
    return {"agents": agents, "total": _totals([t for g in groups.values() for t in g])}


def by_day(tasks, now, days=None):
    """{"YYYY-MM-DD": {"agents": {name: totals}, "total": totals}}, oldest day first, with
    the totals of `summarize`. A task counts on the local day it finished, else started (it
    runs), else was created (it waits): the day its work was done and paid for. days=N keeps
    the last N days up to `now`'s, each of them even with no task; None every day a task has."""
    groups = {}
    for t in tasks:
        when = t.finished() or t.started() or t.created()
        groups.setdefault(_day(when), []).append(t)
    if days is not None:
        keep = _days_back(now, days)
        groups = {day: groups.get(day, []) for day in keep}
    out = {}
    for day in sorted(groups):
        agents = {}
        for t in groups[day]:
            agents.setdefault(t.data["agent"], []).append(t)
        out[day] = {"agents": {name: _totals(group) for name, group in sorted(agents.items())},
                    "total": _totals(groups[day])}
    return out


def _day(ts):
    return time.strftime("%Y-%m-%d", time.localtime(ts))


def _days_back(now, days):
    """The local dates of the `days` days up to now's, oldest first. Stepped by local noon,
    so a day of 23 or 25 hours (a clock change) is neither skipped nor counted twice."""
    y, m, d = time.localtime(now)[:3]
    noon = time.mktime((y, m, d, 12, 0, 0, 0, 0, -1))
    out = []
    for back in range(days - 1, -1, -1):
        t = time.localtime(noon - back * 86400)
        out.append(time.strftime("%Y-%m-%d", t))
    return out


def _totals(tasks):
    counts = {"completed": 0, "failed": 0, "cancelled": 0}
    reasons, durations = {}, []
    tokens_in = tokens_out = cost = None
    for t in tasks:
        d = t.data
        if d["status"] in _FINAL:
            counts[d["status"]] += 1
        if d["status"] == Status.FAILED.value:
            reasons[d["reason"] or "unknown"] = reasons.get(d["reason"] or "unknown", 0) + 1
        started, finished = t.started(), t.finished()
        if d["status"] in _FINAL and started is not None and finished is not None:
            durations.append(max(0.0, finished - started))
        if d["tokens_in"] is not None:
            tokens_in = (tokens_in or 0) + d["tokens_in"]
        if d["tokens_out"] is not None:
            tokens_out = (tokens_out or 0) + d["tokens_out"]
        if d["cost_usd"] is not None:
            cost = (cost or 0.0) + d["cost_usd"]
    return {"tasks": len(tasks), **counts, "active": len(tasks) - sum(counts.values()),
            "failures": dict(sorted(reasons.items())),
            "median_seconds": percentile(durations, 50), "p90_seconds": percentile(durations, 90),
            "tokens_in": tokens_in, "tokens_out": tokens_out,
            "cost_usd": round(cost, 6) if cost is not None else None}
