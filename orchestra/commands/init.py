import os

from orchestra import agents, statedir
from orchestra.errors import OrchestraError
from orchestra.files import write_atomic
from orchestra.commands import args


def targets(values):
    """The agent CLIs of --for (repeated, or comma lists); exit 2 for an unknown one."""
    from orchestra.integrations import TARGETS
    names = [name.strip() for value in values or () for name in value.split(",") if name.strip()]
    for name in names:
        if name not in TARGETS:
            from orchestra.suggest import did_you_mean
            raise OrchestraError(f"init --for: unknown agent {name!r}{did_you_mean(name, TARGETS)}; "
                                 f"orchestra writes commands for {', '.join(TARGETS)}")
    if values is not None and not names:
        raise OrchestraError(f"init --for: name one or more of {', '.join(TARGETS)}")
    return set(names)


def run(layout, console, for_=None, force=False):
    chosen = targets(for_)
    if force and not chosen:
        raise OrchestraError("init --force replaces the files of --for: name the agents, e.g. "
                             "`orchestra init --for claude --force`")
    changes = []
    if chosen:
        from orchestra import integrations
        # Decided before anything is written: a config that cannot be merged changes nothing.
        changes = integrations.plan(layout, chosen, agents.all_agents(layout), force)
    created = []
    for d in (layout.tasks, layout.plans, layout.logs, layout.prompts):
        if not os.path.isdir(d):
            os.makedirs(d)
            created.append(os.path.relpath(d, layout.root) + os.sep)
    statedir.ensure(layout)
    for path, text in [(layout.agent_config, agents.config_text())] + [
            (os.path.join(layout.prompts, name), text) for name, text in agents.prompt_files()]:
        if not os.path.exists(path):
            try:
                write_atomic(path, text, exclusive=True)
                created.append(os.path.relpath(path, layout.root))
            except FileExistsError:
                pass
    if created:
        console.out(f"initialised orchestra in {layout.root}: created " + ", ".join(created))
    elif not chosen:
        console.out(f"orchestra already initialised in {layout.root}; nothing changed")
    if chosen:
        integrations.apply(layout, changes)
        for change in changes:
            if change.action != "unchanged":
                console.out(change.line())
        same = sum(change.action == "unchanged" for change in changes)
        if same:
            console.out(f"{same} file{'s' * (same != 1)} already as orchestra writes them"
                        + ("" if same < len(changes) else "; nothing changed"))
    return 0


def register(sub):
    p = args.subparser(sub, "init", help="create .orchestra/ and an agent config; --for: "
                       "commands and MCP for your agent CLIs",
                       description="Create .orchestra/{tasks,plans,logs} and, if absent, "
                       ".orchestra-cli/agent-config.json with presets and prompts/. Never overwrites. "
                       "With --for, also write each named agent CLI's slash commands for orchestra "
                       "(Claude Code, Gemini CLI, OpenCode), OpenCode's agent files in "
                       ".orchestra-cli/agent/, and register `orchestra mcp` in each one's project "
                       "config; a file changed since orchestra wrote it is kept.",
                       epilog=args.examples(
                           ("orchestra init", "in the project's top directory"),
                           ("orchestra --root ~/src/app init", "elsewhere"),
                           ("orchestra init --for claude,opencode", "then /orchestra:start in Claude Code, "
                            "/orchestra-start in OpenCode"),
                           ("orchestra init --for gemini --force", "replace the files even where "
                            "they were changed")))
    p.add_argument("--for", dest="for_", action="append", metavar="AGENT[,AGENT...]",
                   help="write commands and MCP registration for these agent CLIs: claude, "
                   "codex, gemini, opencode (repeatable)")
    p.add_argument("--force", action="store_true",
                   help="with --for: replace files changed since orchestra wrote them")
    p.set_defaults(func=lambda layout, console, a: run(layout, console, a.for_, a.force))
