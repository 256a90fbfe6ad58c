"""Whole-file writes that readers never see half done, and the JSON reads and writes of
orchestra's state files."""

import os


def write_atomic(path, text, *, exclusive=False, fsync=True):
    """Write `text` to `path` so readers see the old file or the new one, never a part.

    With exclusive=True the write fails with FileExistsError rather than replace a file.
    fsync=False leaves making it durable to the caller (`Store.create_many`). Returns the
    os.stat_result of the new file.
    """
    directory, name = os.path.split(path)
    tmp = os.path.join(directory, f".{name}.{os.getpid()}.{os.urandom(4).hex()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as f:
            f.write(text)
            f.flush()
            if fsync:
                os.fsync(f.fileno())
            st = os.fstat(f.fileno())  # a rename keeps the inode and its mtime
        if exclusive:
            os.link(tmp, path)  # fails if the name exists: no two tasks share an id
            os.unlink(tmp)
        else:
            os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    return st


def read_json(path):
    """The JSON value in the file at `path`; ValueError when it is not JSON, or nested too deep
    for the parser (json raises RecursionError for a few thousand brackets)."""
    import json  # here, not at the top: a `status` served from the scan cache never needs it
    with open(path, "rb") as f:
        raw = f.read()
    try:
        return json.loads(raw)
    except RecursionError:
        raise ValueError("nested too deeply to read") from None


def fsync_all(paths, workers=16):
    """fsync every file of `paths`, `workers` at a time; the first error is raised."""
    import threading
    errors = []
    workers = min(workers, len(paths))

    def work(chunk):
        try:
            for path in chunk:
                fd = os.open(path, os.O_RDWR)  # Windows' fsync needs a handle open for writing
                try:
                    os.fsync(fd)
                finally:
                    os.close(fd)
        except OSError as e:
            errors.append(e)

    threads = [threading.Thread(target=work, args=(paths[i::workers],)) for i in range(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def json_text(value, **options):
    """JSON text that encodes to UTF-8: Unicode as it is, unless a string holds a lone
    surrogate (json reads a hand-edited "\\ud800" as one), which is then kept escaped."""
    import json
    text = json.dumps(value, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = json.dumps(value, **options)
    return text


# level -> {the keys of an object, in order: its text with %s for the values, or False}
_TEMPLATES = {}


def indented(dicts, level=0):
    """The text `json.dumps(d, indent=2, ensure_ascii=False)` gives each dict, nested `level`
    deep (1: an element of a list), several times faster: with an indent, json encodes in pure
    Python. Dicts with the same keys in the same order share one template, kept between calls
    (a supervisor writes task files one at a time)."""
    import json
    from json.encoder import encode_basestring
    pad = "  " * level
    inner = "\n" + pad + "  "

    def value(v):
        t = type(v)
        if t is str:
            return encode_basestring(v)
        if v is None:
            return "null"
        if t is int:
            return int.__repr__(v)
        if t is bool:
            return "true" if v else "false"
        if t is float and v - v == 0:  # finite
            return float.__repr__(v)
        if (t is list or t is tuple) and not v:
            return "[]"
        return json.dumps(v, indent=2, ensure_ascii=False).replace("\n", inner)

    templates = _TEMPLATES.setdefault(level, {})
    if len(templates) > 64:  # objects of ever new keys (hand-edited files): not kept for ever
        templates.clear()
    out = []
    for d in dicts:
        keys = tuple(d)
        template = templates.get(keys)
        if template is None:
            if keys and all(type(k) is str for k in keys):
                template = pad + "{" + ",".join(
                    f"{inner}{encode_basestring(k).replace('%', '%%')}: %s" for k in keys) + \
                    "\n" + pad + "}"
            else:
                template = False
            templates[keys] = template
        if template:
            out.append(template % tuple(map(value, d.values())))
        else:
            out.append(pad + json.dumps(d, indent=2, ensure_ascii=False).replace("\n", "\n" + pad))
    return out
