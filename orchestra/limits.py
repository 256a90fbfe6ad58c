"""Usage and rate limits in an agent's words: is this text a limit, and when does it lift.
Pure: the time is passed in."""

import re
from datetime import datetime, timedelta, timezone

# Texts that mean a limit wherever they appear, even in a plain-text log that also holds the
# agent's own prose (which may well discuss "rate limits" in the code it works on).
_STRICT = re.compile("|".join((
    r"Claude AI usage limit reached",
    r"You[’']ve hit your (?:\w+ )?limit",             # Claude (limit, session limit), Codex (usage limit)
    r"UsageLimitExceeded|usage_limit_(?:exceeded|reached)",
    r"RESOURCE_EXHAUSTED",                            # Gemini's 429
    r"You exceeded your current quota|Quota exceeded for quota metric",  # Google's 429 texts
    r"RateLimitError|rate_limit_(?:error|exceeded)",  # litellm (aider), Anthropic, OpenAI
    r"\brate[ -]?limit(?:ed\b|\s+(?:reached|exceeded|hit)\b)",
    r"\busage limit (?:reached|exceeded)\b",
    r"\b429 Too Many Requests\b|\b(?:HTTP|status(?: code)?|code)\W{0,3}429\b",
)), re.I)
# An error the agent itself reported only needs to mention the limit.
_LOOSE = re.compile(r"rate[ _-]?limit|\b429\b|too many requests", re.I)
# Claude sometimes answers with nothing but the limit text instead of flagging an error.
_LIMIT_ANSWER = re.compile(r"\s*(?:Claude AI usage limit reached|You[’']ve hit your (?:\w+ )?limit"
                           r"|API Error: Rate limit reached)", re.I)

_EPOCH = re.compile(r"usage limit reached\|(\d{9,13})", re.I)
_RELATIVE = re.compile(r"(?:retry|try again|resets?|available again)\s+(?:in|after)\s+"
                       r"((?:\d+(?:\.\d+)?\s*[a-z]+[\s,]*(?:and\s+)?)+)", re.I)
_RETRY_DELAY = re.compile(r"retryDelay\W{1,4}(\d+(?:\.\d+)?)s\b")  # Google's RetryInfo detail
_UNIT = re.compile(r"(\d+(?:\.\d+)?)\s*(ms|millis\w*|s|secs?|seconds?|m|mins?|minutes?|h|hrs?|hours?"
                   r"|d|days?)(?![a-z])", re.I)
_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_CLOCK = re.compile(
    r"(?:resets?|try again)\s+(?:at\s+|on\s+)?"
    r"(?:(?P<mon>" + "|".join(_MONTHS) + r")[a-z]*\.?\s+(?P<day>\d{1,2})(?:st|nd|rd|th)?,?\s+"
    r"(?:(?P<year>\d{4}),?\s+)?(?:at\s+)?)?"
    r"(?P<h>\d{1,2})(?::(?P<mi>\d{2}))?\s*(?P<ap>[ap]\.?m\b\.?)?"
    r"(?:\s*\((?P<tz>[\w+\-/]+)\)|\s+(?P<utc>UTC|GMT)\b)?", re.I)


# A word that every text _STRICT or _LOOSE matches holds: text without any of them is no
# limit, found far faster than by the patterns. Keep it in step with them.
_WORDS = ("limit", "429", "resource_exhausted", "too many requests", "quota")


def mentioned(text):
    """False when `text` cannot be a limit by is_limit without extra patterns."""
    low = text.lower()
    return any(w in low for w in _WORDS)


def compile_patterns(patterns):
    """An agent's extra `limitPatterns` (regex texts), matched case-insensitively."""
    out = []
    for p in patterns or ():
        try:
            out.append(p if isinstance(p, re.Pattern) else re.compile(p, re.I))
        except (re.error, TypeError) as e:
            raise ValueError(f"limit pattern {p!r} is not a valid regular expression ({e})") from None
    return tuple(out)


def is_limit(text, extra=(), loose=False):
    """Whether `text` reports a usage or rate limit; `loose` for errors the agent reported."""
    return bool(_STRICT.search(text) or (loose and _LOOSE.search(text))
                or any(p.search(text) for p in extra))


def is_limit_answer(text):
    return bool(_LIMIT_ANSWER.match(text))


def epoch(value):
    """A reset time given as epoch seconds (or milliseconds), or None."""
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1e14:
        return None  # also inf (1e400 in JSON) and times past year 5000 even in milliseconds
    return value / 1000.0 if value > 1e11 else float(value)


# A reset further away than this is not believed: a misread (a time taken for tomorrow's, a
# wrong zone or year) would hold every task of the agent for days, while a reset read as
# unknown only costs a few early retries (transitions.limited's doubling guess).
PLAUSIBLE = 86400.0
# A wall-clock reset this recently past is today's, lifted already, not tomorrow's: the agent's
# clock and ours differ by a little, and a retry can come a moment before the reset.
PAST_GRACE = 5 * 60.0


def reset_at(text, now):
    """When the limit in `text` lifts (epoch seconds, maybe a moment ago), or None when the
    text does not say or says something implausible (see PLAUSIBLE)."""
    m = _EPOCH.search(text)
    if m:
        at = epoch(m.group(1))
        return at if at is not None and at <= now + PLAUSIBLE else None
    m = _RELATIVE.search(text) or _RETRY_DELAY.search(text)
    if m:
        seconds = _seconds(m.group(1)) if m.re is _RELATIVE else float(m.group(1))
        if seconds is not None and seconds <= PLAUSIBLE:
            return now + seconds
    for m in _CLOCK.finditer(text):
        at = _clock(m, now)
        if at is not None:
            return at if at <= now + PLAUSIBLE else None
    return None


def _seconds(text):
    total, seen = 0.0, False
    for number, unit in _UNIT.findall(text):
        u = unit.lower()
        scale = (0.001 if u.startswith(("ms", "milli")) else 1 if u[0] == "s" else
                 60 if u[0] == "m" else 3600 if u[0] == "h" else 86400)
        total += float(number) * scale
        seen = True
    return total if seen else None


def _zone(name):
    """The tzinfo for a zone name; None (local time) when the text names none: Codex prints
    its reset in the local time of the machine it runs on, which is this one."""
    if name is None:
        return None
    if name.upper() in ("UTC", "GMT", "Z"):
        return timezone.utc
    try:
        from zoneinfo import ZoneInfo
        return ZoneInfo(name)
    except (ImportError, LookupError, ValueError, OSError):
        # No zone data (Windows without the tzdata package, or an unknown name): read the time
        # as UTC, i.e. "resets 4pm (Europe/Paris)" becomes the next 4pm UTC. That is off by the
        # zone's offset at most, so the retry comes at worst a few hours early or late.
        return timezone.utc


def _clock(m, now):
    """The epoch of a wall-clock reset like "4pm (Europe/Paris)" or "Jan 30, 11:30am", read as
    the end of the minute it names (the agent dropped the seconds: "7:45 PM" said at 7:45:20 is
    7:46). A time without a date is the next such time after `now`, or today's when it passed
    less than PAST_GRACE ago; a date without a year is this year's, or next year's when that
    has passed."""
    h, mi, ap = int(m.group("h")), int(m.group("mi") or 0), m.group("ap")
    if ap is None and m.group("mi") is None:
        return None  # a bare number is not a time of day
    if ap:
        if not 1 <= h <= 12:
            return None
        h = h % 12 + (12 if ap[0].lower() == "p" else 0)
    if h > 23 or mi > 59:
        return None
    zone = _zone(m.group("tz") or m.group("utc"))
    here = datetime.fromtimestamp(now, zone)
    if m.group("mon"):
        month, day = _MONTHS.index(m.group("mon").lower()[:3]) + 1, int(m.group("day"))
        year = int(m.group("year") or here.year)
        try:
            at = datetime(year, month, day, h, mi, tzinfo=zone)
            if not m.group("year") and at.timestamp() < now - 86400:
                at = at.replace(year=year + 1)
        except ValueError:  # Feb 30, or Feb 29 moved to a year without one
            return None
        return at.timestamp() + 60
    at = _minute_end(here, h, mi)
    return at if at > now - PAST_GRACE else _minute_end(here + timedelta(days=1), h, mi)


def _minute_end(day, h, mi):
    return day.replace(hour=h, minute=mi, second=0, microsecond=0).timestamp() + 60
