"""An agent's last meaningful line of output, for the error of a run that failed on its exit
code alone ("exited with code 55: ... not running in a trusted directory"). Pure."""

import re

from orchestra.formats import json_error
from orchestra.table import excerpt
from orchestra.verdict import HEADER, JSON_STARTS

WORDS_MAX = 300  # the most of an agent's last line that goes into a task's error
_ESCAPES = re.compile(r"\x1b(?:\[[0-9;:?<=>]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|.)?")
_LETTER = re.compile(r"[^\W\d_]")
# The summary Copilot CLI closes every run with, errors included ("Duration   0s", "Resume
# copilot --resume=ID"): a label, a gap, a value. It says nothing of why the run failed.
_SUMMARY = re.compile(r"(?:Changes|Duration|Tokens|Resume)\s{2,}\S")


def last_words(text):
    """The last meaningful line the agent wrote in the last attempt of a log's `text`, made safe
    to show and cut to WORDS_MAX; None when it said nothing. Skipped: blank lines, orchestra's
    own `===`/`---` lines, JSON that reports no error, lines with no letter (progress bars,
    spinners) and those of a closing summary (_SUMMARY); a line redrawn with carriage returns
    counts as what it shows last."""
    start = text.rfind("\n" + HEADER)
    if start >= 0:
        text = text[start + 1:]
    for raw in reversed(text.split("\n")):
        line = _ESCAPES.sub("", raw.rstrip("\r").rpartition("\r")[2]).strip()
        if line.startswith(("===", "---")) or not _LETTER.search(line) or _SUMMARY.match(line):
            continue
        if line.startswith(JSON_STARTS):
            line = json_error(line)
            if not line:
                continue
        return excerpt(line, WORDS_MAX)
    return None
