"""The command line: argparse, one `_add_<command>` a command, and the one error boundary.

Colour, Unicode and width are decided once here and handed down in `Console`.
"""

import argparse
import gc
import importlib
import os
import sys

from orchestra import __version__, debug
from orchestra.commands import args
from orchestra.errors import FAILED, USAGE, OrchestraError, interruption
from orchestra.paths import Layout, find_root
from orchestra.table import Style



class Console:
    """The one place that writes to the terminal."""

    def __init__(self, stdout, stderr, style, width, is_tty, height=None):
        self.stdout, self.stderr = stdout, stderr
        self.style, self.width, self.is_tty = style, width, is_tty
        self.height = height  # lines of the terminal, None when stdout is not one

    def out(self, text):
        self._emit(self.stdout, text + "\n")

    def write(self, text):
        """`text` as it is, for a screen drawn in place (`status --watch`)."""
        self._emit(self.stdout, text)

    def out_bytes(self, data):
        self.stdout.flush()
        self._emit(self.stdout.buffer, data)

    @staticmethod
    def _emit(stream, data):
        try:
            stream.write(data)
            stream.flush()
        except BrokenPipeError:
            raise  # the reader went away: main says nothing more
        except OSError as e:
            # Say where: "No space left on device" alone reads as if the command failed.
            raise OrchestraError(f"cannot write to standard output ({e.strerror or e}); "
                                 "what was asked is done all the same", FAILED) from None

    def warn(self, text):
        try:
            self.stderr.write(f"orchestra: {text}\n")
            self.stderr.flush()
        except OSError:
            pass  # stderr is gone (a closed terminal): the exit code is all that is left to say


def make_console(no_color, stdout=None, stderr=None, environ=os.environ):
    stdout, stderr = stdout or sys.stdout, stderr or sys.stderr
    is_tty = stdout.isatty()
    if no_color or environ.get("NO_COLOR"):
        color = False
    elif environ.get("FORCE_COLOR", "") not in ("", "0"):
        color = True
    else:
        color = is_tty
    unicode = (getattr(stdout, "encoding", "") or "").lower().replace("-", "") in ("utf8", "utf8sig")
    width = height = None
    if is_tty:
        try:
            width, height = os.get_terminal_size(stdout.fileno())
        except (OSError, ValueError):
            width, height = 80, 24
    elif environ.get("COLUMNS", "").isdigit():
        width = int(environ["COLUMNS"])
    return Console(stdout, stderr, Style(color, unicode), width, is_tty, height)


def _formatter(prog):
    # argparse would import shutil (and with it bz2, lzma, zlib) just to learn the width.
    try:
        width = os.get_terminal_size(sys.stderr.fileno()).columns
    except (OSError, ValueError):
        width = 80
    return argparse.HelpFormatter(prog, width=max(40, width - 2))


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _formatter)
        super().__init__(*args, **kwargs)

    command = None  # on the main parser: the command word of the arguments it parses

    def error(self, message):
        prog = self.prog
        if message.startswith("argument {"):  # argparse's words for an unknown command
            message = f"unknown command; the commands are {PUBLIC.replace(',', ', ')}"
        elif message.startswith("unrecognized arguments") and self.command in COMMANDS:
            prog += " " + self.command  # the main parser reports them, but they are the command's
        raise OrchestraError(f"{message} (see `{prog} --help`)", USAGE)


# -- commands --------------------------------------------------------------------------

# Each names a module of orchestra.commands with register(sub) and run(...). Hidden ones are
# left out of the usage line.
COMMANDS = ("init", "start", "run", "status", "show", "logs", "diff", "merge", "discard",
            "worktree", "cancel", "retry", "clean", "archive", "timeout", "wait", "events",
            "stats", "deps", "pause", "resume", "daemon", "config", "supervise")
HIDDEN = ("supervise",)
PUBLIC = ",".join(c for c in COMMANDS if c not in HIDDEN)


def _command_word(argv):
    """The subcommand in argv, skipping global options, or None."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--root":
            skip = True
        elif word == "--":
            return None
        elif not word.startswith("-"):
            return word
    return None


def build_parser(argv=None):
    """The parser; given argv naming a command, only that command's subparser is built
    (building all of them costs more than a `status` itself)."""
    parser = _Parser(prog="orchestra",
                     description="A file-based task queue for CLI coding agents.",
                     epilog="Exit codes: 0 success, 1 a task or operation failed, 2 usage or "
                     "invalid input, 124 a wait timed out, 130 interrupted; `run --wait` also "
                     "129, 141, 143 (hang-up, closed stdout, SIGTERM: the queue goes on in the "
                     "background).")
    args.add_globals(parser)
    parser.add_argument("--version", action="version", version=f"orchestra {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{" + PUBLIC + "}")
    word = parser.command = _command_word(argv) if argv is not None else None
    for name in COMMANDS:
        if word not in COMMANDS or name == word:
            # Imported on use: `status` must not pay for what `run` needs.
            importlib.import_module(f"orchestra.commands.{name}").register(sub)
    return parser


def run():
    """The program's entry point (`python -m orchestra`, the `orchestra` script): main(), then
    an exit that skips the interpreter's teardown. Every file is closed and every thread done
    by then; freeing a thousand parsed tasks one by one would only add ~20 ms to a `status`."""
    code = main()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        pass  # the reader went away; the exit code still says how it went
    os._exit(code if isinstance(code, int) else FAILED)


def main(argv=None):
    # A `status` of a thousand tasks allocates enough to trigger several collections with
    # nothing to collect; long-running loops still collect, just less often.
    gc.set_threshold(100_000, 50, 50)
    for name in ("stdout", "stderr"):
        if getattr(sys, name) is None:  # started with it closed (`>&-`): say nothing, not crash
            setattr(sys, name, open(os.devnull, "w"))
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="replace")
    if argv is None:
        argv = sys.argv[1:]
    parser = build_parser(argv)
    try:
        args = parser.parse_args(argv)
    except OrchestraError as e:
        sys.stderr.write(f"orchestra: {e.message}\n")
        return e.code
    except SystemExit as e:  # --help and --version
        return e.code if isinstance(e.code, int) else USAGE
    if getattr(args, "debug", False):
        debug.enabled = True
        os.environ["ORCHESTRA_DEBUG"] = "1"  # the background supervisor inherits it
    console = make_console(getattr(args, "no_color", False))
    if args.command is None:
        parser.print_help(sys.stderr)
        return USAGE
    try:
        layout = Layout(find_root(getattr(args, "root", None)))
        debug.log(f"{args.command} in {layout.root}")
        return args.func(layout, console, args)
    except OrchestraError as e:
        console.warn(e.message)
        return e.code
    except KeyboardInterrupt as e:
        why, code = interruption(e)
        console.warn(why)
        return code
    except BrokenPipeError:
        # The reader went away (`status | head`): nothing more to say to it.
        sys.stdout = open(os.devnull, "w")
        return 0
    except OSError as e:
        if debug.enabled:
            raise
        where = f": {e.filename}" if getattr(e, "filename", None) else ""
        console.warn(f"{e.strerror or e}{where} (rerun with --debug for details)")
        return FAILED
