"""Hooks: commands and webhooks run on task transitions, from `hooks` in .orchestra/config.json.

    "hooks": [
      {"on": ["failed", "completed"], "command": ["notify-send", "orchestra"]},
      {"on": ["failed"], "url": "http://127.0.0.1:9000/orchestra", "timeout": 5, "retries": 3}
    ]

The supervisor tails .orchestra/events.jsonl, so a transition made by any command fires its
hooks once, whoever made it; the offset of the last event handled is kept in
.orchestra/hooks.offset, so a transition made while no supervisor ran fires when the next one
starts. The log's inode is kept with the offset: after events.jsonl is rotated (moved away or
truncated, as logrotate does) the new file is followed from its start. Hooks run on a worker
thread: a slow or failing hook never delays scheduling; its failure is logged (with --debug)
and, for a webhook, retried with backoff.
"""

import json
import os
import queue
import subprocess
import threading
import time

from orchestra import debug
from orchestra.errors import OrchestraError
from orchestra.files import read_json, write_atomic
from orchestra.tail import Tail

COMMAND_TIMEOUT = 60.0
STATUSES = ("pending", "running", "completed", "failed", "cancelled")
EVENTS = STATUSES + ("merged",)  # what `on` may name; a hook without `on` hears the statuses


def load(layout):
    """The validated hook list of config.json ([] when there is none)."""
    try:
        data = read_json(layout.settings)
    except FileNotFoundError:
        return []
    except (OSError, ValueError) as e:
        raise OrchestraError(f"cannot read {layout.settings}: {e}")
    hooks = data.get("hooks", []) if isinstance(data, dict) else []
    where = f"{layout.settings}: hooks"
    if not isinstance(hooks, list):
        raise OrchestraError(f"{where} must be a list of objects")
    for i, hook in enumerate(hooks):
        if not isinstance(hook, dict) or ("command" in hook) == ("url" in hook):
            raise OrchestraError(f"{where}[{i}] must be an object with a \"command\" or a \"url\"")
        on = hook.get("on", list(STATUSES))
        if not isinstance(on, list) or not all(isinstance(s, str) and s in EVENTS for s in on):
            raise OrchestraError(f"{where}[{i}].on must list statuses among {', '.join(EVENTS)}")
        command = hook.get("command")
        if command is not None and (not isinstance(command, list) or not command
                                    or not all(isinstance(a, str) for a in command)):
            raise OrchestraError(f"{where}[{i}].command must be a non-empty list of strings "
                                 "(an argument list, not a shell string)")
        url = hook.get("url")
        if url is not None and not (isinstance(url, str) and url.startswith(("http://", "https://"))):
            raise OrchestraError(f"{where}[{i}].url must be an http:// or https:// address")
    return hooks


def matching(hooks, event):
    """The hooks to run for an event: by its new status, or for an event that is no change
    of status (a merge, a branch deleted) by its name."""
    what = event.get("event") or event.get("to")
    return [h for h in hooks if what in h.get("on", STATUSES)]


def environment(layout, event, base=os.environ):
    env = dict(base)
    env.update(ORCHESTRA_TASK_ID=event["task"], ORCHESTRA_STATUS=event["to"] or "",
               ORCHESTRA_REASON=event.get("reason") or "", ORCHESTRA_AGENT=event.get("agent") or "",
               ORCHESTRA_LOG_FILE=layout.log_file(event["task"]), ORCHESTRA_ROOT=layout.root,
               ORCHESTRA_EVENT=json.dumps(event))
    return env


class Runner:
    """Follows the event log and runs the matching hooks on one worker thread, in order."""

    def __init__(self, layout):
        self.layout = layout
        self.offset_path = os.path.join(layout.state, "hooks.offset")
        self.jobs = queue.Queue()
        self.hooks = []
        self._config_stamp = None
        self._log = Tail(layout.events, *self._load_offset())
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def _load_offset(self):
        """(inode, offset) of the last event handled. hooks.offset holds "OFFSET INODE"; a
        record from before inodes were kept holds the offset alone."""
        try:
            with open(self.offset_path) as f:
                words = f.read().split()
            return (int(words[1]) if len(words) > 1 else None), int(words[0] if words else 0)
        except (OSError, ValueError):
            # No record yet: the history before this supervisor is not replayed.
            try:
                st = os.stat(self.layout.events)
            except FileNotFoundError:
                return None, 0
            return st.st_ino, st.st_size

    def poll(self):
        """Queue the hooks of every event appended since the last poll."""
        self._reload()
        lines = self._log.read()
        if not lines:
            return
        for line in lines:
            try:
                event = json.loads(line)
            except (ValueError, RecursionError):
                continue
            if not (isinstance(event, dict) and isinstance(event.get("task"), str)
                    and isinstance(event.get("to"), str)):
                continue  # not an event orchestra wrote: nothing to run a hook for
            for hook in matching(self.hooks, event):
                self.jobs.put((hook, event))
        self.jobs.put(("offset", f"{self._log.end} {self._log.inode}"))

    def close(self, timeout=10.0):
        """Let queued hooks finish (up to `timeout` seconds) before the supervisor exits."""
        self.poll()
        self.jobs.put(None)
        self._thread.join(timeout)

    def _reload(self):
        try:
            stamp = os.stat(self.layout.settings).st_mtime_ns
        except FileNotFoundError:
            stamp = None
        if stamp != self._config_stamp:
            self._config_stamp = stamp
            try:
                self.hooks = load(self.layout)
            except OrchestraError as e:
                debug.log(f"hooks not loaded: {e}")
                self.hooks = []

    def _work(self):
        while True:
            job = self.jobs.get()
            if job is None:
                return
            hook, event = job
            if hook == "offset":
                try:
                    write_atomic(self.offset_path, f"{event}\n", fsync=False)
                except OSError as e:
                    debug.log(f"cannot record the hook offset: {e}")
                continue
            try:
                if "command" in hook:
                    self._command(hook, event)
                else:
                    self._post(hook, event)
            except Exception as e:  # noqa: BLE001 -- a hook must never stop the others
                debug.log(f"hook {hook} failed for {event['task']}: {e}")

    def _command(self, hook, event):
        result = subprocess.run(hook["command"], env=environment(self.layout, event),
                                cwd=self.layout.root, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                                timeout=float(hook.get("timeout", COMMAND_TIMEOUT)))
        if result.returncode != 0:
            debug.log(f"hook {hook['command'][0]} exited {result.returncode} for {event['task']}: "
                      + result.stderr.decode("utf-8", "replace")[-300:])

    def _post(self, hook, event):
        import urllib.request
        body = json.dumps(event).encode("utf-8")
        retries = int(hook.get("retries", 3))
        for attempt in range(retries + 1):
            request = urllib.request.Request(hook["url"], data=body, method="POST",
                                             headers={"Content-Type": "application/json"})
            try:
                with urllib.request.urlopen(request, timeout=float(hook.get("timeout", 5))) as r:
                    if r.status < 300:
                        return
                    problem = f"HTTP {r.status}"
            except OSError as e:  # URLError, HTTPError, timeouts are all OSErrors
                problem = str(e)
            debug.log(f"webhook {hook['url']} for {event['task']}: {problem}"
                      + (f"; retry {attempt + 1}/{retries}" if attempt < retries else "; giving up"))
            if attempt < retries:
                time.sleep(min(30.0, 0.5 * 2 ** attempt))
