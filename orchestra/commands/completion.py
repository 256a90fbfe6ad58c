"""`completion`: print a shell's completion script; `--words` is what the script asks as it
completes (agent names, task ids), so it must be quick and quiet."""

import argparse

from orchestra.commands import args
from orchestra.paths import task_ids


def run(layout, console, shell=None, words=None):
    if words is not None:
        for word in _words(layout, words):
            console.out(word)
        return 0
    if shell is None:
        from orchestra.errors import USAGE, OrchestraError
        raise OrchestraError("name a shell: orchestra completion bash|zsh|fish", USAGE)
    console.out(script(shell).rstrip("\n"))
    return 0


def script(shell):
    """The completion script for `shell`, from every command's parser."""
    from orchestra import cli, completion
    return completion.SHELLS[shell](cli.build_parser(), cli.HIDDEN)


def _words(layout, kind):
    """Never an error: whatever goes wrong, the user's prompt just gets no suggestions."""
    try:
        if kind == "ids":
            return sorted(task_ids(layout.tasks))
        from orchestra import agents
        return sorted(agents.all_agents(layout))
    except Exception:  # noqa: BLE001 -- a broken config or a missing folder: no words
        return []


def register(sub):
    p = args.subparser(sub, "completion", help="print a shell completion script",
                       description="Print a completion script for bash, zsh or fish: "
                       "commands, options, setting names, and as you type the project's "
                       "agents and live task ids (asked of orchestra itself).",
                       epilog=args.examples(
                           ("source <(orchestra completion bash)", "bash, now; put it in ~/.bashrc"),
                           ("source <(orchestra completion zsh)", "zsh, after compinit (~/.zshrc)"),
                           ("orchestra completion fish > ~/.config/fish/completions/orchestra.fish",
                            "fish")))
    p.add_argument("shell", nargs="?", choices=("bash", "zsh", "fish"), metavar="SHELL",
                   help="bash, zsh or fish")
    p.add_argument("--words", choices=("agents", "ids"), help=argparse.SUPPRESS)
    p.set_defaults(func=lambda layout, console, a: run(layout, console, a.shell, a.words))
