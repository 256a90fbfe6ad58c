"""What `init --for AGENT,...` writes into a project for each agent CLI, and whether each file
may be written: orchestra refreshes what it wrote and keeps what a user changed.

What it wrote is kept in .orchestra-cli/written.json as a hash of each file (of its orchestra
entry, for a config it merges into): a file whose hash still matches is orchestra's to
replace; any other is the user's, kept unless --force.
"""

import hashlib
import json
import os

from orchestra import mcpconfig, slash, subagents
from orchestra.errors import OrchestraError
from orchestra.files import read_json, write_atomic

TARGETS = ("claude", "codex", "gemini", "opencode")
MANIFEST = "written.json"  # in .orchestra-cli/


class Change:
    """One file `init --for` writes or keeps: `action` is wrote, added (an entry to a config),
    updated, replaced (--force), unchanged or kept; `text` is what to write."""

    def __init__(self, path, action, text=None, key=None, digest=None, why=""):
        self.path, self.action, self.text = path, action, text
        self.key, self.digest, self.why = key, digest, why

    def line(self):
        if self.action == "kept":
            return f"kept {self.path}: {self.why}"
        if self.action == "added":
            return f"registered the MCP server in {self.path}"
        return f"{self.action} {self.path}" + (" (--force)" if self.action == "replaced" else "")


def digest(text):
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def _canonical(value):
    return json.dumps(value, sort_keys=True, ensure_ascii=False)


def _read(root, path):
    try:
        with open(os.path.join(root, *path.split("/")), encoding="utf-8") as f:
            return f.read()
    except FileNotFoundError:
        return None
    except (OSError, UnicodeDecodeError) as e:
        raise OrchestraError(f"cannot read {path}: {e} (nothing was changed)") from None


def _decide(path, key, now, new, recorded, force, text, what="file"):
    """The change for a piece whose digest is `now` (None: absent) and should be `new`."""
    if now == new:
        return Change(path, "unchanged", key=key, digest=new)
    if now is None:
        return Change(path, "wrote" if what == "file" else "added", text, key, new)
    if now == recorded:
        return Change(path, "updated", text, key, new)
    if force:
        return Change(path, "replaced", text, key, new)
    whose = ("changed since orchestra wrote it" if recorded else
             "not written by orchestra" if what == "file" else "its orchestra entry is not the one orchestra writes")
    return Change(path, "kept", why=f"{whose}; --force replaces it")


def _file(root, path, text, recorded, force):
    now = _read(root, path)
    return _decide(path, path, None if now is None else digest(now), digest(text),
                   recorded.get(path), force, text)


def _json_entry(root, agent, recorded, force):
    path, keys, value, top = mcpconfig.JSON_CONFIGS[agent]
    now = _read(root, path)
    current = None if now is None else mcpconfig.entry(path, now, keys)
    key = path + "#mcp"
    return _decide(path, key, None if current is None else digest(_canonical(current)),
                   digest(_canonical(value)), recorded.get(key), force,
                   mcpconfig.with_entry(path, now, keys, value, top), what="entry")


def _codex(root, recorded, force):
    path = mcpconfig.CODEX_CONFIG
    now = _read(root, path)
    if now is None or digest(now) == recorded.get(path):  # absent, or all orchestra's
        return _file(root, path, mcpconfig.CODEX_BLOCK, recorded, force)
    if mcpconfig.CODEX_BLOCK in now:
        return Change(path, "unchanged")
    if mcpconfig.codex_has_entry(now):
        return Change(path, "kept", why="it names an MCP server 'orchestra' of its own; edit it "
                                        "by hand to register `orchestra mcp`")
    return Change(path, "added", mcpconfig.codex_with_entry(now))


def plan(layout, targets, specs, force=False):
    """The changes `init --for targets` makes, decided before anything is written."""
    root, recorded = layout.root, load_manifest(layout)
    files = []
    if "claude" in targets:
        files += slash.claude()
    if "gemini" in targets:
        files += slash.gemini()
    if "opencode" in targets:
        files += slash.opencode() + subagents.files(specs)
    changes = [_file(root, path, text, recorded, force) for path, text in files]
    changes += [_json_entry(root, agent, recorded, force) for agent in sorted(targets)
                if agent in mcpconfig.JSON_CONFIGS]
    if "codex" in targets:
        changes.append(_codex(root, recorded, force))
    return changes


def apply(layout, changes):
    """Write the changes (each file atomically), then record what orchestra wrote."""
    recorded = load_manifest(layout)
    for change in changes:
        if change.text is not None:
            path = os.path.join(layout.root, *change.path.split("/"))
            os.makedirs(os.path.dirname(path), exist_ok=True)
            write_atomic(path, change.text)
        if change.key and change.digest:
            recorded[change.key] = change.digest
    os.makedirs(layout.config_dir, exist_ok=True)
    write_atomic(os.path.join(layout.config_dir, MANIFEST),
                 json.dumps({"files": dict(sorted(recorded.items()))}, indent=2) + "\n")


def load_manifest(layout):
    path = os.path.join(layout.config_dir, MANIFEST)
    try:
        data = read_json(path)
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as e:
        raise OrchestraError(f"cannot read {path} ({e}): move it away, and `init --for` takes "
                             "every file there as the user's (nothing was changed)") from None
    files = data.get("files") if isinstance(data, dict) else None
    return {k: v for k, v in files.items() if isinstance(v, str)} if isinstance(files, dict) else {}
