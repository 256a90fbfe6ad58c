import os
import sys
import time

from orchestra import agents, batch, lease, suggest
from orchestra.errors import OrchestraError
from orchestra.store import Store
from orchestra.ids import plausible
from orchestra.paths import STATE_DIR
from orchestra.task import Task, new_id
from orchestra.commands import args, full_id

MAX_PROBLEMS = 10  # a batch's problems listed on stderr; the rest are counted


# What a single start adds to batch.prompt_problem's words.
_HINTS = {"is empty": ": give it as an argument, or `-` to read stdin",
          "is not valid UTF-8 text": " (check the terminal's encoding)"}


def check_prompt(prompt):
    problem = batch.prompt_problem(prompt)
    if problem:
        raise OrchestraError(f"the prompt {problem}{_HINTS.get(problem, '')}")


class _Isolations:
    """The isolation of each new task, resolved once per distinct (choice, base): `start`
    runs git only for isolated tasks, and once per base however many lines a batch has."""

    def __init__(self, layout, spec, flag, base):
        from orchestra import settings
        self.layout, self.spec, self.flag, self.base = layout, spec, flag, base
        self.setting = settings.load(layout).isolation
        self._resolved = {}

    def get(self, flag=None, base=None):
        from orchestra import worktree
        flag = self.flag if flag is None else flag
        base = base if base is not None else self.base
        isolated = worktree.wanted(self.layout, flag, self.spec.isolation, self.setting)
        if not isolated:
            if base is not None:
                raise OrchestraError(f"--base {base} needs a worktree: drop --no-worktree, or "
                                     "drop --base")
            return None
        key = (base, isolated)
        if key not in self._resolved:
            self._resolved[key] = worktree.resolve(self.layout, base,
                                                   required=isolated is not worktree.AUTO)
        return self._resolved[key]


def run(layout, console, agent, prompt=None, priority=0, timeout=None, max_retries=None,
        depends_on=(), batch_file=None, quiet=False, as_json=False, stdin=None, verify=None,
        isolate=None, base=None, not_before=None, labels=()):
    """isolate: True (--worktree), False (--no-worktree) or None (the agent's or settings');
    base: the git ref a worktree's branch starts from (default HEAD); not_before: the time it
    may start (seconds since the epoch; None: as soon as it can); labels: valid labels."""
    labels = list(dict.fromkeys(labels))
    deps = _dependency_ids(layout, depends_on)
    if (prompt is None) == (batch_file is None):
        raise OrchestraError("give a PROMPT (or - to read it from stdin) or --batch FILE, not "
                             f"{'both' if prompt is not None else 'neither'} "
                             "(see `orchestra start --help`)")
    if batch_file is not None:
        return _run_batch(layout, console, agent, batch_file, priority, timeout, max_retries,
                          deps, quiet, as_json, stdin, verify, isolate, base, not_before, labels)
    if prompt == "-":
        try:
            prompt = stdin.buffer.read().decode("utf-8").rstrip("\r\n") if stdin else ""
        except UnicodeDecodeError:
            raise OrchestraError("the prompt on stdin is not valid UTF-8: convert it first "
                                 "(for example with iconv -t UTF-8)") from None
    check_prompt(prompt)
    spec = agents.get(layout, agent)
    suggest.warn_config(layout, console, agent)
    spec.template()  # a missing template file is an error now, not at launch
    here = where_it_runs(layout, spec)
    isolation = _Isolations(layout, spec, isolate, base).get()
    store = Store(layout)
    now = time.time()

    def create():
        for _ in range(5):
            task = Task.new(new_id(now), agent, prompt, now, priority=priority,
                            timeout=timeout if timeout is not None else spec.timeout,
                            max_retries=max_retries if max_retries is not None else spec.max_retries,
                            completion=spec.completion, cwd=here, output=spec.output,
                            verify=verify or spec.spec.get("verify"),
                            depends_on=deps, isolation=isolation, not_before=not_before,
                            labels=labels)
            try:
                store.create(task)
                return task
            except FileExistsError:
                continue  # the same millisecond and the same 24 random bits: draw again
        raise OrchestraError("could not allocate a unique task id; try again", 1)

    if deps:
        with store.locked():  # so a dependency cannot be cleaned between the check and the write
            for dep in deps:
                if not store.exists(dep):
                    raise OrchestraError(_not_live(layout, dep))
            task = create()
    else:
        task = create()
    if as_json:
        import json
        console.out(json.dumps(task.to_dict(), indent=2, ensure_ascii=False))
    elif quiet:
        console.out(task.id)
    else:
        after = f"; after {len(deps)} task{'s' if len(deps) != 1 else ''}" if deps else ""
        console.out(f"queued {task.id} ({agent}{after}{_at(not_before, now)}); "
                    + lease.next_step(layout))
    return 0


def _at(not_before, now):
    if not_before is None:
        return ""
    from orchestra.table import local_time
    return f"; not before {local_time(not_before, now)}"


def where_it_runs(layout, spec, cwd=None):
    """A task's `cwd`: its agent's, else the directory it is queued from, like `pueue add`
    (relative to the project root, so that an isolated task runs in the same directory of
    its worktree), else None: the root."""
    if spec.cwd is not None:
        return spec.cwd
    here = os.path.relpath(os.path.realpath(cwd or os.getcwd()), os.path.realpath(layout.root))
    parts = here.split(os.sep)
    if here == "." or parts[0] in (os.pardir, STATE_DIR) or os.path.isabs(here):
        return None  # outside the project (--root), or in its state: the root
    return "/".join(parts)


def _dependency_ids(layout, ids):
    out = []
    for dep in ids or ():
        if not plausible(dep):
            # Most likely a prompt that followed the option: argparse gave it to the ids.
            raise OrchestraError(
                f"invalid task id {dep!r} in --depends-on: ids look like "
                "task_1764071563123_a1b2c3 (put the prompt before --depends-on, or end the ids "
                "with --)")
        try:
            dep = full_id(layout, dep)
        except OrchestraError as e:
            raise OrchestraError(f"{e.message}; in --depends-on (put the prompt before "
                                 "--depends-on, or end the ids with --)", e.code) from None
        if dep not in out:
            out.append(dep)
    return out


def _run_batch(layout, console, agent, source, priority, timeout, max_retries, deps, quiet,
               as_json, stdin, verify=None, isolate=None, base=None, not_before=None,
               labels=()):
    spec = agents.get(layout, agent)
    suggest.warn_config(layout, console, agent)
    spec.template()
    here = where_it_runs(layout, spec)
    isolations = _Isolations(layout, spec, isolate, base)
    where = "from stdin" if source == "-" else source
    try:
        if source == "-":
            data = stdin.buffer.read() if stdin else b""
        else:
            with open(source, "rb") as f:
                data = f.read()
    except OSError as e:
        raise OrchestraError(f"cannot read the batch {where}: {e.strerror or e}") from None
    try:
        entries = batch.parse(data)
    except batch.BatchError as e:
        _refuse(console, e.problems, where)
    chosen = []
    for entry in entries:
        try:
            chosen.append(isolations.get(entry.worktree, entry.base))
        except OrchestraError as e:
            _refuse(console, [f"batch line {entry.line}: {e.message}"], where)
    for entry in entries:
        try:
            entry.depends_on = [d if isinstance(d, int) else full_id(layout, d)
                                for d in entry.depends_on]
        except OrchestraError as e:
            _refuse(console, [f"batch line {entry.line}: {e.message}"], where)
    store = Store(layout)
    with store.locked():
        # Checked under the lock, so a dependency cannot be cleaned before the batch is written.
        for dep in deps:
            if not store.exists(dep):
                raise OrchestraError(_not_live(layout, dep))
        missing = [f"batch line {entry.line}: {_not_live(layout, dep)}"
                   for entry in entries for dep in entry.depends_on
                   if isinstance(dep, str) and not store.exists(dep)]
        if missing:
            _refuse(console, missing, where)
        for _ in range(5):
            now = time.time()
            ids = _batch_ids(now, len(entries))
            tasks = [Task.new(
                task_id, agent, entry.prompt, now,
                priority=_first(entry.priority, priority),
                timeout=_first(entry.timeout, timeout, spec.timeout),
                max_retries=_first(entry.max_retries, max_retries, spec.max_retries),
                completion=spec.completion, cwd=here, output=spec.output,
                verify=verify or spec.spec.get("verify"),
                depends_on=_merge([ids[d] if isinstance(d, int) else d for d in entry.depends_on],
                                  deps), isolation=isolation, not_before=not_before,
                labels=labels)
                for task_id, entry, isolation in zip(ids, entries, chosen)]
            try:
                store.create_many(tasks)
                break
            except FileExistsError:
                continue  # an id of the range was taken (see _batch_ids): draw another range
            except OSError as e:
                name = f": {e.filename}" if getattr(e, "filename", None) else ""
                raise OrchestraError(f"nothing was queued: {e.strerror or e}{name}", 1) from None
        else:
            raise OrchestraError("could not allocate unique task ids; try again", 1)
    if as_json:
        import json
        console.out(json.dumps([t.to_dict() for t in tasks], indent=2, ensure_ascii=False))
    else:
        console.out("\n".join(ids))
        if not quiet:
            console.warn(f"queued {len(ids)} task{'s' if len(ids) != 1 else ''} ({agent}); "
                         + lease.next_step(layout, "them"))
    return 0


def _refuse(console, problems, where):
    for problem in problems[:MAX_PROBLEMS]:
        console.warn(problem)
    if len(problems) > MAX_PROBLEMS:
        console.warn(f"... and {len(problems) - MAX_PROBLEMS} more")
    n = len(problems)
    raise OrchestraError(f"nothing was queued: {n} problem{'s' if n != 1 else ''} in the batch "
                         f"{where}")


def _batch_ids(now, n):
    """n new ids counting up from a random point of this millisecond's range: they sort in
    file order, so `ls` lists the batch in order and the scheduler, which breaks ties of
    priority and creation time by id, runs it in order."""
    first = int(now * 1000) << 24 | int.from_bytes(os.urandom(3), "big")
    return [f"task_{(first + i) >> 24:013d}_{(first + i) & 0xFFFFFF:06x}" for i in range(n)]


def _first(*values):
    return next((v for v in values if v is not None), None)


def _merge(ids, more):
    return ids + [d for d in more if d not in ids]


def register(sub):
    p = args.subparser(sub, "start", help="queue a task",
                       usage="%(prog)s [options] AGENT (PROMPT... | --batch FILE)",
                       description="Queue a task (status pending) and print its id; with "
                       "--batch, one task a line of FILE, all or none, ids printed in order.",
                       epilog=args.examples(
                           ('orchestra start claude "fix the flaky test in tests/test_io.py"',
                            "queue a task for Claude Code"),
                           ("orchestra start codex - < task.md", "the prompt from a file"),
                           ('orchestra start -q demo --depends-on ID -- "step 2"',
                            "after ID has completed; print the id alone"),
                           ("orchestra start gemini --batch todo.txt", "a task a line"),
                           ('orchestra start claude "tidy" --timeout 30m --priority 5',
                            "a limit, and ahead of the rest")))
    p.help_tail = _agents_help
    p.add_argument("agent", metavar="AGENT",
                   help="the agent that runs it (listed below; defined in "
                   ".orchestra-cli/agent-config.json)")
    # nargs="+" made optional by hand rather than nargs="*": argparse would match a "*"
    # positional with nothing before an option, and `start AGENT --priority 3 PROMPT` would fail.
    p.add_argument("prompt", nargs="+", default=None, metavar="PROMPT",
                   help="the prompt (several words are joined); - reads stdin").required = False
    p.add_argument("--batch", metavar="FILE",
                   help="queue one task a line of FILE (- reads stdin): a prompt, or a JSON "
                   'object {"prompt", "priority", "depends_on", "timeout", "max_retries", '
                   '"worktree", "base"}; '
                   "@N in depends_on is the task of line N; the options below apply to every "
                   "line that does not set its own")
    p.add_argument("--depends-on", "--after", nargs="+", metavar="ID", default=(),
                   help="wait until these tasks have completed (with --batch: every line)")
    p.add_argument("--priority", type=args.integer, default=0, metavar="N",
                   help="higher runs first (default 0)")
    p.add_argument("--timeout", type=args.seconds, metavar="DURATION",
                   help="wall-clock limit, e.g. 600, 30m, 2h (default: the agent's timeout, "
                   "else the timeout setting)")
    p.add_argument("--max-retries", type=args.count, metavar="N",
                   help="automatic retries on failure (default: agent's maxRetries, else 0)")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--worktree", dest="isolate", action="store_true", default=None,
                       help="run in a git worktree and branch of its own (the default inside a "
                       "git work tree; see the isolation setting)")
    where.add_argument("--no-worktree", dest="isolate", action="store_false",
                       help="run in the project directory itself")
    p.add_argument("--base", metavar="REF",
                   help="the branch, tag or commit its worktree's branch starts from "
                   "(default: HEAD when it is queued)")
    args.add_schedule(p)
    args.add_labels(p, help="label the task (repeatable, or comma-separated): a short word that "
                    "status, wait, cancel and retry select by with --label")
    p.add_argument("--verify", metavar="CMD",
                   help="a shell command run in the task's directory after the agent reports "
                   "success; non-zero fails the task (reason verify)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-q", "--quiet", action="store_true", help="print the id alone")
    out.add_argument("--json", action="store_true",
                     help="print the task as JSON (with --batch: an array of them)")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, a.agent, " ".join(a.prompt) if a.prompt else None,
        priority=a.priority, timeout=a.timeout, max_retries=a.max_retries,
        depends_on=a.depends_on, batch_file=a.batch, quiet=a.quiet, as_json=a.json,
        stdin=sys.stdin, verify=a.verify, isolate=a.isolate, base=a.base,
        not_before=args.not_before(a, time.time()), labels=sum(a.label or [], [])))


def _agents_help(root):
    """The agents this project can use, for `start --help`: read only when help is shown, and
    never an error (help must work with a broken config)."""
    from orchestra.paths import Layout, find_root
    try:
        layout = Layout(find_root(root))
        specs = agents.all_agents(layout)
        trouble = ""
    except (OrchestraError, OSError) as e:
        specs, trouble = agents.PRESETS, f" (the agent config cannot be read: {e})"
    lines = [f"\nagents{trouble}:"]
    width = max(len(name) for name in specs)
    for name in sorted(specs):
        spec = specs[name]
        what = spec.get("description", "") if isinstance(spec, dict) else ""
        lines.append(f"  {name.ljust(width)}   {what}".rstrip())
    return "\n".join(lines) + "\n"


def _not_live(layout, dep):
    """Why `dep` cannot be depended on: it is unknown, or archived (the scheduler sees only
    live tasks, and an archived one finished long ago)."""
    if os.path.exists(layout.archived().task_file(dep)):
        return (f"task {dep} is archived: depend only on live tasks (an archived one finished "
                "long ago; if it completed, leave it out)")
    return f"no task {dep} (see `orchestra status --all` for the ids)"
