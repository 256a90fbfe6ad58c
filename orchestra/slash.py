"""The slash commands `init --for` writes: orchestra's commands as each agent CLI's own custom
commands, in the format and place its current release reads them. Pure.

Each command is a prompt for the agent: run one orchestra command line with the user's
arguments, then tell the user what the result means and what to do next.
"""

import json

# (name, description, argument hint, the command line with {args} for the user's arguments,
#  what to make of its result)
COMMANDS = (
    ("start", "Queue a task for an agent under orchestra",
     "AGENT PROMPT [--priority N] [--depends-on ID...] [--timeout DURATION]",
     "orchestra start -q {args} && orchestra run",
     "`start -q` prints the new task's id; `orchestra run` then starts a background supervisor "
     "unless one runs already. Tell the user the id, and that `orchestra wait ID` blocks until "
     "it ends while `orchestra show ID` and `orchestra logs ID` follow it. Exit 2 means the "
     "agent, the prompt or a dependency was wrong: nothing was queued; say what the message "
     "names."),
    ("status", "Show orchestra's task queue",
     "[ID...] [--status STATUS] [--agent NAME] [--label NAME] [--all]",
     "orchestra status {args}",
     "Summarise the table: what runs, what is pending, what completed and what failed. For a "
     "failed task, `orchestra show ID` says why."),
    ("show", "Show one orchestra task in full", "ID",
     "orchestra show {args}",
     "Report its status, its outcome or error, how far its plan got, and where its log and "
     "plan are."),
    ("logs", "Print an orchestra task's log", "ID [-n LINES]",
     "orchestra logs {args}",
     "Never add -f: it blocks until the task ends. For a long log, run it again with -n 100 to "
     "see the end. Summarise what the agent did and where it stopped."),
    ("wait", "Wait for orchestra tasks to end", "ID... | --all [--timeout DURATION]",
     "orchestra wait {args}",
     "It blocks until every named task ends (add --timeout when your shell tool has a time "
     "limit). Exit 0: all completed; 1: one failed or was cancelled (`orchestra show ID` says "
     "why); 124: the timeout expired and they still run. Report each task's outcome; an "
     "isolated task's changes are seen with `orchestra diff ID` and taken with "
     "`orchestra merge ID`."),
    ("cancel", "Cancel orchestra tasks", "ID... | --all | --status STATUS --agent NAME",
     "orchestra cancel {args}",
     "Say which tasks were cancelled. Exit 1 names a task that had already finished."),
    ("retry", "Queue failed or cancelled orchestra tasks again", "ID... | --failed",
     "orchestra retry {args} && orchestra run",
     "Say which tasks were queued again; `orchestra wait ID` waits for them."),
    ("diff", "Show what an isolated orchestra task changed", "ID [--stat]",
     "orchestra diff {args}",
     "Summarise the changes; `orchestra merge ID` takes them into the current branch."),
    ("merge", "Merge completed orchestra tasks' branches into the current branch",
     "ID... [--squash | --rebase] | --all",
     "orchestra merge {args}",
     "Exit 1 means a merge would conflict or touch uncommitted files, and nothing was changed: "
     "name the files it lists and ask the user how to go on."),
)


def _body(line, after, args):
    return (f"Run this shell command, with the arguments quoted for the shell as the user meant "
            f"them:\n\n    {line.format(args=args)}\n\n{after}\n")


def _frontmatter(fields):
    # JSON strings are YAML double-quoted strings: a colon or bracket in a value stays text.
    return "---\n" + "".join(f"{key}: {json.dumps(value)}\n" for key, value in fields) + "---\n"


def claude():
    """Claude Code reads .claude/commands/; a subdirectory makes a namespace:
    .claude/commands/orchestra/start.md is /orchestra:start."""
    return [(f".claude/commands/orchestra/{name}.md",
             _frontmatter([("description", description), ("argument-hint", hint),
                           ("allowed-tools", "Bash(orchestra:*)")])
             + _body(line, after, "$ARGUMENTS"))
            for name, description, hint, line, after in COMMANDS]


def gemini():
    """Gemini CLI reads .gemini/commands/**/*.toml; the path makes the name
    (orchestra/start.toml is /orchestra:start) and {{args}} takes the arguments. Not its
    !{...}: that passes all the arguments to the shell as one word."""
    out = []
    for name, description, _, line, after in COMMANDS:
        body = _body(line, after, "{{args}}")
        # A literal string: no escapes in it are read, and none of these texts holds '''.
        out.append((f".gemini/commands/orchestra/{name}.toml",
                    f"description = {json.dumps(description)}\nprompt = '''\n{body}'''\n"))
    return out


def opencode():
    """OpenCode reads .opencode/commands/*.md, named by the file: /orchestra-start."""
    return [(f".opencode/commands/orchestra-{name}.md",
             _frontmatter([("description", description)]) + _body(line, after, "$ARGUMENTS"))
            for name, description, _, line, after in COMMANDS]
