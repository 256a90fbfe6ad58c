"""A glance at the live tasks: what the default `status` table shows of them, read from the
scan cache's columns (scancache.Columns) without a Task for every task. It gives what the
full path (commands.refresh, then status._gather, table.counted and overview.fit over every
task) gives, through the same functions; a Task is made only for each row shown.
"""

from collections import Counter
from itertools import chain

from orchestra import dependencies, ids as short, overview
from orchestra.task import Status

_RUNNING, _PENDING = Status.RUNNING.value, Status.PENDING.value
_STATUS = {s.value: s for s in Status}


class Glance:
    """Of the tasks status._recent keeps: those active, and those finished less than `recent`
    seconds before `now` (or without a finish time)."""

    def __init__(self, cols, now, recent):
        self._cols = cols
        words, finished, places = cols.words, cols.finished, cols.places
        self.running, self._pending, self._finished = [], [], []
        for i, (word, done) in enumerate(zip(words, finished)):
            if word == _RUNNING:
                self.running.append(i)
            elif word == _PENDING:
                self._pending.append(i)
            elif done is None or now - done < recent:
                self._finished.append(i)
        kept = len(self.running) + len(self._pending) + len(self._finished)
        self.hidden = len(words) - kept
        self._waiting = [i for i in self._pending if places[i][1]]
        self._status = None

    @property
    def problems(self):
        return self._cols.problems

    def doomed(self):
        """Whether a pending task can never run (dependencies.doomed)."""
        if not self._waiting:
            return False
        ids, places = self._cols.ids, self._cols.places
        return bool(dependencies.doomed_ids([(ids[i], places[i][1]) for i in self._waiting],
                                            dict(self.status_of())))

    def status_of(self):
        """id -> status word of every task, for the dependencies of the pending rows."""
        if self._status is None:
            self._status = dict(zip(self._cols.ids, self._cols.words)) if self._waiting else {}
        return self._status

    def counted(self):
        """table.counted() of the tasks."""
        words, tallies = self._cols.words, self._cols.tallies
        kept = self.running + self._pending + self._finished
        counts = Counter(words[i] for i in kept)
        return (len(kept), {_STATUS[word]: n for word, n in counts.items()},
                [tallies[i] for i in sorted(kept) if tallies[i] is not None])

    def fit(self, rows):
        """overview.fit() of the tasks."""
        created, finished = self._cols.created, self._cols.finished
        places, task = self._cols.places, self._cols.task

        def finished_key(i):  # overview._finished_key
            return finished[i] or created[i] or 0.0, created[i] or 0.0

        return overview.choose(list(self._finished), [task(i) for i in self.running],
                               list(self._pending), rows, finished_key,
                               lambda i: places[i][0], task)

    def short_ids(self, archived, tasks):
        """commands.short_ids() of `tasks` shown, `archived` the archived ids."""
        return short.abbreviations([t.id for t in tasks], chain(self._cols.ids, archived))

    def close(self):
        self._cols.close()
