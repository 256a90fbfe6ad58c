"""Timestamped diagnostics on stderr, on with --debug or ORCHESTRA_DEBUG=1; never on stdout."""

import os
import sys
import time

enabled = os.environ.get("ORCHESTRA_DEBUG", "") not in ("", "0")


def log(message):
    if enabled:
        now = time.time()
        stamp = time.strftime("%H:%M:%S", time.localtime(now)) + f".{int(now % 1 * 1000):03d}"
        sys.stderr.write(f"[{stamp} orchestra {os.getpid()}] {message}\n")
        sys.stderr.flush()
