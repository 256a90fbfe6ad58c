"""A fake agent for the end-to-end tests. Its prompt is a list of steps run in order:

  echo=TEXT      print TEXT            sleep=S        sleep S seconds
  done           write the .done file  error=MSG      write .error as JSON {"error": MSG}
  exit=N         exit with status N    ignore-term    ignore SIGTERM from now on
  tree=S         start two grandchildren (ignoring SIGTERM) that sleep S seconds
  escape=S       start a grandchild that leaves our session (setsid) and sleeps S seconds;
                 goes on once it has left
  pids=FILE      write our pid and the grandchildren's pids to FILE (one a line)
  argv=FILE      write our argv as JSON to FILE
  flaky=N        exit 1 unless this is the N-th run or later (counted in flaky.count)
  fill=FILE      write to FILE until the disk is full
  until=FILE     wait until FILE (relative to the project root) exists
  sh=CMD         run CMD, commas standing for spaces, with the shell in our working
                 directory; exit with its status if it fails
  spew=MB        print MB megabytes of 80-byte plain-text lines as fast as it can
  limit=S        print a rate limit (HTTP 429) line whose retry hint is S seconds, on stderr
  plan=D/N       write a plan checklist of N items, the first D of them ticked
"""

import json
import os
import signal
import subprocess
import sys
import time


def main(steps):
    env = os.environ
    children = []
    for step in steps:
        name, _, value = step.partition("=")
        if name == "echo":
            print(value, flush=True)
        elif name == "sleep":
            time.sleep(float(value))
        elif name == "done":
            open(env["ORCHESTRA_DONE_FILE"], "w").close()
        elif name == "error":
            with open(env["ORCHESTRA_ERROR_FILE"], "w") as f:
                json.dump({"error": value, "details": "from the fake agent"}, f)
        elif name == "exit":
            return int(value)
        elif name == "ignore-term":
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        elif name == "tree":
            code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); time.sleep(%s)"
            children += [subprocess.Popen([sys.executable, "-c", code % value]) for _ in range(2)]
        elif name == "escape":
            code = "import os, time; os.setsid(); time.sleep(%s)"
            children.append(subprocess.Popen([sys.executable, "-c", code % value]))
            while os.getsid(children[-1].pid) == os.getsid(0):
                time.sleep(0.01)
        elif name == "pids":
            with open(value + ".tmp", "w") as f:
                f.write("\n".join(str(p) for p in [os.getpid()] + [c.pid for c in children]) + "\n")
            os.replace(value + ".tmp", value)
        elif name == "plan":
            ticked, total = (int(n) for n in value.split("/"))
            with open(env["ORCHESTRA_PLAN_FILE"], "w") as f:
                f.writelines(f"- [{'x' if i < ticked else ' '}] step {i + 1}\n" for i in range(total))
        elif name == "argv":
            with open(value, "w") as f:
                json.dump(sys.argv[1:], f)
        elif name == "spew":
            block = (b"spew " * 15 + b"spew\n") * ((1 << 20) // 80)
            for _ in range(int(value)):
                sys.stdout.buffer.write(block)
            sys.stdout.flush()
        elif name == "limit":
            print(f"Attempt 1 failed: 429 Too Many Requests (rate limit exceeded). "
                  f"Please retry in {value}s.", file=sys.stderr, flush=True)
        elif name == "flaky":
            path = os.path.join(env["ORCHESTRA_ROOT"], "flaky.count")
            runs = int(open(path).read()) + 1 if os.path.exists(path) else 1
            with open(path, "w") as f:
                f.write(str(runs))
            if runs < int(value):
                print(f"flaky: run {runs} fails", flush=True)
                return 1
        elif name == "fill":
            try:
                with open(value, "wb") as f:
                    while True:
                        f.write(b"x" * 65536)
                        f.flush()
            except OSError:
                pass
        elif name == "until":
            path = os.path.join(env["ORCHESTRA_ROOT"], value)
            while not os.path.exists(path):
                time.sleep(0.02)
        elif name == "sh":
            code = subprocess.call(value.replace(",", " "), shell=True)
            if code:
                return code
        else:
            print(f"fake_agent: unknown step {step!r}", file=sys.stderr)
            return 99
    return 0


if __name__ == "__main__":
    sys.exit(main(" ".join(sys.argv[1:]).split()))
