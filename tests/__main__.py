"""The test suite on several processes: `python3 -m tests` (from the repository root).

Plain `unittest` underneath: each worker runs `python -m unittest` on a share of the test
modules. The end-to-end tests mostly wait on the processes they start, so two workers halve
the wall time even on a 2-core machine. ORCHESTRA_TEST_JOBS sets the number of workers;
arguments, if any, are module names to run instead of all of them.
"""

import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)


def modules():
    names = sorted(f[:-3] for f in os.listdir(HERE) if f.startswith("test_") and f.endswith(".py"))
    return [f"tests.{n}" for n in names]


def shares(names, jobs):
    """Deal the modules out by weight (end-to-end modules by their size, unit ones light)."""
    def weight(name):
        path = os.path.join(HERE, name.split(".")[1] + ".py")
        with open(path, encoding="utf-8") as f:
            tests = len(re.findall(r"^\s+def test_", f.read(), re.M))
        return tests * (1.0 if "_e2e_" in name else 0.02)

    bins = [[0.0, []] for _ in range(jobs)]
    for name in sorted(names, key=weight, reverse=True):
        lightest = min(bins, key=lambda b: b[0])
        lightest[0] += weight(name)
        lightest[1].append(name)
    return [b[1] for b in bins if b[1]]


def main(argv):
    jobs = max(1, int(os.environ.get("ORCHESTRA_TEST_JOBS", "2")))
    names = argv or modules()
    began = time.monotonic()
    workers = [subprocess.Popen([sys.executable, "-m", "unittest", *share], cwd=ROOT,
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
               for share in shares(names, jobs)]
    ran = failed = skipped = 0
    ok = True
    for worker in workers:
        out, _ = worker.communicate()
        sys.stdout.write(out)
        ok = ok and worker.returncode == 0
        m = re.search(r"^Ran (\d+) tests?", out, re.M)
        ran += int(m.group(1)) if m else 0
        for kind in ("failures", "errors", "unexpected successes"):
            m = re.search(rf"{kind}=(\d+)", out)
            failed += int(m.group(1)) if m else 0
        m = re.search(r"skipped=(\d+)", out)
        skipped += int(m.group(1)) if m else 0
    if ran == 0:
        ok = False
    print(f"\n{len(workers)} workers, {time.monotonic() - began:.1f}s")
    print(f"{ran - failed - skipped} passed, {failed} failed, {skipped} skipped")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
