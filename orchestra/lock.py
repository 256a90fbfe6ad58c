"""Inter-process file locks: the store's write lock and the one-supervisor lock.

POSIX uses flock(2), Windows msvcrt.locking; both are released by the OS if the holder dies,
which is what makes a held supervisor lock mean "a supervisor is alive".
"""

import os
import time

if os.name == "nt":
    import msvcrt

    def _try_lock(fd):
        try:
            os.lseek(fd, 0, os.SEEK_SET)
            msvcrt.locking(fd, msvcrt.LK_NBLCK, 1)
            return True
        except OSError:
            return False

    def _unlock(fd):
        os.lseek(fd, 0, os.SEEK_SET)
        msvcrt.locking(fd, msvcrt.LK_UNLCK, 1)

    _lock = None  # msvcrt has no wait-forever lock: acquire() polls
else:
    import fcntl

    def _try_lock(fd):
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            return True
        except BlockingIOError:
            return False

    def _unlock(fd):
        fcntl.flock(fd, fcntl.LOCK_UN)

    def _lock(fd):
        fcntl.flock(fd, fcntl.LOCK_EX)


class FileLock:
    """An exclusive lock on `path`. acquire(timeout=None) blocks; timeout=0 tries once."""

    def __init__(self, path):
        self.path = path
        self.fd = None

    def acquire(self, timeout=None):
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        if timeout is None and _lock is not None:
            _lock(fd)
            self.fd = fd
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.001
        while not _try_lock(fd):
            if deadline is not None and time.monotonic() >= deadline:
                os.close(fd)
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        self.fd = fd
        return True

    def release(self):
        if self.fd is not None:
            fd, self.fd = self.fd, None
            _unlock(fd)
            os.close(fd)

    @property
    def held(self):
        return self.fd is not None

    def __enter__(self):
        self.acquire()
        return self

    def __exit__(self, *exc):
        self.release()
