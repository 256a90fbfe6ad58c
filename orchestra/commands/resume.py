"""`resume`: see pause.py."""

from orchestra.commands import args, pause


def register(sub):
    p = args.subparser(sub, "resume", help="start launching tasks again after `pause`")
    p.set_defaults(func=lambda layout, console, a: pause.resume(layout, console))
