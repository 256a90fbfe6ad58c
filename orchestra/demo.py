"""The built-in `demo` agent: needs nothing installed and shows a task's whole lifecycle.

It writes a plan, appends a note about the prompt to orchestra-demo/notes.md where it runs (the
project, or the task's worktree),
and reports through the protocol files. A prompt containing the word "fail" makes it report
a failure through .error instead, so the failure path can be seen too.
"""

import json
import os
import sys
import time


def main(argv):
    prompt = " ".join(argv) or "(empty prompt)"
    env = os.environ
    task_id = env.get("ORCHESTRA_TASK_ID", "task")
    root = os.getcwd()  # the project, or the task's worktree when it has one
    step = float(env.get("ORCHESTRA_DEMO_STEP", "0.4"))

    print(f"demo agent: task {task_id}")
    print(f"demo agent: prompt: {prompt}")
    _write(env.get("ORCHESTRA_PLAN_FILE"),
           f"# Plan for {task_id}\n\n- [x] read the prompt\n- [ ] note it in orchestra-demo/notes.md\n"
           "- [ ] report the outcome\n")
    print("demo agent: plan written", flush=True)
    time.sleep(step)

    if "fail" in prompt.lower().split():
        print("demo agent: the prompt asks for a failure; reporting it through .error", flush=True)
        _write(env.get("ORCHESTRA_ERROR_FILE"),
               json.dumps({"error": "the demo was asked to fail",
                           "details": "prompt contained the word 'fail'"}) + "\n")
        return 1

    notes = os.path.join(root, "orchestra-demo", "notes.md")
    os.makedirs(os.path.dirname(notes), exist_ok=True)
    words = len(prompt.split())
    with open(notes, "a", encoding="utf-8") as f:
        f.write(f"- {time.strftime('%Y-%m-%d %H:%M:%S')} {task_id}: {prompt!r} ({words} words)\n")
    print(f"demo agent: noted the prompt in {os.path.relpath(notes, root)}", flush=True)
    time.sleep(step)
    _write(env.get("ORCHESTRA_PLAN_FILE"),
           f"# Plan for {task_id}\n\n- [x] read the prompt\n- [x] note it in orchestra-demo/notes.md\n"
           "- [x] report the outcome\n")
    _write(env.get("ORCHESTRA_DONE_FILE"), f"noted a {words}-word prompt in orchestra-demo/notes.md\n")
    print("demo agent: done", flush=True)
    return 0


def _write(path, text):
    if path:
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
