"""The live stream: ONE reader per workspace follows its events.jsonl (through rotation, as
`events -f` does) and hands each new line to every connected client's queue."""

import json
import os
import queue
import threading

from orchestra.tail import Tail

POLL = 0.25        # a transition reaches the page well within a second
CLIENT_BACKLOG = 1000  # events a slow client may fall behind by before it loses some


class Hub:
    def __init__(self, spaces):
        self._clients, self._lock = set(), threading.Lock()
        self._stop = threading.Event()
        # Each log is followed from where it ends now, when the server starts.
        self._threads = [threading.Thread(target=self._follow, daemon=True,
                                          args=(s, *self._end(s.layout.events)),
                                          name=f"orchestra-live-{s.id}") for s in spaces]

    def start(self):
        for t in self._threads:
            t.start()

    def stop(self):
        self._stop.set()
        for t in self._threads:
            if t.is_alive():
                t.join(timeout=2)
        with self._lock:
            for q in self._clients:
                q.put(None)  # each client's stream ends

    def subscribe(self):
        q = queue.Queue(CLIENT_BACKLOG)
        with self._lock:
            self._clients.add(q)
        return q

    def unsubscribe(self, q):
        with self._lock:
            self._clients.discard(q)

    def clients(self):
        with self._lock:
            return len(self._clients)

    def _publish(self, event):
        with self._lock:
            clients = list(self._clients)
        for q in clients:
            try:
                q.put_nowait(event)
            except queue.Full:
                pass  # that client stopped reading; the others are not held up by it

    def _follow(self, space, inode, offset):
        """New lines of the workspace's event log after `offset`; only a stat while idle."""
        log = Tail(space.layout.events, inode, offset)
        while not self._stop.wait(POLL):
            try:
                lines = log.read()
            except OSError:
                continue  # unreadable for now: tried again at the next poll
            for line in lines:
                try:
                    event = json.loads(line)
                except (ValueError, RecursionError):
                    continue
                if isinstance(event, dict):
                    event["workspace"] = space.id
                    self._publish(event)

    @staticmethod
    def _end(path):
        try:
            st = os.stat(path)
            return st.st_ino, st.st_size
        except OSError:
            return None, 0
