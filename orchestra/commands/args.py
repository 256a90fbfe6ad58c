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
