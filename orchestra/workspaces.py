"""The registry of project roots in the user's config directory: the workspaces `status
--workspaces` and the dashboard go over.

The file is a JSON array of absolute paths, in the order they were added. A project notes
that it was added in .orchestra/registered (the registry's path), so that a command run in it
costs one small read rather than a read of the registry.
"""

import os
import sys

FILE = "workspaces.json"
MARKER = "registered"
SIZE_MAX = 1 << 20     # a registry larger than this is not one orchestra wrote
ENTRIES_MAX = 10_000
_OFF = "ORCHESTRA_NO_REGISTER"


def path(environ=os.environ, platform=sys.platform):
    """The registry file: under $XDG_CONFIG_HOME when it is set (on every platform: tests and
    people who set it mean it), else the platform's config directory."""
    xdg = environ.get("XDG_CONFIG_HOME", "")
    if os.path.isabs(xdg):
        base = xdg
    elif platform == "win32":
        base = environ.get("APPDATA") or os.path.join(_home(environ), "AppData", "Roaming")
    elif platform == "darwin":
        base = os.path.join(_home(environ), "Library", "Application Support")
    else:
        base = os.path.join(_home(environ), ".config")
    return os.path.join(base, "orchestra", FILE)


def _home(environ):
    return environ.get("HOME") or environ.get("USERPROFILE") or os.path.expanduser("~")


def roots(environ=os.environ, warn=None):
    """The registered roots, absolute, in the order added. A missing file is none; an
    unreadable or malformed one is none with a warning, and entries that are not absolute
    paths are left out and named. `warn(text)` says it (default: on stderr)."""
    found, problems = _read(path(environ))
    for problem in problems:
        (warn or _stderr)(problem)
    return found


def _stderr(text):
    try:
        sys.stderr.write(f"orchestra: {text}\n")
    except OSError:
        pass


def _read(registry):
    """(roots, problems) of the file at `registry`."""
    import json
    try:
        with open(registry, "rb") as f:
            raw = f.read(SIZE_MAX + 1)
    except FileNotFoundError:
        return [], []
    except OSError as e:
        return [], [f"cannot read the workspaces registry {registry} ({e.strerror or e})"]
    if len(raw) > SIZE_MAX:
        return [], [f"{registry} is larger than {SIZE_MAX >> 20} MiB, not a workspaces "
                    "registry; fix or remove it"]
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError):
        data = None
    if not isinstance(data, list):
        return [], [f"{registry} must hold a JSON array of project paths (fix or remove it)"]
    found, bad = [], []
    for entry in data[:ENTRIES_MAX]:
        if _acceptable(entry):
            if entry not in found:
                found.append(entry)
        else:
            bad.append(entry)
    problems = []
    if bad:
        shown = ", ".join(json.dumps(b, ensure_ascii=False)[:80] for b in bad[:3])
        problems.append(f"{registry}: {len(bad)} entr{'y is' if len(bad) == 1 else 'ies are'} "
                        f"not an absolute path and left out: {shown}"
                        + (", ..." if len(bad) > 3 else ""))
    if len(data) > ENTRIES_MAX:
        problems.append(f"{registry}: only the first {ENTRIES_MAX} entries are read")
    return found, problems


def _acceptable(entry):
    return (isinstance(entry, str) and 0 < len(entry) < 4096 and "\0" not in entry
            and os.path.isabs(entry))


def add(root, environ=os.environ):
    """Register `root` (made absolute); returns whether it was not registered before."""
    root = os.path.abspath(root)
    added = _change(environ, lambda found: None if root in found else found + [root])
    _mark(root, environ)
    return added


def remove(root, environ=os.environ):
    """Unregister `root`; returns whether it was registered. Its marker stays, so that running
    orchestra there does not add it back: only `add` does."""
    root = os.path.abspath(root)
    removed = _change(environ, lambda found: [r for r in found if r != root]
                      if root in found else None)
    _mark(root, environ)
    return removed


def _mark(root, environ):
    """.orchestra/registered of the project at `root`, if it has .orchestra/: the registry
    it was added to or removed from, which `note` need not read again."""
    from orchestra.files import write_atomic
    from orchestra.paths import STATE_DIR
    state = os.path.join(root, STATE_DIR)
    if os.path.isdir(state):
        try:
            write_atomic(os.path.join(state, MARKER), path(environ), fsync=False)
        except OSError:
            pass  # lost, it only costs `note` another read of the registry


def _change(environ, change):
    """Read, change and replace the registry under its lock, so that two commands adding at
    once both land; `change(roots)` gives the new list, or None for no change."""
    from orchestra.errors import OrchestraError
    from orchestra.files import json_text, write_atomic
    from orchestra.lock import FileLock
    registry = path(environ)
    os.makedirs(os.path.dirname(registry), exist_ok=True)
    with FileLock(registry + ".lock"):
        found, problems = _read(registry)
        if problems and os.path.exists(registry):
            # Rewriting would drop what the file holds: the person who wrote it decides.
            raise OrchestraError(problems[0])
        changed = change(found)
        if changed is None:
            return False
        write_atomic(registry, json_text(changed, indent=2) + "\n")
    return True


def note(layout, environ=os.environ):
    """Register the project of `layout` the first time orchestra runs in it, unless switched
    off (ORCHESTRA_NO_REGISTER=1, or the setting `register` false). Returns False when it has
    no .orchestra/ yet (a command that creates one asks again after it ran), True otherwise."""
    if environ.get(_OFF, "") not in ("", "0"):
        return True
    registry = path(environ)
    marker = os.path.join(layout.state, MARKER)
    try:
        with open(marker, encoding="utf-8", errors="replace") as f:
            if f.read(8192) == registry:
                return True
    except FileNotFoundError:
        if not os.path.isdir(layout.state):
            return False
    except OSError:
        pass  # unreadable: written anew below
    return _register(layout, registry, environ)


def _register(layout, registry, environ):
    from orchestra import settings
    from orchestra.errors import OrchestraError
    from orchestra.paths import STATE_DIR
    if STATE_DIR in layout.root.split(os.sep):
        return True  # a task's worktree (.orchestra/worktrees/ID) is part of its project
    try:
        if not settings.load(layout).register:
            return True
    except OrchestraError:
        return True  # a broken config.json: the command says so where it reads it
    try:
        add(layout.root, environ)
    except OrchestraError as e:
        _stderr(f"{e.message}; this project is not added to the workspaces (`orchestra config "
                "set register false` stops trying)")
    except OSError as e:
        _stderr(f"cannot add this project to the workspaces registry {registry} "
                f"({e.strerror or e}); `orchestra config set register false` stops trying")
    return True
