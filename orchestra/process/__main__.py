"""`python -m orchestra.process EXIT_FILE RUN_ID ARGV...`: the Windows wrapper of an agent."""

import sys

from orchestra.process import windows

raise SystemExit(windows.wrapper(sys.argv[1], sys.argv[2], sys.argv[3:]))
