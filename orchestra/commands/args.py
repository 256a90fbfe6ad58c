"""What command modules share to declare their arguments: value types and the global options."""

import argparse
import re

from orchestra.clock import parse_duration

_INTEGER = re.compile(r"\s*[+-]?[0-9]+\s*")  # int() alone takes "９", "٣" and "1_000" too


def integer(text, minimum=None):
    if not _INTEGER.fullmatch(text):
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number")
    value = int(text)
    if minimum is not None and value < minimum:
        raise argparse.ArgumentTypeError(f"{text} must be {minimum} or more")
    return value


def positive_int(text):
    return integer(text, minimum=1)


def count(text):
    return integer(text, minimum=0)


def seconds(text, allow_zero=False):
    try:
        value = parse_duration(text)
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None
    if value < 0 or (value == 0 and not allow_zero):
        raise argparse.ArgumentTypeError(f"{text} must be more than 0 seconds")
    return value


def seconds_or_zero(text):
    return seconds(text, allow_zero=True)


def _typed(parse):
    def convert(text):
        try:
            return parse(text)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
    convert.__name__ = parse.__name__  # argparse names the type in its errors
    return convert


def _statuses(text):
    from orchestra import filters
    return filters.statuses(text)


def _labels(text):
    from orchestra import filters
    return filters.labels(text)


statuses, labels = _typed(_statuses), _typed(_labels)


def add_labels(parser, help):
    parser.add_argument("--label", action="append", type=labels, metavar="NAME", help=help)


def add_filters(parser, what="the tasks"):
    """--status, --agent and --label, read back by `task_filter(a)`."""
    g = parser.add_argument_group("filters (a task must match each given; repeated or "
                                  "a,b: any of the values)")
    g.add_argument("--status", action="append", type=statuses, metavar="STATUS",
                   help=f"only {what} in this status: pending, running, completed, failed, "
                   "cancelled")
    g.add_argument("--agent", action="append", metavar="NAME", help=f"only {what} of this agent")
    add_labels(g, help=f"only {what} with this label")


def task_filter(a):
    """A filters.Filter, or None when no filter is given (so `status` need not import it)."""
    if not (a.status or a.agent or a.label):
        return None
    from orchestra.filters import Filter
    return Filter(sum(a.status or [], []), a.agent or (), sum(a.label or [], []))


def add_schedule(parser, now_help=False):
    """--delay and --at: when a pending task may start; read back by `not_before(a, now)`."""
    from orchestra.clock import AT_FORMS
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--delay", type=seconds_or_zero, metavar="DURATION",
                   help="start no sooner than this long from now, e.g. 90s, 30m, 8h"
                   + ("; 0 lets it start as soon as it can" if now_help else ""))
    g.add_argument("--at", metavar="TIME", help=f"start no sooner than TIME: {AT_FORMS}")


def not_before(a, now):
    """The time --delay or --at names, None when neither is given (or --delay 0);
    OrchestraError for a bad --at (it is read against the clock of the command, not of the
    parser)."""
    from orchestra.clock import parse_at
    if a.delay is not None:
        return now + a.delay if a.delay else None
    if a.at is None:
        return None
    try:
        return parse_at(a.at, now)
    except ValueError as e:
        from orchestra.errors import OrchestraError
        raise OrchestraError(f"--at: {e}") from None


def add_globals(parser):
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


DURATION_FORMS = "seconds, or a number with a unit: 90s, 15m, 2h, 7d, 1w"


def examples(*lines):
    """An epilog of (command line, what it does), kept as written: what it does in a column,
    or under a command line too long to leave room for it."""
    width = max([len(command) for command, _ in lines if len(command) <= 40] or [40])
    out = ["examples:"]
    for command, what in lines:
        if len(command) > width:
            out += [f"  {command}", f"  {'':{width}}   {what}"]
        else:
            out.append(f"  {command.ljust(width)}   {what}")
    return "\n".join(out)


def subparser(sub, name, **kwargs):
    p = sub.add_parser(name, **kwargs)
    add_globals(p)
    return p
