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
