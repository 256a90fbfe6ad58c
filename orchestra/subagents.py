"""The OpenCode agent files `init --for opencode` writes in .orchestra-cli/agent/: one for each
role (coder, tester) and for each configured agent that runs OpenCode. The `opencode` preset
runs `opencode run --agent {agent}` with OPENCODE_CONFIG_DIR at .orchestra-cli/, so a task's
agent of that name gets the file's body as its instructions. Pure.
"""

import json

from orchestra import agents

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
                                       if isinstance(spec, dict) and spec.get("command") == "opencode"})


def text(name, spec):
    role = agents.ROLES.get(name)
    description = (f"orchestra's {name}: " + ("makes the change a task asks for" if name == "coder"
                                              else "writes and runs the tests a task asks for")
                   if role else f"orchestra's agent {name!r}: works on a task from its queue")
    head = "".join(f"{key}: {json.dumps(value)}\n" for key, value in
                   (("description", description), ("mode", "primary")))
    # Every tool: the protocol files are written by its write or edit tool, or by bash.
    tools = "tools:\n  bash: true\n  edit: true\n  write: true\n"
    body = PROTOCOL + ("\n" + role + "\n" if role else "") + "\n" + agents.SUBTASKS
    return f"---\n{head}{tools}---\n{body}"


def files(specs):
    """(path under the project, text) of each agent file."""
    return [(f".orchestra-cli/agent/{name}.md", text(name, specs.get(name, {}))) for name in names(specs)]
