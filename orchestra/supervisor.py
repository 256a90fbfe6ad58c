"""The supervisor: one process per project root that launches pending tasks, watches them,
enforces timeouts and records outcomes. `run --wait` runs it in the foreground, `run` in the
background; a held `.orchestra/supervisor.lock` is what "a supervisor is alive" means.
"""

import os
import sys
import time

from orchestra import (agents, debug, hooks, launcher, lease, merge, process, scheduler,
                       settings)
from orchestra.children import Children
from orchestra.clock import iso
from orchestra.errors import OrchestraError
from orchestra.paths import SENTINELS
from orchestra.runclock import RunClock
from orchestra.reconcile import LIMIT_GRACE, Facts, decide
from orchestra.settle import (apply, fail_doomed, mark, orphan_facts, retry_backoff,
                             sentinel_facts, timed_out_on_limit)
from orchestra.store import Store
from orchestra.task import Status

IDLE_POLL = 0.5  # how often new tasks, cancels and orphans are looked for
ARCHIVE_EVERY = 600.0  # seconds between passes that archive tasks past their retention


# -- the loop ------------------------------------------------------------------------------


class Supervisor:
    """Run with the supervisor lock held. `notify(before, after)` hears every change it makes.

    Until the queue is drained, or with daemon=True until asked to stop (`daemon stop`
    writes "stop" into supervisor.json; `daemon start` can turn a running supervisor into a
    daemon the same way)."""

    def __init__(self, layout, lock, parallel, notify=None, clock=time.time, daemon=False,
                 give_up_after=None):
        self.layout = layout
        self.lock = lock
        self.parallel = parallel
        self.daemon = daemon
        self.notify = notify or (lambda before, after: None)
        self.clock = clock
        self.store = Store(layout)
        self.children = Children(layout)
        self.ran = set()            # ids this supervisor launched
        self.stop_requested = False
        self.displaced = False  # another supervisor holds the lock of a re-created .orchestra/
        self._info_mtime = None
        self._snap = None
        # In the foreground (`run --wait`) a person waits: after this many failed ticks in a row
        # say why and stop, rather than retry a read-only directory forever. None: never.
        self.give_up_after = give_up_after
        self._scanned_at = 0.0
        self._stale = False  # the snapshot was found wrong about a task: list afresh
        self._errors = 0
        self._next_archive = 0.0
        self._idle_until = None  # while nothing runs or changes, no tick's work is due before
        self.hooks = hooks.Runner(layout)
        self._killed = set()  # (task id, attempt) whose tree is being killed
        self.runclock = RunClock(clock)  # deadlines and backoffs, on the monotonic clock
        self._owed = {}       # (task id, attempt) -> the Decision of a kill decided here
        self._reported = {}   # task id -> the trouble last reported settling it

    def run(self):
        """Until drained (or stopped). A stop signal (Ctrl-C, SIGTERM) lands only while it
        waits between ticks: raised anywhere in a tick it could cut a queue's put short of its
        wakeup, and the hooks' thread would then not hear its close (a hand-over waited out
        the 10 s of that close)."""
        self._write_info()
        try:
            with process.uninterrupted():
                self._loop()
        finally:
            self.children.close()
            self.hooks.close()
            if self.lock.held and not self.displaced:
                lease.remove_info(self.layout)

    def _loop(self):
        while True:
            now = self.clock()
            self._read_control()
            if self.stop_requested or self.displaced:
                return
            try:
                if self._idle(now):
                    self._wait(self._snap, now)
                    continue
                snap = self._snapshot(now)
                self._settle(snap, now)
                for before, after in fail_doomed(self.store, snap, now):
                    self.notify(before, after)
                if not os.path.exists(self.layout.paused):
                    self._launch(snap, now)
                self._errors = 0
                self._archive(now)
                self.hooks.poll()
            except Exception as e:  # noqa: BLE001 -- the supervisor outlives a bad tick
                self._recover(e)
                continue
            if not self.daemon and not self.children.procs and self._drained_for_good():
                return
            self._note_idle(snap, now)
            self._wait(snap, self.clock())

    def _snapshot(self, now):
        """The tasks as of this tick. When the tick was woken by exits of our own children
        soon after the last listing, that listing is reused: it holds every change this
        supervisor made, and what other processes change (a new task, a cancel, a new timeout)
        is seen within IDLE_POLL, as on an idle tick. Every transition re-reads its task under
        the store lock, so a stale snapshot can only make a reaction later, never a write wrong.
        (Listing the directory on every exit was a sixth of a 200-task no-op drain.)"""
        if (self._snap is None or self._stale or self.children.exits.empty()
                or now - self._scanned_at >= IDLE_POLL):
            snap = self.store.scan()
            if self._snap is not None and self._snap.tasks and \
                    not os.path.isdir(self.layout.tasks):
                # Kept as the last listing until written back: a restore that fails (a full
                # disk) is tried again on the next tick with what was known.
                snap = self._restore(self._snap)
            self._snap, self._scanned_at, self._stale = snap, now, False
        return self._snap

    def _restore(self, last):
        """.orchestra/ was deleted under us (an agent's `rm -rf`, `git clean -ffdx`): write
        back every task file as this supervisor last listed it, so that no queued task or
        outcome is lost, with a store lock and a supervisor lock of their own again (the ones
        held are on deleted files, which no other process can see)."""
        self.store = Store(self.layout)
        with self.store.locked():
            for task in last.tasks.values():
                self.store.save(task)
        lock = lease.lock_for(self.layout)
        if lock.acquire(timeout=0):
            self.lock.release()
            self.lock = lock
            self._write_info()
        else:  # a `run` started another meanwhile: it adopts our children
            self.displaced = True
        _say(f".orchestra/ was deleted; wrote back {len(last.tasks)} task files from memory "
             "(their logs and the event log so far are lost)")
        return self.store.scan()

    def _idle(self, now):
        """Nothing to do this tick: no child, no exit, nothing running, the task directory as
        the last tick left it, and no backoff or archive pass due. (A daemon over a long
        history spends most ticks here.)"""
        return (self._idle_until is not None and now < self._idle_until and self.children.quiet()
                and os.path.exists(self.layout.paused) == self._was_paused
                and self.store.unchanged())

    def _note_idle(self, snap, now):
        tasks = snap.tasks.values()
        if self.children.procs or any(t.state is Status.RUNNING for t in tasks):
            self._idle_until = None
            return
        due = [self._next_archive,
               scheduler.next_wakeup(tasks, now, self.runclock.ready_at) or float("inf")]
        self._idle_until = min(due)
        self._was_paused = os.path.exists(self.layout.paused)

    def _archive(self, now):
        """Move finished tasks past their retention to .orchestra/archive/, now and then. A
        failure here (say, a bad retention in config.json) is reported, not retried at once."""
        if now < self._next_archive:
            return
        self._next_archive = now + ARCHIVE_EVERY
        from orchestra import archive
        try:
            moved = archive.archive_due(self.layout, now)
        except (OSError, OrchestraError) as e:
            _say(f"archiving failed: {e}")
            return
        if moved:
            debug.log(f"archived {moved} finished task(s)")

    def _recover(self, error):
        """A tick failed (a full disk, an unreadable config, a bug): report it, wait, go on.
        Nothing was half-applied: every transition is one atomic write. The traceback goes to
        the background supervisor's log, or with --debug; in the foreground one line says it."""
        self._errors += 1
        delay = min(30.0, 0.5 * 2 ** min(self._errors, 6))
        what = str(error) if isinstance(error, OSError) else f"{type(error).__name__}: {error}"
        if self.give_up_after is not None and self._errors >= self.give_up_after:
            raise OrchestraError(f"supervisor: {self._errors} ticks failed in a row, giving up "
                                 f"({what}); running agents go on, and `orchestra run` "
                                 "supervises them again once that is mended", 1) from error
        if self.give_up_after is None or debug.enabled:
            import traceback
            detail = ":\n" + traceback.format_exc()
        else:
            detail = f": {what}\n"
        _say(f"tick failed ({self._errors} in a row), retrying in {delay:g}s{detail}")
        with process.interruptible():
            time.sleep(delay)

    def _write_info(self):
        lease.write_info(self.layout, {"pid": os.getpid(), "parallel": self.parallel,
                                       "daemon": self.daemon, "started_at": iso(self.clock())})

    def _read_control(self):
        """Changes other commands asked for through supervisor.json."""
        self._info_mtime, info = lease.read_control(self.layout, self._info_mtime)
        if info is None:
            return
        try:
            self.parallel = max(1, int(info.get("parallel", self.parallel)))
            self.daemon = bool(info.get("daemon", self.daemon))
            self.stop_requested = bool(info.get("stop", False))
        except (ValueError, TypeError, AttributeError, OverflowError):
            pass  # a hand-edited value: the ones in force stay

    def _settle(self, snap, now):
        self.children.collect()
        exited = self.children.exited
        for task in list(snap.tasks.values()):
            if task.state is not Status.RUNNING:
                continue
            try:
                self._settle_one(snap, task, now)
            except Exception as e:  # noqa: BLE001 -- one task's trouble stops no other's timeout
                # A record that failed (a full disk) is tried again on the next tick: the exit
                # status stays in children.exited, a decided kill in self._owed.
                self._report(task.id, e)
        running = {t.id for t in snap.tasks.values() if t.state is Status.RUNNING}
        for tid in list(exited):  # children of tasks no longer running (cancelled meanwhile)
            if tid not in running:
                del exited[tid]
                self.children.forget(tid)
                if tid in snap.tasks:  # its recorder may have found our child not yet reaped
                    process.release_run(snap.tasks[tid].run_id())

    def _settle_one(self, snap, task, now):
        exited, followers = self.children.exited, self.children.followers
        elapsed = self.runclock.elapsed(task, now)
        code, ended_at = exited.get(task.id, (None, None))
        if task.id in exited and not followers.caught_up(task.id):
            return  # judged once its output is parsed, by the thread: this loop keeps time
        released = task.id in exited and process.over(task.pid, task.pid_start, task.run_id())
        if task.id in exited and not released:
            facts = Facts(exited=True, exit_code=code, tree_alive=True)
        elif task.id in exited:
            facts = sentinel_facts(self.store, snap, task, True, code,
                                   stream=followers.finish(task.id), elapsed=elapsed)
            facts.ended_at = ended_at  # when the reaper saw it, not when it is recorded
        elif task.id in self.children.procs:
            facts = sentinel_facts(self.store, snap, task, False, None, elapsed=elapsed)
            waiting = followers.waiting(task.id)
            if waiting is not None:
                facts.limit, facts.reset_at, facts.limit_for = waiting
        else:
            facts = orphan_facts(self.store, snap, task)
            facts.elapsed = elapsed
        owed = self._owed.get((task.id, task.attempt))
        if owed is not None:  # decided here, though its mark could not be written
            facts.timed_out = facts.timed_out or owed.record == "timeout"
            if owed.record == "limit" and not facts.limited:
                facts.limited, facts.reset_at = True, owed.reset_at
        # The setting is read only while a run waits on a limit: most ticks have none.
        grace = (float(settings.load(self.layout).limit_grace) if facts.limit is not None
                 else LIMIT_GRACE)
        decision = decide(task, facts, now, limit_grace=grace)
        if task.id not in self.children.procs:
            decision = timed_out_on_limit(self.layout, task, facts, decision, now)
        if decision is None:
            return
        if decision.kill:
            self._kill(snap, task, decision)
            return  # judged once every process of the run is gone
        if task.id in exited:
            self.children.forget(task.id)  # its exit stays in `exited` until recorded below
        if decision.verify:
            after = self._start_verify(task, decision, now)
        else:
            after = apply(self.store, task, decision, now, retry_backoff(self.layout))
            if after is not None:
                if not released:
                    process.release_run(task.run_id())
                self.notify(task, after)
                why = merge.auto(self.store, after)  # merge = auto; None for all others
                if why:
                    _say(f"{task.id} waits for review: {why}")
        if after is None:
            self._stale = True  # someone else settled it (a cancel, a `status`)
        exited.pop(task.id, None)
        self._owed.pop((task.id, task.attempt), None)
        self._killed.discard((task.id, task.attempt))
        self._reported.pop(task.id, None)
        if after is not None:
            snap.tasks[task.id] = after
            if after.state is not Status.RUNNING:
                self.runclock.settled(after, now)

    def _report(self, tid, error):
        """Say once what keeps a task from being settled (not on every tick it lasts)."""
        what = str(error) if isinstance(error, OSError) else f"{type(error).__name__}: {error}"
        if self._reported.get(tid) == what:
            return
        self._reported[tid] = what
        if debug.enabled:
            import traceback
            what += ":\n" + traceback.format_exc()
        _say(f"cannot settle {tid} yet ({what}); trying again")

    def _kill(self, snap, task, decision):
        """Carry out a decided kill. What must outlive this process (a timeout) is recorded
        first, as a sentinel: a supervisor killed meanwhile leaves the kill owed, and whoever
        looks next (a supervisor, `status`, `cancel`) completes it before any outcome."""
        key = (task.id, task.attempt)
        if key in self._killed:
            return
        if decision.record:
            self._owed[key] = decision
            try:
                if not mark(self.store, task, decision):
                    self._stale = True
                    return
                snap.names.add(f"{task.id}.{decision.record}")
            except OSError as e:
                self._report(task.id, e)  # killed all the same: the signals need no disk
        self._killed.add(key)
        self.children.kill(task)

    def _start_verify(self, task, decision, now):
        run = launcher.verify(self.store, task, decision.verdict, now, retry_backoff(self.layout))
        if run is None:
            return None
        if run.proc is None:  # the verification could not start: the run's outcome is recorded
            process.release_run(task.run_id())
            self.notify(task, run.after)
            return run.after
        self.children.started(task, run.proc, run.offset, parse=False)
        debug.log(f"{task.id}: verifying with pid {run.proc.pid}")
        return run.after

    def _busy(self, snap):
        orphans = [t for t in snap.tasks.values()
                   if t.state is Status.RUNNING and t.id not in self.children.procs]
        return len(self.children.procs) + len(orphans)

    def _launch(self, snap, now):
        riders, loans = scheduler.loans(snap.tasks.values(), _wait_alive)
        free = self.parallel - self._busy(snap) + riders
        if free <= 0 and not loans:
            return
        limits = agents.limits(self.layout)
        for task in scheduler.pick(snap.tasks.values(), free, now, busy=self.children.procs,
                                   agent_limits=limits, ready_at=self.runclock.ready_at,
                                   loans=loans):
            after = self._launch_one(task, now)
            if after is None:
                self._stale = True  # no longer pending, or gone
                continue
            snap.tasks[task.id] = after
            # Its sentinels from an earlier attempt were removed before the launch; the
            # listing must not judge the new run by them.
            snap.names.difference_update(f"{task.id}.{kind}" for kind in SENTINELS)
            self.notify(task, after)

    def _launch_one(self, task, now):
        run = launcher.launch(self.store, task, now, self.runclock.ready_at)
        if run is None:
            return None  # removed (a batch rolled back, `clean`) or no longer pending
        current, after, proc = run.before, run.after, run.proc
        if proc is None:
            if after.state is Status.FAILED:
                self.ran.add(task.id)
            return after
        self.children.started(current, proc, run.offset, parse=True)
        self.runclock.launched(after)
        self.ran.add(task.id)
        debug.log(f"{task.id}: launched pid {proc.pid} (attempt {after.attempt})")
        return after

    def _drained_for_good(self):
        """Nothing left to do: release the supervisor lock while still holding the store lock,
        so a task queued right now either is seen here or finds the lock free for a new `run`."""
        if not scheduler.drained(self._snap.tasks.values()):
            return False
        with self.store.locked():
            self._snap = self.store.scan()
            if not scheduler.drained(self._snap.tasks.values()):
                return False
            lease.remove_info(self.layout)
            self.lock.release()
        return True

    def _wait(self, snap, now):
        tasks = snap.tasks.values()
        wakeups = [now + IDLE_POLL, scheduler.next_wakeup(tasks, now, self.runclock.ready_at),
                   self.runclock.next_deadline(tasks, now)]
        with process.interruptible():
            self.children.wait(min(w for w in wakeups if w is not None) - now)


def _say(text):
    """A line of the supervisor's log (stderr: supervisor.log in the background)."""
    sys.stderr.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} supervisor: {text.rstrip()}\n")
    sys.stderr.flush()


def _wait_alive(waiting):
    return process.start_token(waiting["pid"]) == waiting["pid_start"]
