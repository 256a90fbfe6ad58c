"""Time as the task files store it: ISO 8601 UTC strings, parsed without importing datetime."""

import re
import time

_ISO = r"(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)(?:\.(\d+))?(?:Z|\+00:00)?"
_DURATION = r"([0-9]+(?:\.[0-9]+)?)([smhdw]?)"  # \d and float() would take "９" as a digit
_DAY_SECONDS = {}  # 'YYYY-MM-DD' -> seconds at its midnight UTC
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}


def iso(ts):
    """Seconds since the epoch -> '2026-11-25T11:52:43.123Z'."""
    if ts is None:
        return None
    ms = int(round(ts * 1000))
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def _days_from_civil(y, m, d):
    # Howard Hinnant's algorithm: days since 1970-01-01 of a proleptic Gregorian date.
    y -= m <= 2
    era = y // 400
    yoe = y - era * 400
    doy = (153 * (m + (-3 if m > 2 else 9)) + 2) // 5 + d - 1
    doe = yoe * 365 + yoe // 4 - yoe // 100 + doy
    return era * 146097 + doe - 719468


def parse_iso(text):
    """'2026-11-25T11:52:43.123Z' -> seconds since the epoch; None stays None."""
    if text is None:
        return None
    if len(text) == 24 and text[23] == "Z" and text[19] == "." and text[10] == "T":
        # The form iso() writes, parsed by slicing: status parses thousands of these.
        try:
            day = _DAY_SECONDS.get(text[:10])
            if day is None:
                day = _DAY_SECONDS[text[:10]] = _days_from_civil(
                    int(text[0:4]), int(text[5:7]), int(text[8:10])) * 86400
            return (day + int(text[11:13]) * 3600 + int(text[14:16]) * 60 + int(text[17:19])
                    + int(text[20:23]) / 1000)
        except ValueError:
            pass
    m = re.fullmatch(_ISO, text)
    if not m:
        raise ValueError(f"not an ISO 8601 UTC time: {text!r}")
    y, mo, d, h, mi, s = (int(g) for g in m.groups()[:6])
    frac = float("0." + m.group(7)) if m.group(7) else 0.0
    return _days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s + frac


def parse_duration(text):
    """'90', '90s', '15m', '2h', '7d', '1w' -> seconds; ValueError otherwise."""
    m = re.fullmatch(_DURATION, text.strip().lower())
    seconds = float(m.group(1)) * _UNIT[m.group(2)] if m else None
    # A few hundred digits make an infinite float, which a task file cannot hold as JSON.
    if seconds is None or seconds == float("inf"):
        raise ValueError(f"not a duration: {text!r} (use e.g. 90s, 15m, 2h, 7d)")
    return seconds


def human(seconds):
    """A short human duration: '850ms', '12s', '4m05s', '3h12m', '2d04h'."""
    if seconds is None:
        return "-"
    seconds = max(0.0, seconds)
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    s = int(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m{s % 60:02d}s"
    if s < 86400:
        return f"{s // 3600}h{s % 3600 // 60:02d}m"
    return f"{s // 86400}d{s % 86400 // 3600:02d}h"


_CLOCK = r"([01]?\d|2[0-3]):([0-5]\d)"
_LOCAL = r"(\d{4})-(\d\d)-(\d\d)[T ]([01]\d|2[0-3]):([0-5]\d)(?::([0-5]\d))?(Z)?"
AT_FORMS = "HH:MM (today, or tomorrow once past), or YYYY-MM-DD HH:MM[:SS] (local; Z: UTC)"


def parse_at(text, now, past=False):
    """A time of day or a date and time -> seconds since the epoch, for `--at` (`past`=False:
    HH:MM is its next occurrence after `now`) and `--since` (True: its last one before `now`).
    Times are local unless they end in Z. ValueError names the forms taken."""
    text = text.strip()
    m = re.fullmatch(_CLOCK, text)
    if m:
        day = time.localtime(now)
        at = _local(day.tm_year, day.tm_mon, day.tm_mday, int(m.group(1)), int(m.group(2)), 0)
        if not past and at <= now:
            at = _local(day.tm_year, day.tm_mon, day.tm_mday + 1, int(m.group(1)),
                        int(m.group(2)), 0)
        elif past and at > now:
            at = _local(day.tm_year, day.tm_mon, day.tm_mday - 1, int(m.group(1)),
                        int(m.group(2)), 0)
        return at
    m = re.fullmatch(_LOCAL, text)
    if m:
        y, mo, d, h, mi = (int(g) for g in m.groups()[:5])
        s = int(m.group(6) or 0)
        if not (1 <= mo <= 12 and 1 <= d <= 31):
            raise ValueError(f"not a date: {text!r}")
        if m.group(7):
            return float(_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + s)
        return _local(y, mo, d, h, mi, s)
    raise ValueError(f"not a time: {text!r} (use {AT_FORMS})")


def _local(y, mo, d, h, mi, s):
    # mktime normalises a day past the month's end, and asks the zone about daylight saving.
    try:
        return time.mktime((y, mo, d, h, mi, s, 0, 0, -1))
    except (OverflowError, ValueError):
        raise ValueError(f"{y:04d}-{mo:02d}-{d:02d} is out of range") from None


def parse_since(text, now):
    """`--since`: a duration ago ('30m', '2h') or a time (parse_at, in the past)."""
    try:
        return now - parse_duration(text)
    except ValueError:
        pass
    try:
        return parse_at(text, now, past=True)
    except ValueError:
        raise ValueError(f"not a duration or a time: {text!r} (use e.g. 30m, 2h, 09:30 or "
                         "2026-12-01 09:30)") from None
