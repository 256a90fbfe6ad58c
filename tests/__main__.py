"""The test suite on several processes: `python3 -m tests` (from the repository root).

Plain `unittest` underneath. Each worker (`python -m tests.worker`) takes one test module at
a time from a shared queue, heaviest first, so no worker idles while another still has a
long list: a fixed share of the modules left one worker running 40 s after the other. The
end-to-end tests mostly wait on the processes they start, so three workers (the default)
share two cores well. ORCHESTRA_TEST_JOBS sets the number of workers; arguments, if any,
are module names to run instead of all of them.
"""

import os
import re
import subprocess
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def modules():
    names = sorted(f[:-3] for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    return [f"tests.{n}" for n in names]


def weight(name):
    """A guess at a module's time, to start the long ones first: end-to-end tests by their
    number, those that run git or processes in-process lighter, the pure ones lightest."""
    path = os.path.join(HERE, name.split(".")[1] + ".py") if "." in name else ""
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
    except OSError:
        return 0.0  # not a module file: the worker says what is wrong with the name
    tests = len(re.findall(r"^\s+def test_", text, re.M))
    if "_e2e_" in name:
        return tests * 1.0
    return tests * (0.3 if re.search(r"\bgit\(|subprocess|Popen|init_repo", text) else 0.02)


def main(argv):
    jobs = max(1, int(os.environ.get("ORCHESTRA_TEST_JOBS", "3")))
    todo = sorted(argv or modules(), key=weight, reverse=True)
    began = time.monotonic()
    lock = threading.Lock()
    totals = [0, 0, 0]  # ran, failed, skipped
    broken = []

    def work():
        worker = subprocess.Popen([sys.executable, "-m", "tests.worker"], cwd=ROOT,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        while True:
            with lock:
                name = todo.pop(0) if todo else None
            if name is None:
                break
            worker.stdin.write(name + "\n")
            worker.stdin.flush()
            for line in worker.stdout:
                if line.startswith("\0"):
                    with lock:
                        for i, n in enumerate(line[1:].split()):
                            totals[i] += int(n)
                    break
                sys.stdout.write(line)
            else:  # the worker died running it
                broken.append(name)
                return
        worker.stdin.close()
        if worker.wait() != 0:
            broken.append("a worker")

    threads = [threading.Thread(target=work) for _ in range(min(jobs, len(todo)))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ran, failed, skipped = totals
    print(f"\n{len(threads)} workers, {time.monotonic() - began:.1f}s")
    if broken:
        print(f"a worker died running {', '.join(broken)}")
    print(f"{ran - failed - skipped} passed, {failed} failed, {skipped} skipped")
    return 0 if ran and not failed and not broken else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
