import sys

try:
    from orchestra.cli import run
except KeyboardInterrupt:  # Ctrl-C as it starts: no traceback for that
    sys.stderr.write("orchestra: interrupted\n")
    sys.exit(130)

run()
