"""A worker of `python3 -m tests`: runs the test module named on each line of stdin with
unittest and reports, after unittest's own output, one line "\\0RAN FAILED SKIPPED"."""

import io
import os
import sys
import unittest

# Its own copy of the pipe to the runner: a test may replace sys.stdout (cli.main does, on a
# closed pipe), which must not cut the worker off.
REPORT = os.fdopen(os.dup(1), "w")


def run(name):
    out = io.StringIO()
    try:
        suite = unittest.defaultTestLoader.loadTestsFromName(name)
    except Exception as e:  # noqa: BLE001 -- a module that does not import is a failure
        REPORT.write(f"{name}: cannot load: {type(e).__name__}: {e}\n")
        return 1, 1, 0
    result = unittest.TextTestRunner(stream=out, verbosity=1).run(suite)
    text = out.getvalue()
    if not result.wasSuccessful():
        text = f"== {name}\n{text}"
    else:  # only the dots and the totals line: the rest is unittest's summary of nothing
        text = "".join(line for line in text.splitlines(True) if line.startswith("Ran "))
        text = f"{name}: {text}"
    REPORT.write(text)
    failed = len(result.failures) + len(result.errors) + len(result.unexpectedSuccesses)
    return result.testsRun, failed, len(result.skipped)


def main():
    for line in sys.stdin:
        name = line.strip()
        if name:
            ran, failed, skipped = run(name)
            REPORT.write(f"\0{ran} {failed} {skipped}\n")
            REPORT.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
