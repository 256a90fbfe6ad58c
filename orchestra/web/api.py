"""The dashboard's JSON over the workspaces: each a project root read as the CLI reads it
(the scan cache, `refresh` settling what no supervisor watches), every read bounded."""

import json
import os
import threading
import time

from orchestra import activity, archive, stats
from orchestra.commands import full_id, refresh, short_ids
from orchestra.errors import OrchestraError
from orchestra.paths import SENTINELS, Layout, is_project
from orchestra.store import Store
from orchestra.task import Status

PLAN_MAX = 64 * 1024
LOG_TAIL = 32 * 1024
EVENTS_MAX = 4 * 1024 * 1024   # the end of events.jsonl searched for a task's timeline
PATCH_MAX = 512 * 1024

# C0 and C1 controls but tab and newline, shown as what they are (U+2400 pictures) rather
# than acting on anything that later prints them.
_VISIBLE = {**{c: 0x2400 + c for c in (*range(0, 9), *range(11, 32))}, 127: 0x2421,
            **{c: 0xFFFD for c in range(128, 160)}}


def visible(text):
    return text.translate(_VISIBLE)


class ApiError(Exception):
    def __init__(self, status, message):
        super().__init__(message)
        self.status, self.message = status, message


class Workspace:
    """One project root, numbered by its place in the list served."""

    def __init__(self, index, root):
        self.id, self.root, self.layout = index, root, Layout(root)
        self.name = os.path.basename(root.rstrip(os.sep)) or root
        self._lock = threading.Lock()  # a Store's scan cache is not for two threads at once
        self._live = Store(self.layout, persist_cache=True)
        self._past = Store(self.layout.archived(), persist_cache=True)

    def problem(self):
        """Why it cannot be read (gone, not a project any more), or None."""
        if not os.path.isdir(self.root):
            return f"{self.root} is gone (moved or deleted?)"
        if not is_project(self.root):
            return f"{self.root} holds no orchestra project (.orchestra/ is gone)"
        if os.path.isdir(self.layout.state) and not os.access(self.layout.state,
                                                              os.R_OK | os.X_OK):
            return f"{self.layout.state} cannot be read (permissions)"
        return None

    def scans(self, with_archive):
        """(live snapshot, archived tasks not live) under the lock; ApiError if unreadable."""
        problem = self.problem()
        if problem:
            raise ApiError(409, problem)
        with self._lock:
            try:
                snap = refresh(self._live, time.time())
                past = self._past.scan().tasks if with_archive else {}
            except (OSError, OrchestraError) as e:
                raise ApiError(409, f"{self.root}: {getattr(e, 'message', None) or e}") from None
        return snap, {i: t for i, t in past.items() if i not in snap.tasks}


def pick(spaces, w, allow_all=False):
    """The workspaces `?w=` names: an index, or `all`."""
    if w in (None, ""):
        return spaces[:1]
    if w == "all" and allow_all:
        return spaces
    if isinstance(w, str) and w.isdigit() and int(w) < len(spaces):
        return [spaces[int(w)]]
    if isinstance(w, int) and not isinstance(w, bool) and 0 <= w < len(spaces):
        return [spaces[w]]
    raise ApiError(400, f"no workspace {w!r}: give w as one of 0..{len(spaces) - 1}"
                   + (" or all" if allow_all else ""))


def workspaces(spaces):
    out = []
    for s in spaces:
        entry = {"id": s.id, "root": s.root, "name": s.name, "ok": True, "error": None,
                 "counts": None, "paused": False}
        try:
            snap, _ = s.scans(with_archive=False)
        except ApiError as e:
            entry.update(ok=False, error=e.message)
        else:
            counts = dict.fromkeys((x.value for x in Status), 0)
            for t in snap.tasks.values():
                counts[t.status] = counts.get(t.status, 0) + 1
            entry["counts"] = counts
            entry["paused"] = os.path.exists(s.layout.paused)
        out.append(entry)
    return out


def tasks(space):
    """The queue as `status --all --json` gives it, each with short_id, workspace, and for a
    running task its plan progress and latest activity."""
    snap, past = space.scans(with_archive=True)
    everything = list(snap.tasks.values()) + list(past.values())
    short = short_ids(space.layout, snap, everything)
    out = []
    for t in everything:
        d = t.to_dict()
        d.update(short_id=short[t.id], workspace=space.id, archived=t.id in past,
                 progress=None, latest=None)
        if t.state is Status.RUNNING:
            d["progress"] = activity.read_plan(space.layout.plan_file(t.id))
            d["latest"] = activity.read_latest(space.layout.log_file(t.id), t.output)
        out.append(d)
    out.sort(key=lambda d: (d["created_at"] or "", d["id"]))
    return out


def task(space, query):
    """One task in full: the task, its plan text, sentinels, log tail, its events."""
    layout, task_id = space.layout, _id(space, query)
    snap, past = space.scans(with_archive=True)
    found = snap.tasks.get(task_id) or past.get(task_id)
    if found is None:
        raise ApiError(404, f"no task {query} in {space.root}")
    archived = task_id in past

    def where(path_of):  # beside its task file, or where an interrupted archiving left it
        return archive.where(layout, task_id, archived, path_of)

    sentinels = {k: where(lambda lay, i, k=k: lay.sentinel(i, k)) for k in SENTINELS}
    d = found.to_dict()
    d.update(short_id=short_ids(layout, snap, [found])[task_id], workspace=space.id,
             archived=archived)
    return {"task": d,
            "plan": _head(where(Layout.plan_file), PLAN_MAX),
            "sentinels": {k: _head(p, 4096) or "" for k, p in sentinels.items()
                          if os.path.exists(p)},
            "log": _tail(where(Layout.log_file), LOG_TAIL),
            "events": _events(layout, task_id)}


def diff(space, query, run):
    """files (path, added, removed) and the unified patch, bounded; `run(words)` runs a CLI
    command in the workspace: (code, out, err), so the CLI's checks and messages are kept."""
    task_id = _id(space, query)
    code, patch, err = run(["diff", "--", task_id])
    if code != 0:
        raise ApiError(400 if code == 2 else 409, err.strip().replace("orchestra: ", "", 1)
                       or f"diff exited {code}")
    cut = len(patch) > PATCH_MAX
    return {"files": files_of(patch), "patch": visible(patch[:PATCH_MAX]), "cut": cut,
            "size": len(patch), "note": err.strip().replace("orchestra: ", "", 1) or None}


def files_of(patch):
    """[{path, added, removed}] of a unified diff as git writes it."""
    files, current = [], None
    for line in patch.split("\n"):
        if line.startswith("diff --git "):
            current = {"path": line[len("diff --git "):].partition(" b/")[0][2:],
                       "added": 0, "removed": 0}
            files.append(current)
        elif current is None:
            continue
        elif line.startswith("+++ ") or line.startswith("--- "):
            name = line[4:]
            if name != "/dev/null" and name[:2] in ("a/", "b/"):
                current["path"] = name[2:]
        elif line.startswith("+"):
            current["added"] += 1
        elif line.startswith("-"):
            current["removed"] += 1
    for f in files:
        f["path"] = visible(f["path"])
    return files


def metrics(chosen, now=None):
    """stats.summarize over the workspaces' live and archived tasks, and the same per day."""
    now = time.time() if now is None else now
    everything = []
    for s in chosen:
        try:
            snap, past = s.scans(with_archive=True)
        except ApiError:
            continue  # a vanished workspace is told by /api/workspaces
        everything += list(snap.tasks.values()) + list(past.values())
    return {**stats.summarize(everything, now), "days": stats.by_day(everything, now)}


def agent_names(space):
    """The agents the project's agent-config.json defines: the ones a task is queued for."""
    from orchestra import agents
    try:
        return sorted(agents.load_config(space.layout.agent_config))
    except OrchestraError as e:
        raise ApiError(409, e.message) from None


def _id(space, query):
    if not isinstance(query, str) or not query:
        raise ApiError(400, "give the task as id=ID (whole or abbreviated as status shows it)")
    try:
        return full_id(space.layout, query)
    except OrchestraError as e:
        raise ApiError(404 if "no task" in e.message else 400, e.message) from None


def _head(path, limit):
    try:
        with open(path, "rb") as f:
            return visible(f.read(limit).decode("utf-8", "replace"))
    except OSError:
        return None


def _tail(path, limit):
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - limit))
            data = f.read(limit)
    except OSError:
        return None
    text = data.decode("utf-8", "replace")
    if size > limit:
        text = text.partition("\n")[2]
    return visible(text)


def _events(layout, task_id):
    try:
        with open(layout.events, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            f.seek(max(0, size - EVENTS_MAX))
            data = f.read(EVENTS_MAX)
    except OSError:
        return []
    needle = task_id.encode()
    out = []
    for line in data.split(b"\n"):
        if needle in line:
            try:
                e = json.loads(line)
            except ValueError:
                continue
            if isinstance(e, dict) and e.get("task") == task_id:
                out.append(e)
    return out
