"""`status --watch`: a frame every interval until Ctrl-C.

On a terminal each frame is drawn in the alternate screen, in place: the cursor goes home,
each line overwrites the one before it and clears what is left of it, and the rest of the
screen is cleared once after the last line, so nothing reaches the scrollback. The terminal's
size is read again for every frame, and a resize (SIGWINCH) draws a frame at once; Windows has
no SIGWINCH, so there a resize shows at the next frame. The main screen and the cursor are
given back however the watch ends: Ctrl-C (exit 0), SIGTERM (143), SIGHUP (129) or an error.
"""

import os
import signal
import time

_ENTER = "\x1b[?1049h\x1b[?25l"  # the alternate screen; the cursor hidden
_LEAVE = "\x1b[?25h\x1b[?1049l"
_HOME, _EOL, _EOS = "\x1b[H", "\x1b[K", "\x1b[J"


class _Stop(Exception):
    def __init__(self, code):
        super().__init__(code)
        self.code = code


def screen(console, frame, interval):
    """Draw frame(columns, lines) -> [line, ...], each line at most `columns` cells, every
    `interval` seconds and on each resize. The exit code."""
    stops = {}
    for name, code in (("SIGTERM", 143), ("SIGHUP", 129)):
        if hasattr(signal, name):
            stops[name] = signal.signal(getattr(signal, name), _raiser(code))
    sleeper = _Sleeper()
    entered = False
    try:
        console.write(_ENTER)
        entered = True
        while True:
            columns, lines = _size(console)
            drawn = frame(columns, lines)[:lines]
            # The last line has no newline after it: one on the bottom row would scroll.
            console.write(_HOME + "\n".join(line + _EOL for line in drawn) + _EOS)
            sleeper.sleep(interval)
    except KeyboardInterrupt:
        return 0  # the normal way to leave
    except _Stop as stop:
        return stop.code
    finally:
        sleeper.close()
        for name, old in stops.items():
            signal.signal(getattr(signal, name), old)
        if entered:
            try:
                console.write(_LEAVE)
            except OSError:
                pass  # the terminal is gone (a hang-up): nothing to restore


def lines(console, document, interval):
    """Print document() -> one line of text (a JSON document) whenever it differs from the
    last one printed, checking every `interval` seconds. Exit 0 on Ctrl-C."""
    last = None
    try:
        while True:
            text = document()
            if text != last:
                console.out(text)
                last = text
            time.sleep(interval)
    except KeyboardInterrupt:
        return 0


def frames(console, frame, interval):
    """Not a terminal: each frame after the one before, a blank line between them."""
    try:
        while True:
            console.out("\n".join(frame(console.width, None)) + "\n")
            time.sleep(interval)
    except KeyboardInterrupt:
        return 0


def _raiser(code):
    def handler(signum, frame):
        raise _Stop(code)
    return handler


def _size(console):
    try:
        return os.get_terminal_size(console.stdout.fileno())
    except (OSError, ValueError):
        return console.width or 80, console.height or 24


class _Sleeper:
    """A sleep that a SIGWINCH ends early: the signal's wakeup byte lands in a pipe that the
    sleep waits on."""

    def __init__(self):
        self._read = self._write = None
        if not hasattr(signal, "SIGWINCH"):
            return
        self._read, self._write = os.pipe()
        os.set_blocking(self._read, False)
        os.set_blocking(self._write, False)
        self._old_fd = signal.set_wakeup_fd(self._write)
        self._old_handler = signal.signal(signal.SIGWINCH, lambda signum, frame: None)

    def sleep(self, seconds):
        if self._read is None:
            time.sleep(seconds)
            return
        import select
        ready, _, _ = select.select([self._read], [], [], seconds)
        if ready:
            try:
                os.read(self._read, 512)
            except BlockingIOError:
                pass

    def close(self):
        if self._read is None:
            return
        signal.signal(signal.SIGWINCH, self._old_handler)
        signal.set_wakeup_fd(self._old_fd)
        os.close(self._read)
        os.close(self._write)
        self._read = None
