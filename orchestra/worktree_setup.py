"""`python -m orchestra.worktree_setup ERROR_FILE COMMAND -- ARGV...`: run a new worktree's
setup command line (worktree_setup), then become the agent. Run inside the task's run (the
launch wrapper, its cgroup, its timeout and its log), so a slow `npm ci` holds up nothing else
and is killed with the run. A failed setup writes the task's .error, naming reason `setup`."""

import json
import os
import subprocess
import sys


def main(argv):
    error_file, command, rest = argv[0], argv[1], argv[3:]
    from orchestra.process import shell_argv
    sys.stdout.flush()
    code = subprocess.call(shell_argv(command), stdin=subprocess.DEVNULL)
    if code != 0:
        record = {"error": f"worktree setup `{command}` failed with exit code {code}; its output "
                  "is in the log", "orchestra": "setup"}
        from orchestra.files import write_atomic  # a kill mid-write leaves no torn record
        write_atomic(error_file, json.dumps(record, ensure_ascii=False) + "\n")
        return code
    if os.name == "nt":  # no exec there: the agent runs as a child, in the same job object
        return subprocess.call(rest)
    os.execv(rest[0], rest)


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
