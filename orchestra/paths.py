"""Where a project's files live, and how the project root is found (like git finds its repo)."""

import os

from orchestra.errors import OrchestraError

STATE_DIR = ".orchestra"
CONFIG_DIR = ".orchestra-cli"
SENTINELS = ("done", "error", "cancelled", "timeout", "limit", "exit")


def find_root(explicit=None, cwd=None, environ=os.environ):
    """--root, else ORCHESTRA_ROOT, else the project holding the current directory: the one
    whose .orchestra/ it is inside (a task's worktree, .orchestra/worktrees/<id>), else the
    nearest ancestor holding .orchestra/ or .orchestra-cli/, else the top of the git work
    tree around it (a linked worktree's or a submodule's own top, as git sees it), else the
    current directory itself."""
    chosen = explicit if explicit is not None else environ.get("ORCHESTRA_ROOT")
    if chosen or explicit is not None:  # `--root ""` is a mistake; an empty variable is unset
        root = os.path.abspath(chosen)
        if not chosen or not os.path.isdir(root):
            raise OrchestraError(f"project root {chosen!r} is not a directory")
        return root
    start = os.path.abspath(cwd or os.getcwd())
    parts = start.split(os.sep)
    if STATE_DIR in parts:
        # The innermost: a project may live in a task's worktree of another.
        holder = os.sep.join(parts[:len(parts) - 1 - parts[::-1].index(STATE_DIR)]) or os.sep
        if os.path.isdir(os.path.join(holder, STATE_DIR)):
            return holder
    here, top = start, None
    while True:
        if is_project(here):
            return here
        # .git as a directory, or a file naming one (a linked worktree, a submodule); read
        # here rather than asking git, which would cost more than a whole `status`.
        if top is None and os.path.exists(os.path.join(here, ".git")):
            top = here
        parent = os.path.dirname(here)
        if parent == here:
            return top or start
        here = parent


def is_project(root):
    """Whether root holds a project: .orchestra/ or .orchestra-cli/."""
    return os.path.isdir(os.path.join(root, STATE_DIR)) or os.path.isdir(os.path.join(root, CONFIG_DIR))


def task_ids(tasks_dir):
    """The ids of the task files in a tasks directory (none if it is missing), from their
    names alone: no file is read."""
    try:
        names = os.listdir(tasks_dir)
    except FileNotFoundError:
        return []
    return [n[:-5] for n in names if n.endswith(".json") and not n.startswith(".")]


class Layout:
    """Every path orchestra uses under one project root."""

    def __init__(self, root):
        self.root = root
        self.state = os.path.join(root, STATE_DIR)
        self.tasks = os.path.join(self.state, "tasks")
        self.plans = os.path.join(self.state, "plans")
        self.logs = os.path.join(self.state, "logs")
        self.lock = os.path.join(self.state, "lock")
        self.scan_cache = os.path.join(self.state, "scan.cache")
        self.archive = os.path.join(self.state, "archive")
        self.supervisor_lock = os.path.join(self.state, "supervisor.lock")
        self.supervisor_info = os.path.join(self.state, "supervisor.json")
        self.supervisor_log = os.path.join(self.state, "supervisor.log")
        self.settings = os.path.join(self.state, "config.json")
        self.paused = os.path.join(self.state, "paused")
        self.events = os.path.join(self.state, "events.jsonl")
        self.config_dir = os.path.join(root, CONFIG_DIR)
        self.agent_config = os.path.join(self.config_dir, "agent-config.json")
        self.prompts = os.path.join(self.config_dir, "prompts")

    def task_file(self, task_id):
        return os.path.join(self.tasks, task_id + ".json")

    def durable_copy(self, task_id):
        """A hidden hard link to the task file's last version known to be on disk, kept while
        a newer version may not be (Store.save with durable=False)."""
        return os.path.join(self.tasks, f".{task_id}.json.durable")

    def sentinel(self, task_id, kind):
        return os.path.join(self.tasks, f"{task_id}.{kind}")

    def log_file(self, task_id):
        return os.path.join(self.logs, task_id + ".log")

    def plan_file(self, task_id):
        return os.path.join(self.plans, task_id + "_plan.md")

    def files_of(self, task_id):
        """Everything a task owns on disk, for deletion."""
        return ([self.task_file(task_id), self.log_file(task_id), self.plan_file(task_id)]
                + [self.sentinel(task_id, kind) for kind in SENTINELS]
                + [self.durable_copy(task_id)])

    def archived(self):
        """This layout with tasks/, logs/ and plans/ under .orchestra/archive/, where finished
        tasks go when they age out: the same file names, a scan cache of its own, the same
        store lock."""
        a = Layout.__new__(Layout)
        a.__dict__.update(self.__dict__)
        a.tasks = os.path.join(self.archive, "tasks")
        a.plans = os.path.join(self.archive, "plans")
        a.logs = os.path.join(self.archive, "logs")
        a.scan_cache = os.path.join(self.archive, "scan.cache")
        return a
