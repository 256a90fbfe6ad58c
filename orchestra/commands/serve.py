"""`serve`: the web dashboard over this project and every registered workspace."""

import errno
import signal

from orchestra.commands import args
from orchestra.errors import FAILED, TERMINATED, Interrupted, OrchestraError

DEFAULT_PORT = 8767


def run(layout, console, port=None, host="127.0.0.1", open_browser=False):
    from orchestra import workspaces
    from orchestra.paths import is_project
    from orchestra.web.server import LOOPBACK
    here = [layout.root] if is_project(layout.root) else []
    roots = here + [r for r in workspaces.roots(warn=console.warn) if r not in here]
    if not roots:
        raise OrchestraError(f"no orchestra project in {layout.root} and no workspace "
                             "registered: run it in a project (or give --root)")
    if host not in LOOPBACK:
        console.warn(f"serving on {host}, beyond this machine: anyone who can reach it and "
                     "has the token can start and cancel tasks here")
    server = _bind(console, roots, host, port)

    def terminated(signum, frame):
        raise Interrupted("terminated", TERMINATED)
    signal.signal(signal.SIGTERM, terminated)
    try:
        console.out(f"orchestra dashboard: {server.url}")
        console.out(f"serving {len(roots)} workspace{'s' if len(roots) != 1 else ''}; "
                    "Ctrl-C stops it")
        if open_browser:
            import webbrowser
            webbrowser.open(server.url)
        server.serve_forever(poll_interval=0.5)
    except KeyboardInterrupt as e:
        return e.code if isinstance(e, Interrupted) else 0  # Ctrl-C is the way to stop it
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        server.server_close()
    return 0


def _bind(console, roots, host, port, default=DEFAULT_PORT):
    """A server on `port`, or with none given on `default` or else any free port."""
    from orchestra.web.server import Server
    try:
        return Server(roots, host, default if port is None else port)
    except OSError as e:
        if port is not None or e.errno not in (errno.EADDRINUSE, 10048):  # 10048: Windows'
            raise OrchestraError(f"cannot listen on {host}:{default if port is None else port}: "
                                 f"{e.strerror or e}", FAILED) from None
    server = Server(roots, host, 0)
    console.warn(f"port {default} is taken: serving on {server.server_port} instead")
    return server


def register(sub):
    p = args.subparser(sub, "serve", help="the web dashboard",
                       description="Serve a web dashboard of this project and every registered "
                       "workspace: the queue, each task (plan, log, events, diff), metrics, and "
                       "actions (start, cancel, retry, merge, pause, resume). It prints a URL "
                       "holding a random token, which every request needs.",
                       epilog=args.examples(
                           ("orchestra serve", f"on 127.0.0.1:{DEFAULT_PORT} (or a free port)"),
                           ("orchestra serve --port 0 --open", "any free port, in a browser"),
                           ("orchestra serve --host 0.0.0.0", "reachable from other machines")))
    p.add_argument("--port", type=_port, metavar="N",
                   help=f"the port (default {DEFAULT_PORT}, or a free one if it is taken; "
                   "0: any free one)")
    p.add_argument("--host", default="127.0.0.1", metavar="ADDR",
                   help="the address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--open", action="store_true", help="open the page in a web browser")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, port=a.port, host=a.host, open_browser=a.open))


def _port(text):
    import argparse
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is not a port: give 0 to 65535")
    return int(text)
