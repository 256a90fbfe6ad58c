"""`config`: list, get, set and unset the project's settings (.orchestra/config.json)."""

from orchestra import settings, suggest
from orchestra.commands import args


def run(layout, console, action, key=None, value=None, as_json=False):
    suggest.warn_config(layout, console)
    if action == "get":
        settings.check_key(key)
        console.out(_plain(getattr(settings.load(layout), key)))
    elif action == "set":
        kept = settings.set_value(layout, key, value)
        console.out(f"{key} = {_show(key, kept)}")
    elif action == "unset":
        was_set = settings.unset(layout, key)
        default = _show(key, settings.KEYS[key].default)
        console.out(f"{key} = {default} (default)" if was_set
                    else f"{key} was not set; it is {default} (default)")
    else:
        current = settings.load(layout)
        if as_json:
            import json
            console.out(json.dumps(current.effective(), indent=2))
        else:
            _list(console, current)
    return 0


def _list(console, current):
    rows = [(name, _show(name, getattr(current, name)),
             "" if current.is_set(name) else "(default)", key.description)
            for name, key in settings.KEYS.items()]
    if current.unknown:
        import json
        for name, value in current.unknown.items():
            text = json.dumps(value, ensure_ascii=False)
            rows.append((name, text if len(text) <= 30 else text[:27] + "...", "(unknown)",
                         "not a setting of this version; kept in the file as it is"))
    widths = [max(len(row[i]) for row in rows) for i in range(3)]
    for row in rows:
        console.out("  ".join(cell.ljust(w) for cell, w in zip(row, widths)) + "  " + row[3])


def _plain(value):
    """For scripts: seconds as a plain number, no value as `none`."""
    if isinstance(value, list):
        return ",".join(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return "none" if value is None else str(value)


def _show(name, value):
    """For people: durations in the largest unit that divides them (`7d`, `36h`, `5m`)."""
    if value is None:
        return "none"
    if isinstance(value, list):
        return ", ".join(value) if value else "none"
    if isinstance(value, bool):
        return "true" if value else "false"
    if settings.KEYS[name].kind == settings.SIZE:
        return settings.size_text(value)
    if settings.KEYS[name].kind != settings.DURATION:
        return str(value)
    if value == 0:
        return "0 (never)"
    if isinstance(value, int):
        for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
            if value % size == 0:
                return f"{value // size}{unit}"
    return f"{value}s"


def register(sub):
    p = args.subparser(sub, "config", help="show or change the project's settings",
                       description="Show or change the project's settings, kept in "
                       ".orchestra/config.json (a missing key means its default). Settings: "
                       + ", ".join(settings.KEYS) + ". Durations are seconds or take a unit: "
                       "90s, 30m, 36h, 7d; sizes are bytes or take a unit: 512K, 100M, 1G.",
                       epilog=args.examples(
                           ("orchestra config list", "every setting and its value"),
                           ("orchestra config set parallel 3", "three tasks at once"),
                           ("orchestra config set timeout 30m", "a default timeout"),
                           ("orchestra config get timeout", "the value alone, in seconds"),
                           ("orchestra config unset timeout", "back to the default")))
    actions = p.add_subparsers(dest="action", metavar="ACTION")
    actions.required = True
    ls = args.subparser(actions, "list", help="every setting, its value and what it does",
                        description="Every setting with its value, `(default)` when it is not "
                        "set, and what it does; keys orchestra does not know are listed too.")
    ls.add_argument("--json", action="store_true", help="an object of the values in force")
    get = args.subparser(actions, "get", help="print one value alone (durations in seconds)",
                         description="Print one setting's value alone, for scripts: durations "
                         "as seconds, no value as `none`.")
    get.add_argument("key", metavar="KEY", help="a setting's name (see `config list`)")
    put = args.subparser(actions, "set", help="set a value",
                         description="Set a value: a number, a duration (30m, 7d), or `none` "
                         "where no value is allowed.")
    put.add_argument("key", metavar="KEY", help="a setting's name (see `config list`)")
    put.add_argument("value", metavar="VALUE", help="its new value")
    reset = args.subparser(actions, "unset", help="go back to the default",
                           description="Remove a setting from the file, so its default applies.")
    reset.add_argument("key", metavar="KEY", help="a setting's name (see `config list`)")
    p.set_defaults(func=lambda layout, console, a: run(
        layout, console, a.action, key=getattr(a, "key", None), value=getattr(a, "value", None),
        as_json=getattr(a, "json", False)))
