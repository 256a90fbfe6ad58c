"""Text measured in terminal cells: East Asian Wide and Fullwidth characters (CJK, most emoji)
take 2, combining marks and zero-width characters 0, the rest 1. Pure.

ASCII text, which almost every cell is, is measured by len(): unicodedata is imported only for
text that holds something else, so an ASCII table does not pay its import.
"""

_widths = {}  # character -> cells, for the characters met so far


def width(text):
    if text.isascii():
        return len(text)
    return sum(_char(c) for c in text)


def _char(c):
    cells = _widths.get(c)
    if cells is None:
        import unicodedata
        if unicodedata.combining(c) or unicodedata.category(c) in ("Mn", "Me", "Cf") \
                or "\u1160" <= c <= "\u11ff":  # Hangul medial vowels and final consonants
            cells = 0
        elif unicodedata.east_asian_width(c) in ("W", "F"):
            cells = 2
        else:
            cells = 1
        _widths[c] = cells
    return cells


def cut(text, limit, ellipsis="…"):
    """`text` if it fits in `limit` cells, else its longest start that fits with `ellipsis`
    (one cell) after it."""
    if text.isascii() and len(text) <= limit:
        return text
    if width(text) <= limit:
        return text
    if limit < 1:
        return ""
    room, out = limit - 1, []
    for c in text:
        room -= _char(c) if not c.isascii() else 1
        if room < 0:
            break
        out.append(c)
    return "".join(out) + ellipsis


def pad(text, cells):
    """`text` followed by spaces up to `cells` cells."""
    return text + " " * (cells - width(text))


def fold(text, limit):
    """`text` as lines of at most `limit` cells, broken at spaces (a word longer than a line
    is cut): for the lines of a screen that must not wrap."""
    lines, line = [], ""
    for word in text.split(" "):
        candidate = f"{line} {word}" if line else word
        if width(candidate) <= limit:
            line = candidate
            continue
        if line:
            lines.append(line)
        line = cut(word, limit)
    lines.append(line)
    return lines
