"""Short task ids, git-style: the abbreviation a table shows, and what a typed one names. Pure.

An id is `task_<13-digit ms>_<6 hex>`. Its abbreviation is the shortest prefix of the hex
part that no other known id shares, at least MIN characters; an id whose whole hex part
another id shares (3 random bytes: likely somewhere among some thousands of tasks) is shown
in full, the one form that names it.
"""

# Four, as git's default: fewer would collide among a few hundred tasks, and a shown id
# should stay valid for a while as tasks are added.
MIN = 4
_HEX = 19  # where the hex part starts
_SHOWN = 5  # candidates an ambiguous query lists


def abbreviations(ids, among=()):
    """{id: its shortest unique abbreviation} for each of `ids`, unique among `ids` and
    `among` (the other known ids, which may repeat `ids`: all the live and archived ones)."""
    wanted = set(ids)
    groups = {i[_HEX:_HEX + MIN]: set() for i in wanted}
    # One pass, keeping only the ids that share a wanted one's first MIN characters: a table
    # fitted to the terminal abbreviates some rows among thousands of tasks.
    for source in (wanted, among):
        for i in source:
            group = groups.get(i[_HEX:_HEX + MIN])
            if group is not None:
                group.add(i)
    out = {}
    for group in groups.values():
        for i in group:
            if i in wanted:
                out[i] = i[_HEX:_HEX + MIN] if len(group) == 1 else _within(i, group)
    return out


def _within(task_id, group):
    tail = task_id[_HEX:]
    common = 0
    for other in group:
        if other != task_id:
            o = other[_HEX:]
            n = 0
            while n < len(tail) and n < len(o) and tail[n] == o[n]:
                n += 1
            common = max(common, n)
    return task_id if common >= len(tail) else tail[:common + 1]


def matches(query, ids):
    """The ids `query` names: itself if known, else those it is a prefix of, or whose hex
    part it is a prefix of (MIN characters or more)."""
    if query in ids:
        return [query]
    if query.startswith("t"):
        return sorted(i for i in ids if i.startswith(query))
    if len(query) < MIN:
        return []
    return sorted(i for i in ids if i.startswith(query, _HEX))


def plausible(query):
    """Whether `query` could be an id or an abbreviation of one: the shape of an id's start,
    or hex. Anything else is a typo to report as such, not looked up."""
    if query.startswith("t"):
        shape = "task_0000000000000_"
        return len(query) <= 25 and all(
            c in "0123456789" if s == "0" else c == s for c, s in zip(query, shape)) and all(
            c in "0123456789abcdef" for c in query[_HEX:])
    return 0 < len(query) <= 6 and all(c in "0123456789abcdef" for c in query)


def ambiguous(query, candidates):
    """The one-line error for a query naming several tasks."""
    shown = ", ".join(candidates[:_SHOWN])
    more = f", …and {len(candidates) - _SHOWN} more" if len(candidates) > _SHOWN else ""
    return f"task id {query!r} is ambiguous: it names {shown}{more}; give more characters"
