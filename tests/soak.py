"""Faults at random moments of a drain, many times over: not part of the suite (minutes, and
what it finds is a matter of chance), run by hand after a change to launching or settling.

  python3 -m tests.soak interrupt [ROUNDS]   Ctrl-C a `run --wait` at a random moment
  python3 -m tests.soak kill [ROUNDS]        SIGKILL the background supervisor at one

Each round queues a dozen short tasks and lets a new `run --wait` finish the queue; every
task must end completed, with one run in its log (a second header is a task run twice).
A round that breaks that is kept under /tmp/soak-bad-N and named. Exit 1 if any did.
"""

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from tests.helpers import FAKE_AGENT, REPO

TASKS = 12
CLI = [sys.executable, "-S", "-m", "orchestra"]
ENV = dict(os.environ, PYTHONPATH=REPO, ORCHESTRA_NO_REGISTER="1")


def project():
    root = tempfile.mkdtemp(prefix="orchestra-soak-")
    os.makedirs(os.path.join(root, ".orchestra-cli"))
    with open(os.path.join(root, ".orchestra-cli", "agent-config.json"), "w") as f:
        json.dump({"agents": {"fake": {"command": sys.executable, "args": [FAKE_AGENT, "{prompt}"],
                                       "promptTemplate": "{prompt}"}}}, f)
    ids = [cli(root, "start", "-q", "fake", f"sleep=0.05 echo=t{i} done").stdout.strip()
           for i in range(TASKS)]
    return root, ids


def cli(root, *argv, timeout=60):
    return subprocess.run(CLI + list(argv), cwd=root, env=ENV, capture_output=True, text=True,
                          timeout=timeout)


def interrupt(root):
    run = subprocess.Popen(CLI + ["run", "--wait", "-p", "3"], cwd=root, env=ENV,
                           stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    time.sleep(random.uniform(0.05, 0.8))
    run.send_signal(signal.SIGINT)
    try:
        _, err = run.communicate(timeout=15)
    except subprocess.TimeoutExpired:
        run.kill()
        return "run --wait still running 15 s after Ctrl-C"
    if run.returncode not in (0, 130) or "Traceback" in err:
        return f"run --wait exited {run.returncode}: {err.strip()[-300:]}"
    return None


def kill(root):
    cli(root, "run", "-p", "3")
    time.sleep(random.uniform(0.0, 0.6))
    try:
        with open(os.path.join(root, ".orchestra", "supervisor.json")) as f:
            os.kill(json.load(f)["pid"], signal.SIGKILL)
    except (OSError, ValueError, KeyError):
        pass  # drained already
    return None


def check(root, ids):
    cli(root, "run", "--wait", "-p", "3")
    cli(root, "wait", "--all", "--timeout", "30")
    wrong = []
    for tid in ids:
        with open(os.path.join(root, ".orchestra", "tasks", tid + ".json")) as f:
            task = json.load(f)
        log = os.path.join(root, ".orchestra", "logs", tid + ".log")
        runs = open(log).read().count("=== orchestra:") if os.path.exists(log) else 0
        if task["status"] != "completed" or runs != 1:
            wrong.append(f"{tid}: {task['status']} ({task['reason']}), {runs} run(s)")
    return wrong


def main(argv):
    fault = {"interrupt": interrupt, "kill": kill}.get(argv[0] if argv else None)
    if fault is None:
        sys.exit(__doc__)
    rounds = int(argv[1]) if len(argv) > 1 else 20
    bad = 0
    for n in range(rounds):
        root, ids = project()
        trouble = fault(root)
        wrong = check(root, ids)
        if trouble or wrong:
            bad += 1
            keep = f"/tmp/soak-bad-{n}"
            shutil.rmtree(keep, True)
            shutil.copytree(root, keep)
            print(f"round {n}: {trouble or ''} {'; '.join(wrong)} (kept in {keep})")
        shutil.rmtree(root, True)
    print(f"{argv[0]}: {bad} of {rounds} rounds went wrong")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
