"""The command line: argparse, one `_add_<command>` a command, and the one error boundary.

Colour, Unicode and width are decided once here and handed down in `Console`.
"""

import argparse
import gc
import os
import sys

from orchestra import __version__, debug
from orchestra.clock import parse_duration
from orchestra.errors import FAILED, INTERRUPTED, USAGE, OrchestraError
from orchestra.paths import Layout, find_root
from orchestra.table import Style

PUBLIC = "init,start,run,status,logs,cancel,retry,clean,timeout,wait"


class Console:
    """The one place that writes to the terminal."""

    def __init__(self, stdout, stderr, style, width, is_tty):
        self.stdout, self.stderr = stdout, stderr
        self.style, self.width, self.is_tty = style, width, is_tty

    def out(self, text):
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def out_bytes(self, data):
        self.stdout.flush()
        self.stdout.buffer.write(data)
        self.stdout.buffer.flush()

    def warn(self, text):
        self.stderr.write(f"orchestra: {text}\n")
        self.stderr.flush()


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
    width = None
    if is_tty:
        try:
            width = os.get_terminal_size(stdout.fileno()).columns
        except (OSError, ValueError):
            width = 80
    elif environ.get("COLUMNS", "").isdigit():
        width = int(environ["COLUMNS"])
    return Console(stdout, stderr, Style(color, unicode), width, is_tty)


# -- argument types -------------------------------------------------------------------


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be at least 1")
    return value


def _count(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} must be 0 or more")
    return value


def _integer(text):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None


def _seconds(text, allow_zero=False):
    try:
        value = parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if value < 0 or (value == 0 and not allow_zero):
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 seconds")
    return value


def _seconds_or_zero(text):
    return _seconds(text, allow_zero=True)


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

    def error(self, message):
        if message.startswith("argument {"):  # argparse's words for an unknown command
            message = f"unknown command; the commands are {PUBLIC.replace(',', ', ')}"
        raise OrchestraError(f"{message} (see `{self.prog} --help`)", USAGE)


# -- commands --------------------------------------------------------------------------


def _add_init(sub):
    p = _sub(sub, "init", help="create .orchestra/ and an agent config",
                       description="Create .orchestra/{tasks,plans,logs} and, if absent, "
                       ".orchestra-cli/agent-config.json with presets and prompts/. Never overwrites.")
    p.set_defaults(func=lambda layout, console, a: _command("init").run(layout, console))


def _add_start(sub):
    p = _sub(sub, "start", help="queue a task",
                       description="Queue a task (status pending) and print its id.")
    p.add_argument("agent", help="agent name (see .orchestra-cli/agent-config.json)")
    p.add_argument("prompt", nargs="+", help="the prompt (several words are joined); - reads stdin")
    p.add_argument("--priority", type=_integer, default=0, help="higher runs first (default 0)")
    p.add_argument("--timeout", type=_seconds, help="wall-clock limit, e.g. 600, 30m, 2h")
    p.add_argument("--max-retries", type=_count, help="automatic retries on failure (default: agent's maxRetries, else 0)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-q", "--quiet", action="store_true", help="print the id alone")
    out.add_argument("--json", action="store_true", help="print the task as JSON")
    p.set_defaults(func=lambda layout, console, a: _command("start").run(
        layout, console, a.agent, " ".join(a.prompt), priority=a.priority, timeout=a.timeout,
        max_retries=a.max_retries, quiet=a.quiet, as_json=a.json, stdin=sys.stdin))


def _add_run(sub):
    p = _sub(sub, "run", help="run pending tasks",
                       description="Run pending tasks, highest priority then oldest first, at most "
                       "N at once. Without --wait a background supervisor does it and this returns "
                       "at once; with --wait it happens here, and the exit code is 0 if every task "
                       "it ran completed, 1 otherwise.")
    p.add_argument("--parallel", "-p", type=_positive_int, help="tasks at once (default 1)")
    p.add_argument("--wait", "-w", action="store_true", help="supervise in the foreground until drained")
    p.set_defaults(func=lambda layout, console, a: _command("run").run(
        layout, console, parallel=a.parallel, wait=a.wait))


def _add_status(sub):
    p = _sub(sub, "status", help="show tasks",
                       description="Show tasks as a table (active ones and those finished in the "
                       "last 24 hours) with a summary line.")
    p.add_argument("ids", nargs="*", metavar="ID", help="only these tasks")
    p.add_argument("--json", action="store_true", help="a JSON array, one object a task")
    p.add_argument("--all", "-a", action="store_true", help="include older finished tasks")
    p.add_argument("--watch", "-W", action="store_true", help="redraw until Ctrl-C")
    p.add_argument("--interval", type=_seconds, default=2.0, help="seconds between redraws (default 2)")
    p.set_defaults(func=lambda layout, console, a: _command("status").run(
        layout, console, ids=a.ids, as_json=a.json, show_all=a.all, watch=a.watch,
        interval=a.interval))


def _add_logs(sub):
    p = _sub(sub, "logs", help="print a task's log",
                       description="Print a task's log (the agent's stdout and stderr).")
    p.add_argument("id", metavar="ID")
    p.add_argument("-f", "--follow", action="store_true", help="keep printing until the task ends")
    p.set_defaults(func=lambda layout, console, a: _command("logs").run(
        layout, console, a.id, follow=a.follow))


def _add_cancel(sub):
    p = _sub(sub, "cancel", help="cancel tasks",
                       description="Cancel pending tasks; kill running ones with their whole "
                       "process tree (SIGTERM, then SIGKILL after 1 s).")
    p.add_argument("ids", nargs="*", metavar="ID")
    p.add_argument("--all", action="store_true", help="every pending and running task")
    p.set_defaults(func=lambda layout, console, a: _command("cancel").run(
        layout, console, ids=a.ids, cancel_all=a.all))


def _add_retry(sub):
    p = _sub(sub, "retry", help="queue a failed or cancelled task again")
    p.add_argument("id", metavar="ID")
    p.set_defaults(func=lambda layout, console, a: _command("retry").run(layout, console, a.id))


def _add_clean(sub):
    p = _sub(sub, "clean", help="delete finished tasks and their files",
                       description="Delete finished tasks with their json, sentinels, plan and "
                       "log. Without a state flag, completed tasks. Never touches pending or "
                       "running tasks.")
    p.add_argument("--completed", action="store_true")
    p.add_argument("--failed", action="store_true")
    p.add_argument("--cancelled", action="store_true")
    p.add_argument("--all", action="store_true", help="completed, failed and cancelled")
    p.add_argument("--older-than", type=_seconds, metavar="DURATION",
                   help="only tasks finished at least this long ago, e.g. 7d, 12h")
    p.set_defaults(func=lambda layout, console, a: _command("clean").run(
        layout, console, completed=a.completed, failed=a.failed, cancelled=a.cancelled,
        clean_all=a.all, older_than=a.older_than))


def _add_timeout(sub):
    p = _sub(sub, "timeout", help="set a task's timeout",
                       description="Set or change the timeout of a pending or running task, "
                       "counted from its start; 0 removes it. It applies to the running process.")
    p.add_argument("id", metavar="ID")
    p.add_argument("seconds", type=_seconds_or_zero, metavar="SECONDS")
    p.set_defaults(func=lambda layout, console, a: _command("timeout").run(
        layout, console, a.id, a.seconds))


def _add_wait(sub):
    p = _sub(sub, "wait", help="wait for tasks to finish",
                       description="Block until the tasks reach a final outcome. Exit 0 if all "
                       "completed, 1 if any failed or was cancelled, 124 if --timeout expired.")
    p.add_argument("ids", nargs="+", metavar="ID")
    p.add_argument("--timeout", type=_seconds, help="give up after this long (exit 124)")
    p.set_defaults(func=lambda layout, console, a: _command("wait").run(
        layout, console, a.ids, timeout=a.timeout))


def _add_supervise(sub):
    p = _sub(sub, "supervise")  # started by `run`; not listed
    p.add_argument("--parallel", type=_positive_int, default=1)
    p.set_defaults(func=lambda layout, console, a: _command("supervise").run(
        layout, console, parallel=a.parallel))


def _command(name):
    # Imported on use: `status` must not pay for what `run` needs.
    import importlib
    return importlib.import_module(f"orchestra.commands.{name}")


def _add_globals(parser):
    # On the main parser and every subparser, so they go before or after the command. No
    # defaults here (getattr in main supplies them): a subparser must not overwrite a value
    # given before the command.
    g = parser.add_argument_group("global options")
    g.add_argument("--root", default=argparse.SUPPRESS, metavar="DIR",
                   help="project root (default: nearest directory with .orchestra/ or .orchestra-cli/)")
    g.add_argument("--debug", action="store_true", default=argparse.SUPPRESS,
                   help="timestamped diagnostics on stderr")
    g.add_argument("--no-color", action="store_true", default=argparse.SUPPRESS,
                   help="no ANSI colours")


def _sub(sub, name, **kwargs):
    p = sub.add_parser(name, **kwargs)
    _add_globals(p)
    return p


_ADDERS = {"init": _add_init, "start": _add_start, "run": _add_run, "status": _add_status,
           "logs": _add_logs, "cancel": _add_cancel, "retry": _add_retry, "clean": _add_clean,
           "timeout": _add_timeout, "wait": _add_wait, "supervise": _add_supervise}


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
                     "invalid input, 124 a wait timed out, 130 interrupted.")
    _add_globals(parser)
    parser.add_argument("--version", action="version", version=f"orchestra {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="{" + PUBLIC + "}")
    word = _command_word(argv) if argv is not None else None
    for name, add in _ADDERS.items():
        if word not in _ADDERS or name == word:
            add(sub)
    return parser


def main(argv=None):
    # A `status` of a thousand tasks allocates enough to trigger several collections with
    # nothing to collect; long-running loops still collect, just less often.
    gc.set_threshold(100_000, 50, 50)
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
    except KeyboardInterrupt:
        console.warn("interrupted")
        return INTERRUPTED
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
