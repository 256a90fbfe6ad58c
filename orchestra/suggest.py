"""The closest match to what a user mistyped, and the warnings for misspelled config keys.

Imported on use, by error paths and by the commands that read the configs anyway.
"""

# Words people type for a command of another name: offered as suggestions, never run as
# aliases (a script written against an alias would break the day it meant something else).
ALIASES = {"log": "logs", "ls": "status", "list": "status", "ps": "status", "add": "start",
           "queue": "start", "kill": "cancel", "rm": "clean", "remove": "clean",
           "restart": "retry", "rerun": "retry", "info": "show", "inspect": "show",
           "follow": "logs", "tail": "logs"}


def closest(word, choices, aliases=None):
    """The choice `word` most likely meant, or None: the fewest edits (a swap of neighbours
    counts as one, case is ignored), ties going to the longer common start (`bsh` is bash,
    not zsh), then to the same length (`stauts` is status, not stats)."""
    choices = list(choices)
    if aliases and aliases.get(word) in choices:
        return aliases[word]
    lower = word.lower()
    scored = [(_distance(lower, choice.lower()), -_common_start(lower, choice.lower()),
               abs(len(choice) - len(word)), choice) for choice in choices]
    if not scored:
        return None
    edits, _, _, best = min(scored)
    return best if edits <= max(1, len(word) // 3) else None


def _common_start(a, b):
    n = 0
    while n < min(len(a), len(b)) and a[n] == b[n]:
        n += 1
    return n


def _distance(a, b):
    """Edits from a to b: insertions, deletions, substitutions and swaps of neighbours."""
    before, row = None, list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        current = [i] + [0] * len(b)
        for j, cb in enumerate(b, 1):
            current[j] = min(row[j] + 1, current[j - 1] + 1, row[j - 1] + (ca != cb))
            if i > 1 and j > 1 and ca == b[j - 2] and a[i - 2] == cb:
                current[j] = min(current[j], before[j - 2] + 1)
        before, row = row, current
    return row[-1]


def did_you_mean(word, choices, aliases=None):
    """' (did you mean 'x'?)' for the closest choice, or ''."""
    match = closest(word, choices, aliases)
    return f" (did you mean {match!r}?)" if match else ""


def config_warnings(layout, agent=None):
    """One line for each key of agent-config.json (of `agent` alone, if given) and of
    .orchestra/config.json that orchestra does not know and so ignores. A config that cannot
    be read gives none here: the command that uses it says what is wrong."""
    import os
    from orchestra import agents, settings
    from orchestra.errors import OrchestraError
    out = []
    where = os.path.relpath(layout.agent_config, layout.root)
    try:
        specs = agents.load_config(layout.agent_config)
    except OrchestraError:
        specs = {}
    for name, spec in specs.items():
        if isinstance(spec, dict) and agent in (None, name):
            for key in sorted(set(spec) - agents.KNOWN_KEYS):
                out.append(f"agent {name!r} in {where}: unknown key {key!r}"
                           f"{did_you_mean(key, sorted(agents.KNOWN_KEYS))}; it is ignored")
    try:
        unknown = settings.load(layout).unknown
    except OrchestraError:
        unknown = {}
    where = os.path.relpath(layout.settings, layout.root)
    for key in sorted(unknown):
        out.append(f"{where}: unknown setting {key!r}{did_you_mean(key, settings.KEYS)}; it is "
                   "ignored (`orchestra config list` shows the settings)")
    return out


def warn_config(layout, console, agent=None):
    for line in config_warnings(layout, agent):
        console.warn(line)
