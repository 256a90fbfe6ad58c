"""One workspace at a glance: whether it is there, its tasks by status, what waits for review,
the latest to finish. Read from its scan cache, without settling anything: that is for a
command run in the workspace itself (or its supervisor)."""

import os

from orchestra.clock import iso
from orchestra.paths import Layout, STATE_DIR
from orchestra.task import Status

THERE, VANISHED, NO_PROJECT, UNREADABLE = "ok", "vanished", "no project", "unreadable"


def glance(root):
    """{"root", "name", "state" (THERE, VANISHED, NO_PROJECT or UNREADABLE), "problem",
    "tasks", "counts" {status: n}, "running", "review", "latest" (None, or {"id", "agent",
    "status", "finished_at"})}."""
    out = {"root": root, "name": os.path.basename(root.rstrip(os.sep)) or root,
           "state": THERE, "problem": None, "tasks": 0, "counts": {}, "running": 0,
           "review": 0, "latest": None}
    if not os.path.isdir(root):
        out["state"] = VANISHED
        return out
    if not os.path.isdir(os.path.join(root, STATE_DIR)):
        out["state"] = NO_PROJECT
        return out
    from orchestra.store import Store
    from orchestra.table import tally
    try:
        snap = Store(Layout(root), persist_cache=True).scan()
    except OSError as e:
        out["state"], out["problem"] = UNREADABLE, e.strerror or str(e)
        return out
    counts = {}
    latest, latest_at = None, None
    for task in snap.tasks.values():
        state = task.state
        counts[state.value] = counts.get(state.value, 0) + 1
        if state in (Status.COMPLETED, Status.FAILED, Status.CANCELLED):
            spent = task.memo(tally)
            if spent is not None and spent[3]:
                out["review"] += 1
            finished = task.finished()
            if finished is not None and (latest_at is None or finished > latest_at):
                latest, latest_at = task, finished
    out["tasks"] = len(snap.tasks)
    out["counts"] = {s.value: counts[s.value] for s in Status if s.value in counts}
    out["running"] = counts.get(Status.RUNNING.value, 0)
    if snap.problems:
        out["problem"] = f"{len(snap.problems)} unreadable task file(s)"
    if latest is not None:
        out["latest"] = {"id": latest.id, "agent": latest.data["agent"],
                         "status": latest.state.value, "finished_at": iso(latest_at)}
    return out
