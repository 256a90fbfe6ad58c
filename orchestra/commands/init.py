import os

from orchestra import agents, statedir
from orchestra.files import write_atomic
from orchestra.commands import args


def run(layout, console):
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
    else:
        console.out(f"orchestra already initialised in {layout.root}; nothing changed")
    return 0


def register(sub):
    p = args.subparser(sub, "init", help="create .orchestra/ and an agent config",
                       description="Create .orchestra/{tasks,plans,logs} and, if absent, "
                       ".orchestra-cli/agent-config.json with presets and prompts/. Never overwrites.",
                       epilog=args.examples(
                           ("orchestra init", "in the project's top directory"),
                           ("orchestra --root ~/src/app init", "elsewhere")))
    p.set_defaults(func=lambda layout, console, a: run(layout, console))
