"""The command line: argparse, one `_add_<command>` a command, and the one error boundary.

Colour, Unicode and width are decided once here and handed down in `Console`.
"""

import argparse
import gc
import importlib
import os
import sys

from orchestra import __version__, debug, workspaces
from orchestra.commands import args
from orchestra.errors import FAILED, USAGE, OrchestraError, interruption
from orchestra.paths import Layout, find_root, is_project
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
        """`text` as it is, for what is redrawn in place (`status --watch`, `run --wait`)."""
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
    return _HelpFormatter(prog, width=max(40, width - 2))


class _HelpFormatter(argparse.HelpFormatter):
    """Wraps a description given as one line; keeps text written in lines (the examples) as
    it is written."""

    def _fill_text(self, text, width, indent):
        if "\n" not in text:
            return super()._fill_text(text, width, indent)
        return "".join(indent + line for line in text.splitlines(keepends=True))


class _Parser(argparse.ArgumentParser):
    def __init__(self, *args, **kwargs):
        kwargs.setdefault("formatter_class", _formatter)
        super().__init__(*args, **kwargs)

    command = None  # on the main parser: the command word of the arguments it parses
    # help_tail(root) gives more help text, read from the project at `--root` (None: found
    # from the current directory); it runs only when the help is shown.
    help_tail = None
    root = None

    def format_help(self):
        text = super().format_help()
        return text + self.help_tail(self.root) if self.help_tail else text

    def error(self, message):
        prog = self.prog
        if "invalid choice: " in message:
            message = (_unknown_command(self.command) if self.prog == "orchestra"
                       else _invalid_choice(message))
        elif message.startswith("unrecognized arguments") and self.command in COMMANDS:
            prog += " " + self.command  # the main parser reports them, but they are the command's
        raise OrchestraError(f"{message} (see `{prog} --help`)", USAGE)


def _unknown_command(word):
    from orchestra.suggest import ALIASES, closest
    known = PUBLIC.split(",") + ["help"]
    match = closest(word or "", known, ALIASES)
    if match:
        return f"unknown command {word!r}; did you mean {match!r}?"
    return f"unknown command {word!r}; the commands are {', '.join(known)}"


def _invalid_choice(message):
    """argparse's "argument X: invalid choice: 'lst' (choose from ...)" with a suggestion."""
    import re
    from orchestra.suggest import did_you_mean
    m = re.search(r"invalid choice: '(.*)' \(choose from (.*)\)$", message)
    if not m:
        return message
    choices = [c.strip().strip("'") for c in m.group(2).split(",")]
    word = m.group(1)
    return f"unknown {word!r}{did_you_mean(word, choices)}; choose from {', '.join(choices)}"


def _without_help_word(argv):
    """`help [COMMAND...]` as `[COMMAND...] --help`, global options kept where they are."""
    while _command_word(argv) == "help":
        at = next(i for i, word in enumerate(argv)
                  if word == "help" and (i == 0 or argv[i - 1] != "--root"))
        argv = argv[:at] + argv[at + 1:] + ["--help"]
    return argv


# -- commands --------------------------------------------------------------------------

# Each names a module of orchestra.commands with register(sub) and run(...). Hidden ones are
# left out of the usage line.
COMMANDS = ("init", "start", "run", "status", "show", "logs", "diff", "merge", "discard",
            "worktree", "edit", "cancel", "retry", "clean", "archive", "timeout", "wait", "events",
            "stats", "deps", "pause", "resume", "daemon", "config", "workspaces", "mcp",
            "serve", "completion", "supervise")
HIDDEN = ("supervise",)
# The commands that make a project where there is none (its .orchestra/, when they need it);
# the others only read or change tasks, and outside a project say so rather than "0 tasks".
CREATES = ("init", "start", "run", "daemon", "config", "mcp", "supervise")
# The commands that go over the registered workspaces, and need no project where they run.
ANYWHERE = ("workspaces", "serve")
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


_MAIN_EPILOG = """\
examples:
  orchestra init                           create .orchestra/ and the agent config
  orchestra start demo "write hello.txt"   queue a task for the built-in demo agent
  orchestra run --parallel 2               run pending tasks, two at once, in the background
  orchestra status --watch                 follow them
  orchestra help start                     what `start` takes, with examples

exit codes: 0 success, 1 a task or operation failed, 2 usage or invalid input,
  124 a wait timed out, 130 interrupted; `run --wait` also 129, 141, 143 (hang-up,
  closed stdout, SIGTERM: the queue goes on in the background).

`orchestra help COMMAND` (or `orchestra COMMAND --help`) tells what a command does, with
examples."""


def build_parser(argv=None):
    """The parser; given argv naming a command, only that command's subparser is built
    (building all of them costs more than a `status` itself)."""
    parser = _Parser(prog="orchestra",
                     description="A file-based task queue for CLI coding agents.",
                     epilog=_MAIN_EPILOG)
    args.add_globals(parser)
    parser.add_argument("--version", action="version", version=f"orchestra {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{" + PUBLIC + "}")
    word = parser.command = _command_word(argv) if argv is not None else None
    for name in COMMANDS:
        if word not in COMMANDS or name == word:
            # Imported on use: `status` must not pay for what `run` needs.
            importlib.import_module(f"orchestra.commands.{name}").register(sub)
    if argv and "--root" in argv[:-1]:
        for command in sub.choices.values():
            command.root = argv[argv.index("--root") + 1]
    return parser


def run():
    """The program's entry point (`python -m orchestra`, the `orchestra` script): main(), then
    an exit that skips the interpreter's teardown. Every file is closed and every thread done
    by then; freeing a thousand parsed tasks one by one would only add ~20 ms to a `status`."""
    try:
        code = main()
    except KeyboardInterrupt as e:  # before or after the command: in parsing, say
        why, code = interruption(e)
        sys.stderr.write(f"orchestra: {why}\n")
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
    argv = _without_help_word(argv)
    if argv and argv[-1] == "--":
        # `start AGENT PROMPT --depends-on A B --`: README's way to end a list of ids, with
        # nothing after it, which argparse would call an unrecognized argument.
        argv = argv[:-1]
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
    return execute(args, console)


def execute(args, console):
    """The command `args` (parsed) names, run with `console`; its exit code. Every failure it
    expects becomes one line on the console's stderr (the MCP server runs its tools so too)."""
    try:
        layout = Layout(find_root(getattr(args, "root", None)))
        anywhere = args.command in ANYWHERE or getattr(args, "workspaces", False) is True
        if args.command not in CREATES and not anywhere and not is_project(layout.root):
            where = layout.root if getattr(args, "root", None) or os.environ.get(
                "ORCHESTRA_ROOT") else os.getcwd() + " or above"
            raise OrchestraError(f"no orchestra project in {where}; `orchestra start` (or "
                                 "`orchestra init`) creates one", USAGE)
        debug.log(f"{args.command} in {layout.root}")
        # Before the command, as a `run --wait` or a `serve` may go on for hours; after it
        # for a command that made the project.
        noted = workspaces.note(layout)
        code = args.func(layout, console, args)
        if not noted:
            workspaces.note(layout)
        return code
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
