"""`logs`: print a task's log; with --follow, keep printing until the task ends."""

import os
import time

from orchestra import archive
from orchestra.commands import refresh
from orchestra.paths import Layout
from orchestra.store import Store
from orchestra.commands import args

FOLLOW_POLL = 0.1
SETTLE_EVERY = 1.0


def run(layout, console, task_id, follow=False):
    store = Store(layout, persist_cache=True)
    task, archived = archive.find(store, task_id)
    path = archive.where(layout, task.id, archived, Layout.log_file)
    offset = 0
    last_settle = 0.0
    try:
        while True:
            offset = _copy(path, offset, console)
            if not follow:
                if offset == 0:
                    console.warn(f"{task.id} has no log yet (status {task.status})")
                return 0
            now = time.time()
            if now - last_settle >= SETTLE_EVERY:
                refresh(store, now)  # a task whose supervisor died must still end the follow
                last_settle = now
            task, archived = archive.find(store, task_id)
            if task.is_final:
                path = archive.where(layout, task.id, archived, Layout.log_file)
                _copy(path, offset, console)
                return 0
            time.sleep(FOLLOW_POLL)
    except KeyboardInterrupt:
        return 0  # the normal way to stop following


def _copy(path, offset, console):
    try:
        with open(path, "rb") as f:
            if os.fstat(f.fileno()).st_size < offset:
                offset = 0  # the log was truncated or replaced
            f.seek(offset)
            while True:
                chunk = f.read(65536)
                if not chunk:
                    return offset
                console.out_bytes(chunk)
                offset += len(chunk)
    except FileNotFoundError:
        return offset


def register(sub):
    p = args.subparser(sub, "logs", help="print a task's log",
                       description="Print a task's log (the agent's stdout and stderr).")
    p.add_argument("id", metavar="ID")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the task ends")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, a.id, follow=a.follow))
