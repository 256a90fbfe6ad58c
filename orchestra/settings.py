"""Project settings in .orchestra/config.json: the known keys, their defaults and validation.

Pure except `load`, `set_value` and `unset`. The file holds only what was set: a key it lacks,
or a missing file, means the default. Keys this version does not know are kept as they are.
"""

import math
import os
import re
import time

from orchestra.clock import parse_duration
from orchestra.errors import OrchestraError

COUNT, NUMBER, DURATION, SIZE = "count", "number", "duration", "size"
CHOICE, TEXT, PATHS = "choice", "text", "paths"  # one of `choices`; a command line; globs
SWITCH = "switch"  # true or false
_SWITCH_WORDS = {"true": True, "yes": True, "on": True, "1": True,
                 "false": False, "no": False, "off": False, "0": False}
_SIZE = re.compile(r"([0-9]+(?:\.[0-9]+)?)([kmg]?)b?")
_SIZE_UNIT = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


class Key:
    """One setting: its default, what it is for, and which values it takes."""

    def __init__(self, name, default, description, expected, kind, minimum=0, above=False,
                 nullable=False, choices=()):
        self.name, self.default, self.description = name, default, description
        self.expected = expected  # said in every error about this key
        self.kind, self.minimum, self.above, self.nullable = kind, minimum, above, nullable
        self.choices = choices

    def check(self, value):
        """A value from the file (or parsed text) -> the value kept; ValueError if not allowed."""
        if value is None and self.nullable:
            return None
        if self.kind == CHOICE:
            if value not in self.choices:
                raise ValueError(value)
            return value
        if self.kind == SWITCH:
            if not isinstance(value, bool):
                raise ValueError(value)
            return value
        if self.kind == TEXT:
            if not isinstance(value, str) or not value.strip() or "\0" in value:
                raise ValueError(value)
            return value
        if self.kind == PATHS:
            if not isinstance(value, list) or not all(_relative_glob(v) for v in value):
                raise ValueError(value)
            return value
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ValueError(value)
        if isinstance(value, int) and not -1e15 < value < 1e15:
            raise ValueError(value)  # durations and bases are used as floats: it would overflow
        if isinstance(value, float):
            if not math.isfinite(value) or self.kind in (COUNT, SIZE):
                raise ValueError(value)
            if value.is_integer():
                value = int(value)  # `config get` prints 1800, not 1800.0
        if value < self.minimum or (self.above and value == self.minimum):
            raise ValueError(value)
        return value

    def parse(self, text):
        """Command-line text -> the value kept; ValueError if not allowed."""
        if self.kind == TEXT:
            return None if self.nullable and text.strip().lower() in ("none", "null") \
                else self.check(text)
        if self.kind == PATHS:
            return self.check([p.strip() for p in text.split(",") if p.strip()])
        word = text.strip().lower()
        if self.kind == SWITCH:
            if word not in _SWITCH_WORDS:
                raise ValueError(text)
            return _SWITCH_WORDS[word]
        if self.kind == CHOICE:
            return self.check(word)
        if not word.isascii():
            raise ValueError(text)  # int() and float() would take "３" or "٣" as digits
        if self.nullable and word in ("none", "null"):
            return None
        if self.kind == COUNT:
            return self.check(int(word))
        if self.kind == NUMBER:
            return self.check(float(word))
        if self.kind == SIZE:
            return self.check(parse_size(word))
        return self.check(parse_duration(word))


def _relative_glob(value):
    """A path or glob below the project, as worktree_copy takes: nothing absolute, no `..`."""
    if not isinstance(value, str) or not value or "\0" in value:
        return False
    parts = value.replace("\\", "/").split("/")
    return not (value.startswith(("/", "\\")) or ":" in parts[0] or ".." in parts)


def parse_size(text):
    """'100M', '1G', '512k', '4096' -> bytes (K, M, G are powers of 1024); ValueError else."""
    m = _SIZE.fullmatch(text.strip().lower())
    if not m:
        raise ValueError(text)
    return int(float(m.group(1)) * _SIZE_UNIT[m.group(2)])


def size_text(n):
    """Bytes in the largest unit that divides them: 100M, 1G, 4096."""
    for unit, size in (("G", 1 << 30), ("M", 1 << 20), ("K", 1 << 10)):
        if n % size == 0:
            return f"{n // size}{unit}"
    return str(n)


_DURATION = "a duration such as 7d or 36h (plain numbers are seconds), or 0 for never"

KEYS = {key.name: key for key in (
    Key("parallel", 1, "tasks `run` and `daemon start` run at once when --parallel is not given",
        "a whole number >= 1", COUNT, 1),
    Key("timeout", None, "timeout of a task whose agent and `start --timeout` give none",
        "a duration > 0 such as 600, 30m or 2h, or none", DURATION, 0, above=True, nullable=True),
    Key("retry_backoff_base", 2, "automatic retry n waits min(cap, base**n) seconds",
        "a number >= 1", NUMBER, 1),
    Key("retry_backoff_cap", 300, "the longest wait before an automatic retry",
        "a duration > 0 such as 300 or 5m", DURATION, 0, above=True),
    Key("retention_completed", 7 * 86400, "completed tasks are archived this long after they end",
        _DURATION, DURATION, 0),
    Key("retention_failed", 14 * 86400,
        "failed and cancelled tasks are archived this long after they end", _DURATION, DURATION, 0),
    Key("log_max", 100 << 20, "a task's log past this size keeps its head and tail, and says "
        "how much was dropped between them", "a size >= 64K such as 100M or 1G (plain numbers "
        "are bytes), or none for no cap", SIZE, 64 << 10, nullable=True),
    Key("isolation", "auto", "where tasks run: worktree (a git worktree and branch each), none "
        "(the project directory), auto (worktree inside a git work tree, else none)",
        "worktree, none or auto", CHOICE, choices=("auto", "worktree", "none")),
    Key("merge", "manual", "manual: completed isolated tasks wait for `orchestra merge`; auto: "
        "each is merged into its base branch when that is clean and safe",
        "manual or auto", CHOICE, choices=("manual", "auto")),
    Key("worktree_copy", [], "paths or globs copied from the project into each new worktree "
        "(untracked files such as .env)", "comma-separated paths or globs below the project "
        "(nothing absolute, no ..)", PATHS),
    Key("worktree_setup", None, "a command line run in each new worktree before its agent; "
        "failure fails the task (reason setup)", "a command line, or none", TEXT, nullable=True),
    Key("limit_grace", 60, "a usage limit that lifts later than this ends the run (the task "
        "resumes once it lifts); a sooner one is left for the agent to wait out",
        "a duration such as 60 or 2m, or 0 to end the run on any limit", DURATION, 0),
    Key("register", True, "add this project to the workspaces registry (`orchestra workspaces`) "
        "when orchestra runs in it", "true or false", SWITCH),
)}


class Settings:
    """Every known setting as an attribute (`s.parallel`, `s.timeout`, ...). `explicit` maps
    the keys set in the file to their values, `is_set(name)` tells those from defaults, and
    `unknown` holds the file's keys this version does not know."""

    def __init__(self, explicit=(), unknown=()):
        self.explicit = dict(explicit)
        self.unknown = dict(unknown)
        for name, key in KEYS.items():
            setattr(self, name, self.explicit.get(name, key.default))

    def is_set(self, name):
        return name in self.explicit

    def effective(self):
        """name -> value in force, for every known key."""
        return {name: getattr(self, name) for name in KEYS}


def check_key(name):
    """The Key called `name`, or an OrchestraError listing the known ones."""
    key = KEYS.get(name)
    if key is None:
        from orchestra.suggest import did_you_mean
        raise OrchestraError(f"unknown setting {name!r}{did_you_mean(name, KEYS)}; the settings "
                             f"are: {', '.join(KEYS)}")
    return key


# Keys of config.json that other modules read and people edit by hand (hooks.py): known,
# though `config set` does not take them.
EDITED_BY_HAND = ("hooks",)


def parse(data, path):
    """The decoded JSON object of the file at `path` -> Settings; OrchestraError if a known
    key holds a value it does not take."""
    explicit, unknown = {}, {}
    for name, value in data.items():
        key = KEYS.get(name)
        if key is None:
            if name not in EDITED_BY_HAND:
                unknown[name] = value
            continue
        try:
            explicit[name] = key.check(value)
        except ValueError:
            raise OrchestraError(
                f"{path}: {name!r} is {_shown(value)}, expected {key.expected} (fix the file, or "
                f"run `orchestra config set {name} VALUE` or `orchestra config unset {name}`)"
            ) from None
    return Settings(explicit, unknown)


_loaded = {}  # path -> (the file's (inode, mtime, size) or None when absent, its Settings)


def load(layout):
    """The project's settings; all defaults when .orchestra/config.json does not exist.

    Kept while the file is as it was, by one stat: a supervisor asks on every exit. Like
    git's "racily clean" entries, a file changed in the last two seconds is read again, as a
    second change within the same mtime tick would keep its stamp."""
    path = layout.settings
    try:
        st = os.stat(path)
        stamp = (st.st_ino, st.st_mtime_ns, st.st_size)
        trusted = time.time_ns() - st.st_mtime_ns > 2_000_000_000
    except FileNotFoundError:
        stamp, trusted = None, True
    except OSError:
        stamp, trusted = None, False
    kept = _loaded.get(path)
    if trusted and kept is not None and kept[0] == stamp:
        return kept[1]
    settings = parse(_read(path), path)
    _loaded[path] = (stamp, settings)
    return settings


def set_value(layout, name, text):
    """Parse `text` as the value of `name`, write it to the file; returns the value kept.
    Other keys, known or not and even invalid ones, are written back as they were."""
    key = check_key(name)
    try:
        value = key.parse(text)
    except ValueError:
        raise OrchestraError(f"invalid value {text!r} for {name}: expected {key.expected}") from None

    def change(data):
        data[name] = value
        return True
    _rewrite(layout, change)
    return value


_ABSENT = object()


def unset(layout, name):
    """Remove `name` from the file, so its default applies; returns whether it was set."""
    check_key(name)

    def change(data):
        return data.pop(name, _ABSENT) is not _ABSENT
    return _rewrite(layout, change)


def _rewrite(layout, change):
    # Read, change and replace the whole file under the store lock: two `config set`s at once
    # both land, and a reader sees the old file or the new one.
    import json
    from orchestra.files import write_atomic
    from orchestra.store import Store
    with Store(layout).locked():
        data = _read(layout.settings)
        changed = change(data)
        if changed:
            write_atomic(layout.settings, json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    return changed


def _read(path):
    from orchestra.files import read_json
    try:
        data = read_json(path)
    except FileNotFoundError:
        return {}
    except ValueError as e:
        raise OrchestraError(f"{path} is not valid JSON ({e}); fix it, or remove it to use the "
                             "defaults") from None
    if not isinstance(data, dict):
        raise OrchestraError(f'{path} must hold a JSON object such as {{"parallel": 2}}; fix it, '
                             "or remove it to use the defaults")
    return data


def _shown(value, limit=60):
    import json
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 3] + "..."
