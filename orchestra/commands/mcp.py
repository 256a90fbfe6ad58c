"""`mcp`: serve the Model Context Protocol on stdin and stdout, for agents to drive orchestra."""

import sys

from orchestra.commands import args
from orchestra.errors import OK


def run(layout, console, stdin):
    """Serves until stdin closes; then ends the waits in flight, lets the other calls answer,
    and exits 0."""
    from orchestra import mcp, mcptools
    session = mcp.Session(mcptools.Tools(layout.root), console.out)
    try:
        for line in stdin.buffer:
            session.receive(line.decode("utf-8", "replace"))
    finally:
        session.close()
    return OK


def register(sub):
    p = args.subparser(sub, "mcp", help="serve orchestra's tools to an agent (MCP over stdio)",
                       description="Speak the Model Context Protocol on stdin and stdout (one "
                       "JSON-RPC message a line), so that an agent such as Claude Code, Codex, "
                       "Gemini CLI, OpenCode or Cursor can queue, watch and collect tasks of "
                       "this project as tools: start, status, show, logs, wait, cancel, retry, "
                       "diff. An agent starts it itself, from its MCP configuration; it ends "
                       "when its stdin closes.",
                       epilog=args.examples(
                           ("claude mcp add orchestra -- orchestra mcp",
                            "register it with Claude Code"),
                           ("orchestra mcp --root ~/src/app", "serve the project at ~/src/app"),
                           ("""echo '{"jsonrpc":"2.0","id":1,"method":"tools/list"}' | orchestra mcp""",
                            "list the tools it offers")))
    p.set_defaults(func=lambda layout, console, a: run(layout, console, sys.stdin))
