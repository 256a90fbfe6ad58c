"""Following the logs of the supervisor's running children on one background thread: what an
agent writes is parsed as it arrives (verdict.StreamParser), and each log is held to the
project's `log_max`, so the supervisor's loop never reads output and its memory stays small
whatever the agents print.

The cap: once a log passes it, its first HEAD bytes and last TAIL bytes are kept with a marker
line between them that says how much was dropped. The agent writes its log itself, through
an O_APPEND descriptor, so after the truncate it goes on writing at the new end. Two races
are accepted: bytes written between the read of the tail and the truncate are lost (and
counted as dropped), and bytes written between the truncate and our write of the marker land
before it.
"""

import codecs
import os
import threading

from orchestra import debug, logfile, settings

CHUNK = 1 << 20  # read and parsed at a time, one log after another
POLL = 0.2       # how often quiet logs are looked at again
KEEP_MAX = 8 << 20  # the most of its head, and of its tail, that a capped log keeps


def kept(cap):
    """(head, tail): the bytes a log past `cap` keeps of its start and of its end."""
    part = min(cap // 4, KEEP_MAX)
    return part, part


def shifted(offset, head, tail_from, tail, marker):
    """Where old position `offset` is once old[head:tail_from] (and anything after
    tail_from + tail) made way for `marker` bytes: a position in the dropped part moves to
    just after the marker, so the marker is not read as the agent's output."""
    if offset <= head:
        return offset
    if offset <= tail_from:
        return head + marker
    return head + marker + min(offset - tail_from, tail)


def marker_line(dropped, cap):
    return (f"\n--- orchestra: {dropped} bytes of output dropped here (log cap "
            f"{settings.size_text(cap)}; see `orchestra config`) ---\n").encode()


class _Log:
    def __init__(self, path, offset, parser):
        self.path, self.offset, self.parser = path, offset, parser
        self.decoder = codecs.getincrementaldecoder("utf-8")("replace")
        self.lock = threading.Lock()  # held while a chunk of it is read, or it is trimmed
        self.done = False             # finished or dropped: the thread leaves it alone
        self.dropped = 0              # bytes of output the cap has dropped from it
        self.marker = 0               # the length of the marker line it holds, if any


class Followers:
    """The supervisor's followers. `add` a log when its run starts (parser None: only cap
    it), `finish` it when the run has exited, `drop` it if it is not wanted any more."""

    def __init__(self, layout):
        self.layout = layout
        self._logs = {}
        self._wake = threading.Condition()
        self._closed = False
        self._cap, self._config_stamp = settings.KEYS["log_max"].default, None
        self._reload()
        self._thread = threading.Thread(target=self._work, daemon=True)
        self._thread.start()

    def add(self, tid, path, offset, parser):
        with self._wake:
            self._logs[tid] = _Log(path, offset, parser)
            if parser is not None:  # a log only to cap waits for the next look, within POLL
                self._wake.notify()

    def finish(self, tid):
        """Read and parse what is left of the run's output; the verdict of the whole run, or
        None when it was not parsed. Waits for no other log."""
        with self._wake:
            log = self._logs.pop(tid, None)
        if log is None:
            return None
        with log.lock:
            log.done = True
            while self._step(log):
                pass
            if log.parser is None:
                return None
            log.parser.feed(log.decoder.decode(b"", final=True))
            return log.parser.verdict()

    def waiting(self, tid):
        """(text, reset_at, for how long) of the usage limit the run waits on by its output so far
        (verdict.StreamParser.waiting), or None."""
        with self._wake:
            log = self._logs.get(tid)
        if log is None or log.parser is None:
            return None
        with log.lock:  # held by the thread for one chunk at most
            return log.parser.waiting()

    def caught_up(self, tid):
        """True unless more than a chunk of the run's output is still to be parsed: `finish`
        then costs the caller at most one chunk, and the rest is left to the thread."""
        with self._wake:
            log = self._logs.get(tid)
        if log is None or log.parser is None:
            return True
        try:
            return os.stat(log.path).st_size - log.offset <= CHUNK
        except OSError:
            return True

    def drop(self, tid):
        with self._wake:
            log = self._logs.pop(tid, None)
        if log is not None:
            with log.lock:
                log.done = True

    def close(self):
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()

    def _work(self):
        while True:
            with self._wake:
                if self._closed:
                    return
                logs = list(self._logs.values())
            self._reload()
            busy = False
            for log in logs:  # a chunk of each in turn: no log waits for another's backlog
                with log.lock:
                    if not log.done:
                        busy = self._step(log) or busy
            if not busy:
                with self._wake:
                    if not self._closed:
                        self._wake.wait(POLL)

    def _reload(self):
        """The cap in force: `config set log_max` applies to running tasks within POLL."""
        try:
            stamp = os.stat(self.layout.settings).st_mtime_ns
        except OSError:
            stamp = None
        if stamp == self._config_stamp:
            return
        self._config_stamp = stamp
        try:
            self._cap = settings.load(self.layout).log_max
        except Exception as e:  # noqa: BLE001 -- a bad config.json keeps the cap in force
            debug.log(f"log cap not reloaded: {e}")

    def _step(self, log):
        """Cap the log, then read and parse its next chunk; whether there was one."""
        try:
            with logfile.open_read(log.path) as f:
                cap = self._cap
                if cap is not None and os.fstat(f.fileno()).st_size > cap:
                    self._trim(log, f, cap)
                if log.parser is None:
                    return False
                f.seek(log.offset)
                data = f.read(CHUNK)
        except OSError as e:
            debug.log(f"cannot follow {log.path}: {e}")
            return False
        log.offset += len(data)
        log.parser.feed(log.decoder.decode(data))
        return bool(data)

    def _trim(self, log, f, cap):
        head, tail = kept(cap)
        size = os.fstat(f.fileno()).st_size
        tail_from = size - tail
        if tail_from <= head + log.marker:
            return  # a cap smaller than a marker line: nothing to gain
        f.seek(tail_from)
        data = f.read(tail)
        with logfile.open_append(log.path) as out:
            end = os.fstat(out.fileno()).st_size
            os.ftruncate(out.fileno(), head)
            log.dropped += end - head - len(data) - log.marker
            marker = marker_line(log.dropped, cap)
            out.write(marker)
            out.write(data)
        log.offset = shifted(log.offset, head, tail_from, len(data), len(marker))
        log.marker = len(marker)
        debug.log(f"{log.path}: over the log cap, {log.dropped} bytes dropped so far")
