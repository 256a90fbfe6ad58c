"""`resume`: see pause.py."""

from orchestra.commands import args, pause


def register(sub):
    p = args.subparser(sub, "resume", help="start launching tasks again after `pause`",
                       description="Start launching pending tasks again after `orchestra "
                       "pause` (removes .orchestra/paused).",
                       epilog=args.examples(("orchestra resume", "let the queue go on"),))
    p.set_defaults(func=lambda layout, console, a: pause.resume(layout, console))
