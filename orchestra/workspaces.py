"""The registry of project roots the dashboard serves: a JSON list of paths in
$XDG_CONFIG_HOME/orchestra/workspaces.json (~/.config without the variable)."""

import json
import os


def registry(environ=os.environ):
    base = environ.get("XDG_CONFIG_HOME") or os.path.join(os.path.expanduser("~"), ".config")
    return os.path.join(base, "orchestra", "workspaces.json")


def roots(environ=os.environ):
    """The registered roots, absolute, in the order added; none for a missing or unreadable
    registry."""
    try:
        with open(registry(environ), encoding="utf-8") as f:
            data = json.load(f)
    except (OSError, ValueError):
        return []
    if not isinstance(data, list):
        return []
    return [os.path.abspath(p) for p in data if isinstance(p, str) and p]
