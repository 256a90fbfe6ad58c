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
    """An exclusive lock on `path`. acquire(timeout=None) blocks; timeout=0 tries once.

    keep_open=True keeps the file open between acquisitions (a supervisor takes the store
    lock twice per task). Not re-entrant, and not a lock between threads of one process."""

    def __init__(self, path, keep_open=False):
        self.path = path
        self.keep_open = keep_open
        self.fd = None      # set while held
        self._open = None   # the descriptor kept between acquisitions

    def acquire(self, timeout=None):
        if self.fd is not None:
            raise RuntimeError(f"{self.path} is already held by this process")
        fd = self._open if self._open is not None else os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        self._open = None
        try:
            taken = self._take(fd, timeout)
        except BaseException:
            # A Ctrl-C can land just after the lock is taken and before it is noted: unlock
            # (a no-op if it was not taken), or this process holds it unseen until it exits.
            if self.fd is None:
                try:
                    _unlock(fd)
                except OSError:
                    pass
                self._park(fd)
            raise
        if not taken:
            self._park(fd)
        return taken

    def _take(self, fd, timeout):
        if timeout is None and _lock is not None:
            _lock(fd)
            self.fd = fd
            return True
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = 0.001
        while not _try_lock(fd):
            if deadline is not None and time.monotonic() >= deadline:
                return False
            time.sleep(delay)
            delay = min(delay * 2, 0.02)
        self.fd = fd
        return True

    def release(self):
        fd = self.fd
        if fd is not None:
            try:
                _unlock(fd)
            finally:  # noted as free only once it is
                self.fd = None
                self._park(fd)

    def _park(self, fd):
        if self.keep_open:
            self._open = fd
        else:
            os.close(fd)

    @property
    def held(self):
        return self.fd is not None

    def __enter__(self):
        try:
            self.acquire()
        except BaseException:
            self.release()  # interrupted once taken: __exit__ is not called for a failed enter
            raise
        return self

    def __exit__(self, *exc):
        self.release()
