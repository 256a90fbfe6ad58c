"""Which tasks `--status`, `--agent` and `--label` select, for status, wait, cancel and retry.
Pure: parsing the option values and matching tasks."""

from orchestra.task import Status, valid_label

STATUSES = tuple(s.value for s in Status)


class Filter:
    """Tasks with one of `statuses`, one of `agents` and one of `labels`; an empty set
    selects everything, so Filter() matches every task."""

    __slots__ = ("statuses", "agents", "labels")

    def __init__(self, statuses=(), agents=(), labels=()):
        self.statuses, self.agents, self.labels = set(statuses), set(agents), set(labels)

    def __bool__(self):
        return bool(self.statuses or self.agents or self.labels)

    def matches(self, task):
        d = task.data
        return ((not self.statuses or d["status"] in self.statuses)
                and (not self.agents or d["agent"] in self.agents)
                and (not self.labels or not self.labels.isdisjoint(d["labels"])))

    def select(self, tasks):
        return [t for t in tasks if self.matches(t)]

    def describe(self):
        """'failed tasks of claude labelled docs': the words for a selection that matched
        nothing."""
        words = " or ".join(sorted(self.statuses, key=STATUSES.index)) + " tasks" \
            if self.statuses else "tasks"
        if self.agents:
            words += " of " + " or ".join(sorted(self.agents))
        if self.labels:
            words += " labelled " + " or ".join(sorted(self.labels))
        return words


def statuses(text):
    """'failed,cancelled' -> ['failed', 'cancelled']; ValueError names what is not a status."""
    out = []
    for word in text.split(","):
        word = word.strip().lower()
        if word not in STATUSES:
            raise ValueError(f"unknown status {word!r}: the statuses are {', '.join(STATUSES)}")
        out.append(word)
    return out


def labels(text):
    """'docs,urgent' -> ['docs', 'urgent']; ValueError says what a label may hold."""
    out = []
    for word in text.split(","):
        word = word.strip()
        if not valid_label(word):
            raise ValueError(f"invalid label {word!r}: a label is a word of up to 32 letters, "
                             "digits, '-', '_' or '.', starting with a letter or digit")
        out.append(word)
    return out
