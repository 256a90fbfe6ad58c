"""Following an append-only log (`events.jsonl`) through rotation: the new whole lines since
the last read. Shared by `events -f`, the hooks runner and the dashboard's live stream."""

import os


def resume_at(inode, offset, st):
    """Where to go on reading a log of stat `st`, last read up to `offset` in the file `inode`
    (None: not known): a new file, or one shorter than that, is read from its start."""
    if (inode is not None and st.st_ino != inode) or st.st_size < offset:
        return 0
    return offset


class Tail:
    """The lines of `path` from (`inode`, `offset`) on, one read() at a time. A file moved
    away or truncated (logrotate) is read again from its start; a line still being written
    waits for its newline. `offset` is how far the file has been read, `end` the end of the
    last whole line handed out (where a reader that stops should start again)."""

    def __init__(self, path, inode=None, offset=0):
        self.path, self.inode, self.offset, self._partial = path, inode, offset, b""

    @property
    def end(self):
        return self.offset - len(self._partial)

    def read(self):
        """The whole lines (bytes, without their newline) appended since the last read; only
        a stat when nothing was. A missing file has none."""
        try:
            st = os.stat(self.path)
        except FileNotFoundError:
            return []
        if st.st_ino == self.inode and st.st_size == self.offset:
            return []
        try:
            with open(self.path, "rb") as f:
                st = os.fstat(f.fileno())
                if resume_at(self.inode, self.offset, st) != self.offset:
                    self.offset, self._partial = 0, b""
                self.inode = st.st_ino
                f.seek(self.offset)
                data = f.read()
        except FileNotFoundError:
            return []
        self.offset += len(data)
        lines = (self._partial + data).split(b"\n")
        self._partial = lines.pop()
        return lines
