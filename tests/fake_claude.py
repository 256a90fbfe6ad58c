"""A fake Claude Code for the end-to-end tests: prints a `--output-format json` result.

  fake_claude.py MODE                 first run
  fake_claude.py --resume ID MODE     a resumed run (records the session it was given)

MODE: ok (success with session, tokens, cost), error (is_error true, exit 0), silent (no
output, exit 0), limit (a usage limit resetting in 2 s the first time; success when resumed).
"""

import json
import os
import sys
import time

argv = sys.argv[1:]
resumed = None
if argv[:1] == ["--resume"]:
    resumed, argv = argv[1], argv[2:]
    with open(os.path.join(os.environ["ORCHESTRA_ROOT"], "resumed.txt"), "a") as f:
        f.write(resumed + "\n")
mode = argv[0]


def result(text, is_error=False, session="sess-1"):
    print(json.dumps({"type": "result", "subtype": "success", "is_error": is_error,
                      "result": text, "session_id": session, "total_cost_usd": 0.25,
                      "num_turns": 2, "usage": {"input_tokens": 100, "output_tokens": 20}}))


print("some stderr-ish noise before the JSON")
if mode == "ok" or (mode == "limit" and resumed):
    result("all done")
elif mode == "error":
    result("API Error: 400 invalid request", is_error=True)
elif mode == "limit":
    result(f"Claude AI usage limit reached|{int(time.time()) + 2}")
    sys.exit(1)
elif mode != "silent":
    sys.exit(99)
