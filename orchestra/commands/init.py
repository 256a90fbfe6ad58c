import os

from orchestra import agents
from orchestra.store import write_atomic


def run(layout, console):
    created = []
    for d in (layout.tasks, layout.plans, layout.logs, layout.prompts):
        if not os.path.isdir(d):
            os.makedirs(d)
            created.append(os.path.relpath(d, layout.root) + os.sep)
    for path, text in ((layout.agent_config, agents.config_text()),
                       (os.path.join(layout.prompts, "protocol.md"), agents.DEFAULT_TEMPLATE)):
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
