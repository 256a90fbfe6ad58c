"""Shell completion scripts for bash, zsh and fish, written from the parser itself so they
cannot drift from it. Pure: the parser in, the script's text out.

Commands, options and setting names are written into the script; agent names and task ids
change, so the script asks `orchestra completion --words agents|ids` for them as it completes.
"""

import argparse

from orchestra import settings

# A positional or option value of this metavar completes to these words.
DYNAMIC = {"ID": "ids", "AGENT": "agents"}
FILES, DIRS = ("FILE",), ("DIR",)


class Command:
    """What completes after one command word: its options, and its positionals in order."""

    def __init__(self, name, parser, help_text):
        self.name, self.help = name, help_text or ""
        self.options = []      # (option strings, help, metavar or None)
        self.positionals = []  # (metavar, choices, takes several words) in order
        self.actions = {}      # action word -> Command (config list/get/set/unset, ...)
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                helps = {a.dest: a.help for a in action._choices_actions}
                self.actions = {word: Command(word, sub, helps.get(word))
                                for word, sub in action.choices.items()}
            elif action.help == argparse.SUPPRESS:
                continue
            elif action.option_strings:
                takes = action.nargs != 0
                self.options.append((action.option_strings, action.help or "",
                                     (action.metavar or action.dest.upper()) if takes else None))
            else:
                self.positionals.append((action.metavar or action.dest.upper(), action.choices,
                                         action.nargs in ("*", "+")))

    @staticmethod
    def words_for(metavar, choices=None):
        """('static', words) or ('dynamic', kind) or ('files'|'dirs', None) or None."""
        if choices:
            return "static", list(choices)
        if metavar in DYNAMIC:
            return "dynamic", DYNAMIC[metavar]
        if metavar == "KEY":
            return "static", list(settings.KEYS)
        if metavar in FILES:
            return "files", None
        if metavar in DIRS:
            return "dirs", None
        return None


def commands(parser, hidden):
    """name -> Command for every public command of the main parser, and `help`."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            out = {name: Command(name, sub, helps.get(name))
                   for name, sub in action.choices.items() if name not in hidden}
            break
    helper = Command("help", argparse.ArgumentParser(add_help=False), "show a command's help")
    helper.positionals = [("COMMAND", list(out) + ["help"], False)]
    out["help"] = helper
    return out


def _long(strings):
    return [s for s in strings if s.startswith("--")] or list(strings)


def _shell_words(words):
    return " ".join(words)


# -- bash (zsh loads the same function through bashcompinit) ------------------------------

_BASH_HEAD = r'''# orchestra completion for %(shell)s: `source <(orchestra completion %(shell)s)`
_orchestra_words() {
    local root
    root=$(printf '%%s\n' "${COMP_WORDS[@]}" | sed -n '/^--root$/{n;p;q;}')
    command orchestra ${root:+--root "$root"} completion --words "$1" 2>/dev/null
}

_orchestra() {
    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"
    local cmd="" action="" npos=0 i word words=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        word="${COMP_WORDS[i]}"
        case "$word" in
            %(valued)s) ((i++)) ;;
            -*) ;;
            *) if [[ -z "$cmd" ]]; then cmd="$word"
               elif [[ -z "$action" && " %(with_actions)s " == *" $cmd "* ]]; then action="$word"
               else ((npos++)); fi ;;
        esac
    done
    COMPREPLY=()
    case "$prev" in
        %(dir_options)s) COMPREPLY=($(compgen -d -- "$cur")); return ;;
        %(file_options)s) COMPREPLY=($(compgen -f -- "$cur")); return ;;
%(dynamic_options)s        %(valued)s) return ;;
    esac
    local key="$cmd${action:+ $action}"
'''

_BASH_TAIL = r'''    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -F _orchestra orchestra
'''


def bash(parser, hidden, shell="bash"):
    cmds = commands(parser, hidden)
    every = [(k, c) for k, c in cmds.items()] + [
        (f"{k} {a}", sub) for k, c in cmds.items() for a, sub in c.actions.items()]
    valued = sorted({s for _, c in every for strings, _, m in c.options if m for s in strings}
                    | {"--root"})
    dirs = sorted({s for _, c in every for strings, _, m in c.options if m in DIRS
                   for s in strings})
    files = sorted({s for _, c in every for strings, _, m in c.options if m in FILES
                    for s in strings})
    dynamic = "".join(
        f'        {"|".join(sorted(strings))}) COMPREPLY=($(compgen -W '
        f'"$(_orchestra_words {DYNAMIC[m]})" -- "$cur")); return ;;\n'
        for strings, m in sorted({(tuple(s), m) for _, c in every for s, _, m in c.options
                                  if m in DYNAMIC}))
    out = [_BASH_HEAD % {"dynamic_options": dynamic,
        "shell": shell, "valued": "|".join(valued), "dir_options": "|".join(dirs) or "--root",
        "file_options": "|".join(files) or "''",
        "with_actions": " ".join(k for k, c in cmds.items() if c.actions)}]
    top = [o for strings, _, _ in cmds["start"].options for o in _long(strings)
           if o in ("--root", "--debug", "--no-color")] + ["--help", "--version"]
    out.append('    if [[ -z "$cmd" ]]; then\n'
               f'        [[ "$cur" == -* ]] && words="{_shell_words(top)}" '
               f'|| words="{_shell_words(cmds)}"\n'
               '    elif [[ "$cur" == -* ]]; then\n        case "$key" in\n')
    for key, c in every:
        options = [o for strings, _, _ in c.options for o in _long(strings)]
        out.append(f'            "{key}") words="{_shell_words(options)}" ;;\n')
    out.append('        esac\n    else\n        case "$key" in\n')
    for key, c in every:
        if c.actions:
            out.append(f'            "{key}") words="{_shell_words(c.actions)}" ;;\n')
            continue
        branches = []
        for n, (metavar, choices, several) in enumerate(c.positionals):
            found = c.words_for(metavar, choices)
            if not found or found[0] in ("files", "dirs"):
                continue
            kind, words = found
            value = f'$(_orchestra_words {words})' if kind == "dynamic" else _shell_words(words)
            test = f"npos >= {n}" if several else f"npos == {n}"
            branches.append(f'(({test})) && words="{value}"')
        if branches:
            out.append(f'            "{key}") {"; ".join(branches)} ;;\n')
    out.append('        esac\n    fi\n')
    out.append(_BASH_TAIL)
    return "".join(out)


def zsh(parser, hidden):
    return ("#compdef orchestra\n"
            "# orchestra completion for zsh, through bash's: "
            "`source <(orchestra completion zsh)` after compinit\n"
            "autoload -U +X bashcompinit && bashcompinit\n"
            + bash(parser, hidden, shell="zsh").split("\n", 1)[1])


# -- fish --------------------------------------------------------------------------------

def _fish_quote(text):
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def fish(parser, hidden):
    cmds = commands(parser, hidden)
    names = " ".join(cmds)
    out = ["# orchestra completion for fish: `orchestra completion fish | source`, or save it as\n"
           "# ~/.config/fish/completions/orchestra.fish\n",
           "function __orchestra_words\n"
           "    set -l words (commandline -opc)\n"
           "    set -l root\n"
           "    if set -l at (contains -i -- --root $words)\n"
           "        set root --root $words[(math $at + 1)]\n"
           "    end\n"
           "    command orchestra $root completion --words $argv[1] 2>/dev/null\n"
           "end\n",
           "function __orchestra_is  # the command word typed so far is $argv[1] ('' none)\n"
           "    set -l words (commandline -opc)\n"
           "    set -l skip 1\n"
           "    for word in $words\n"
           "        if test $skip = 1\n"
           "            set skip 0\n"
           "        else if test \"$word\" = --root\n"
           "            set skip 1\n"
           "        else if not string match -q -- '-*' $word\n"
           "            test \"$word\" = \"$argv[1]\"\n"
           "            return\n"
           "        end\n"
           "    end\n"
           "    test -z \"$argv[1]\"\n"
           "end\n",
           "complete -c orchestra -f\n"]
    top = "__orchestra_is ''"
    for name, c in cmds.items():
        out.append(f"complete -c orchestra -n {_fish_quote(top)} -a {name} "
                   f"-d {_fish_quote(c.help)}\n")
    out.append(f"complete -c orchestra -n {_fish_quote('__orchestra_is help')} "
               f"-a {_fish_quote(names)}\n")
    for name, c in cmds.items():
        seen = f"__orchestra_is {name}"
        out += _fish_options(seen, c.options)
        if c.actions:
            none = f"{seen}; and not __fish_seen_subcommand_from {' '.join(c.actions)}"
            for word, sub in c.actions.items():
                out.append(f"complete -c orchestra -n {_fish_quote(none)} -a {word} "
                           f"-d {_fish_quote(sub.help)}\n")
                own = [o for o in sub.options if o not in c.options]
                out += _fish_options(f"{seen}; and __fish_seen_subcommand_from {word}", own)
                for metavar, choices, _ in sub.positionals[:1]:
                    found = sub.words_for(metavar, choices)
                    if found and found[0] == "static":
                        cond = f"{seen}; and __fish_seen_subcommand_from {word}"
                        out.append(f"complete -c orchestra -n {_fish_quote(cond)} "
                                   f"-a {_fish_quote(' '.join(found[1]))}\n")
        for metavar, choices, _ in c.positionals[:1] if name != "help" else ():
            found = c.words_for(metavar, choices)
            if found and found[0] == "dynamic":
                out.append(f"complete -c orchestra -n {_fish_quote(seen)} "
                           f"-a {_fish_quote('(__orchestra_words ' + found[1] + ')')}\n")
            elif found and found[0] == "static":
                out.append(f"complete -c orchestra -n {_fish_quote(seen)} "
                           f"-a {_fish_quote(' '.join(found[1]))}\n")
    return "".join(out)


def _fish_options(condition, options):
    out = []
    for strings, help_text, metavar in options:
        flags = "".join(f" -l {s[2:]}" if s.startswith("--") else f" -s {s[1:]}"
                        for s in strings)
        kind = " -r -F" if metavar in FILES + DIRS else (" -r" if metavar else "")
        out.append(f"complete -c orchestra -n {_fish_quote(condition)}{flags}{kind} "
                   f"-d {_fish_quote(help_text)}\n")
    return out


SHELLS = {"bash": bash, "zsh": zsh, "fish": fish}
