"""Task logs: opened without following a symbolic link, and agent output made safe to show on a
terminal.

A link planted at .orchestra/logs/ID.log would otherwise have an agent's output appended to,
or `logs` print, a file anywhere the user can reach. Only the last part of the path is guarded:
the directories above it are the project's own.
"""

import errno
import os
import re

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_BINARY = getattr(os, "O_BINARY", 0)  # Windows would translate newlines without it
# What open() of a symbolic link with O_NOFOLLOW fails with: ELOOP on Linux and macOS,
# EMLINK on FreeBSD, EFTYPE on NetBSD.
_LINK_ERRORS = {errno.ELOOP, errno.EMLINK, getattr(errno, "EFTYPE", errno.ELOOP)}


def open_append(path):
    """The log at `path` for appending, created if absent (mode 0o644), as a binary file
    object; OSError if it is a symbolic link."""
    return _open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, "ab")


def open_read(path):
    """The log at `path` for reading, as a binary file object; OSError if it is a symbolic
    link, FileNotFoundError if it does not exist."""
    return _open(path, os.O_RDONLY, "rb")


def _open(path, flags, mode):
    if not _NOFOLLOW and os.path.islink(path):
        # Windows has no O_NOFOLLOW, and the call that has (CreateFile with
        # FILE_FLAG_OPEN_REPARSE_POINT) is not in the standard library: a check before the
        # open leaves a moment for a link to appear, but making one there needs the
        # symlink privilege or developer mode, which a planted file alone does not give.
        raise _link_error(path)
    try:
        fd = os.open(path, flags | _NOFOLLOW | _BINARY, 0o644)
    except OSError as e:
        if e.errno in _LINK_ERRORS and os.path.islink(path):
            raise _link_error(path) from None
        raise
    return os.fdopen(fd, mode)


def _link_error(path):
    return OSError(errno.ELOOP, f"{path} is a symbolic link, which orchestra does not follow "
                   "for a log; remove it")


# -- showing output on a terminal -------------------------------------------------------

# Kept: colours (SGR, `ESC [ digits ; : m`), as `less -R` keeps them, and tab, newline and
# carriage return (progress lines redraw themselves with it). Every other C0 control, DEL and
# the C1 controls (U+0080-U+009F, which terminals read as ESC sequences) are shown the way
# `less -R`, git's pager, shows them: ESC as `^[`, others as `^X`, `^?` or `<U+009B>`. What
# followed an ESC is then plain text: an OSC 52 that would write the clipboard, a cursor move
# or a title change is printed, not obeyed.
_SGR_MAX = 64  # longer parameters are no colour: the ESC is shown, not waited on
_TOKEN = re.compile(rb"\x1b\[[0-9;:]{0,%d}m|[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]|\xc2[\x80-\x9f]" % _SGR_MAX)
# The end of a chunk that may be the start of a colour or of a C1 control, cut by the read.
_TAIL = re.compile(rb"(?:\x1b(?:\[[0-9;:]{0,%d})?|\xc2)\Z" % _SGR_MAX)


def for_terminal(data, state, final=False):
    """`data` with the controls above neutralised. `state`: a bytearray, empty at first and
    passed again with each next chunk of the same output, holding the end of a chunk that may
    begin a sequence the next one ends; final=True (the output is over) shows it as it is."""
    data = bytes(state) + data
    state.clear()
    if not final:
        m = _TAIL.search(data)
        if m:
            state += data[m.start():]
            data = data[:m.start()]
    return _TOKEN.sub(_visible, data)


def _visible(m):
    token = m.group()
    if token[0] == 0x1b and len(token) > 1:
        return token  # a colour
    if len(token) == 2:
        return b"<U+%04X>" % token[1]  # a C1 control in UTF-8
    return b"^?" if token == b"\x7f" else b"^" + bytes([token[0] + 64])
