import sys
import time

from orchestra import agents
from orchestra.errors import OrchestraError
from orchestra.store import Store
from orchestra.task import Task, new_id
from orchestra.commands import args


def check_prompt(prompt):
    if not prompt.strip():
        raise OrchestraError("the prompt is empty: give it as an argument, or `-` to read stdin")
    if "\0" in prompt:
        raise OrchestraError("the prompt contains a NUL byte, which no program argument can carry")
    try:
        prompt.encode("utf-8")
    except UnicodeEncodeError:
        raise OrchestraError("the prompt is not valid UTF-8 text (check the terminal's encoding)") from None


def run(layout, console, agent, prompt, priority=0, timeout=None, max_retries=None,
        quiet=False, as_json=False, stdin=None):
    if prompt == "-":
        try:
            prompt = stdin.buffer.read().decode("utf-8").rstrip("\r\n") if stdin else ""
        except UnicodeDecodeError:
            raise OrchestraError("the prompt on stdin is not valid UTF-8") from None
    check_prompt(prompt)
    spec = agents.get(layout, agent)
    spec.template()  # a missing template file is an error now, not at launch
    store = Store(layout)
    now = time.time()
    for _ in range(5):
        task = Task.new(new_id(now), agent, prompt, now, priority=priority,
                        timeout=timeout if timeout is not None else spec.timeout,
                        max_retries=max_retries if max_retries is not None else spec.max_retries,
                        completion=spec.completion, cwd=spec.cwd)
        try:
            store.create(task)
            break
        except FileExistsError:
            continue  # the same millisecond and the same 24 random bits: draw again
    else:
        raise OrchestraError("could not allocate a unique task id; try again", 1)
    if as_json:
        import json
        console.out(json.dumps(task.to_dict(), indent=2, ensure_ascii=False))
    elif quiet:
        console.out(task.id)
    else:
        console.out(f"queued {task.id} ({agent}); `orchestra run` starts it")
    return 0


def register(sub):
    p = args.subparser(sub, "start", help="queue a task",
                       description="Queue a task (status pending) and print its id.")
    p.add_argument("agent", help="agent name (see .orchestra-cli/agent-config.json)")
    p.add_argument("prompt", nargs="+", help="the prompt (several words are joined); - reads stdin")
    p.add_argument("--priority", type=args.integer, default=0, help="higher runs first (default 0)")
    p.add_argument("--timeout", type=args.seconds, help="wall-clock limit, e.g. 600, 30m, 2h")
    p.add_argument("--max-retries", type=args.count, help="automatic retries on failure (default: agent's maxRetries, else 0)")
    out = p.add_mutually_exclusive_group()
    out.add_argument("-q", "--quiet", action="store_true", help="print the id alone")
    out.add_argument("--json", action="store_true", help="print the task as JSON")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, a.agent, " ".join(a.prompt), priority=a.priority, timeout=a.timeout,
        max_retries=a.max_retries, quiet=a.quiet, as_json=a.json, stdin=sys.stdin))
