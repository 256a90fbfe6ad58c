"""Registering `orchestra mcp` in each agent CLI's project config, merged into what is there:
every other key is kept, and a file that cannot be read as its format is refused. Pure: text
in, text out.
"""

import json
import re

from orchestra.errors import OrchestraError

NAME = "orchestra"
COMMAND, ARGS = "orchestra", ["mcp"]

# agent -> (its project config, the keys down to its servers' object, orchestra's entry there,
#          what a new file starts with)
JSON_CONFIGS = {
    "claude": (".mcp.json", ("mcpServers",), {"command": COMMAND, "args": ARGS}, {}),
    "gemini": (".gemini/settings.json", ("mcpServers",), {"command": COMMAND, "args": ARGS}, {}),
    "opencode": ("opencode.json", ("mcp",),
                 {"type": "local", "command": [COMMAND] + ARGS, "enabled": True},
                 {"$schema": "https://opencode.ai/config.json"}),
}

# Codex reads a project's .codex/config.toml once the project is trusted.
CODEX_CONFIG = ".codex/config.toml"
CODEX_BLOCK = f'[mcp_servers.{NAME}]\ncommand = "{COMMAND}"\nargs = {json.dumps(ARGS)}\n'
# Any table or dotted key naming a server called orchestra, quoted or not.
_CODEX_ENTRY = re.compile(r'^\s*(\[\s*mcp_servers\s*\.\s*["\']?orchestra["\']?\s*[\].]'
                          r'|(mcp_servers\s*\.\s*)?["\']?orchestra["\']?\s*[.=])', re.M)


def parse(path, text):
    """The JSON object in `text`; OrchestraError when it is not one."""
    try:
        data = json.loads(text)
    except (ValueError, RecursionError) as e:
        raise OrchestraError(f"{path} is not valid JSON ({e}); fix it or move it away, then run "
                             "`orchestra init --for` again (nothing was changed)") from None
    if not isinstance(data, dict):
        raise OrchestraError(f"{path} holds no JSON object; fix it or move it away (nothing "
                             "was changed)")
    return data


def entry(path, text, keys):
    """The orchestra entry in the JSON config `text` (None when absent)."""
    servers = parse(path, text)
    for key in keys:
        servers = servers.get(key, {})
        if not isinstance(servers, dict):
            raise OrchestraError(f"{path}: {'.'.join(keys)} is not an object; fix it (nothing "
                                 "was changed)")
    return servers.get(NAME)


def with_entry(path, text, keys, value, top):
    """`text` (None: no file yet) with orchestra's entry set to `value`."""
    data = dict(top) if text is None else parse(path, text)
    servers = data
    for key in keys:
        servers = servers.setdefault(key, {})
    servers[NAME] = value
    return json.dumps(data, indent=2, ensure_ascii=False) + "\n"


def codex_has_entry(text):
    return bool(_CODEX_ENTRY.search(text))


def codex_with_entry(text):
    """The Codex config `text` with orchestra's server appended as a table of its own."""
    if not text:
        return CODEX_BLOCK
    return text + ("" if text.endswith("\n") else "\n") + "\n" + CODEX_BLOCK
