"""The OpenCode agent files `init --for opencode` writes in .orchestra-cli/agent/: one for each
role (coder, tester) and for each configured agent that runs OpenCode. The `opencode` preset
runs `opencode run --agent {agent}` with OPENCODE_CONFIG_DIR at .orchestra-cli/, so a task's
agent of that name gets the file's body as its instructions. Pure.
"""

import json
import re

from orchestra import agents

# An agent's name as a file name: one that would leave agent/ (or hide in it) gets no file.
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]*")

PROTOCOL = """\
You run unattended as a task under orchestra, a queue of coding agents. Nobody will answer
questions: decide for yourself, and note your decisions in the plan.

The task's prompt names three files outside your working directory, by absolute path:
- the plan: write your plan there as a short Markdown checklist before you change anything,
  and tick items off as you go;
- the .done file: create it, holding a one-line summary, once the work is finished and checked;
- the .error file: if you cannot finish, write it instead, holding JSON
  {"error": "<one-line reason>", "details": "<what you tried and what is missing>"}, and stop.
Never write both. The same paths are in $ORCHESTRA_PLAN_FILE, $ORCHESTRA_DONE_FILE and
$ORCHESTRA_ERROR_FILE.
"""


def names(specs):
    """The agent files to write, for the agents of `specs` (name -> spec)."""
    return sorted(set(agents.ROLES) | {name for name, spec in specs.items()
                                       if isinstance(spec, dict) and spec.get("command") == "opencode"
                                       and _FILE_NAME.fullmatch(name)})


# What OpenCode's agent list says of each.
DESCRIPTIONS = {"coder": "orchestra's coder: makes the change a task asks for",
                "tester": "orchestra's tester: writes and runs the tests a task asks for"}


def text(name):
    role = agents.ROLES.get(name)
    description = DESCRIPTIONS.get(name, f"orchestra's agent {name!r}: works on a task from its queue")
    # Every tool: the protocol files are written by its write or edit tool, or by bash.
    head = (f"---\ndescription: {json.dumps(description)}\nmode: \"primary\"\n"
            "tools:\n  bash: true\n  edit: true\n  write: true\n---\n")
    return head + PROTOCOL + ("\n" + role + "\n" if role else "") + "\n" + agents.SUBTASKS


def files(specs):
    """(path under the project, text) of each agent file."""
    return [(f".orchestra-cli/agent/{name}.md", text(name)) for name in names(specs)]
