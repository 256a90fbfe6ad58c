"""The supervisor: one process per project root that launches pending tasks, watches them,
enforces timeouts and records outcomes. `run --wait` runs it in the foreground, `run` in the
background; a held `.orchestra/supervisor.lock` is what "a supervisor is alive" means.
"""

import os
import queue
import sys
import threading
import time

from orchestra import agents, debug, executor, hooks, lease, process, scheduler
from orchestra.clock import iso
from orchestra.errors import OrchestraError
from orchestra.paths import SENTINELS
from orchestra.reapers import Reapers
from orchestra.reconcile import decide, next_deadline
from orchestra.settle import apply, fail_doomed, orphan_facts, retry_backoff, sentinel_facts
from orchestra.store import Store, read_json
from orchestra.task import LAUNCH, VERIFY, Status, finish, launched, verifying, with_usage

IDLE_POLL = 0.5  # how often new tasks, cancels and orphans are looked for
ARCHIVE_EVERY = 600.0  # seconds between passes that archive tasks past their retention


# -- starting one ------------------------------------------------------------------------


def spawn_background(layout, parallel, daemon=False):
    """Start a detached supervisor process; returns its pid."""
    argv = [sys.executable, "-m", "orchestra", "--root", layout.root, "supervise",
            "--parallel", str(parallel)] + (["--daemon"] if daemon else [])
    env = executor.with_package_path(os.environ)
    os.makedirs(layout.state, exist_ok=True)
    proc = process.spawn(argv, cwd=layout.root, env=env, log_path=layout.supervisor_log,
                         exit_path=None, detach_only=True)
    return proc.pid


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
        self.procs = {}             # task id -> Popen of the run we started
        self.exits = queue.Queue()  # (task id, exit status) from the reapers
        self.reapers = Reapers(self.exits)
        self.exited = {}            # task id -> exit status taken off the queue, not yet recorded
        self.killers = []
        self.ran = set()            # ids this supervisor launched
        self.stop_requested = False
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
        self.streams = {}     # task id -> [log path, offset, decoder, verdict.StreamParser]

    def run(self):
        self._write_info()
        try:
            while True:
                now = self.clock()
                self._read_control()
                if self.stop_requested:
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
                if not self.daemon and not self.procs and self._drained_for_good():
                    return
                self._note_idle(snap, now)
                self._wait(snap, self.clock())
        finally:
            for t in self.killers:
                t.join()
            self.hooks.close()
            if self.lock.held:
                self._remove_info()

    def _snapshot(self, now):
        """The tasks as of this tick. When the tick was woken by exits of our own children
        soon after the last listing, that listing is reused: it holds every change this
        supervisor made, and what other processes change (a new task, a cancel, a new timeout)
        is seen within IDLE_POLL, as on an idle tick. Every transition re-reads its task under
        the store lock, so a stale snapshot can only make a reaction later, never a write wrong.
        (Listing the directory on every exit was a sixth of a 200-task no-op drain.)"""
        if (self._snap is None or self._stale or self.exits.empty()
                or now - self._scanned_at >= IDLE_POLL):
            self._snap, self._scanned_at, self._stale = self.store.scan(), now, False
        return self._snap

    def _idle(self, now):
        """Nothing to do this tick: no child, no exit, nothing running, the task directory as
        the last tick left it, and no backoff or archive pass due. (A daemon over a long
        history spends most ticks here.)"""
        return (self._idle_until is not None and now < self._idle_until and not self.procs
                and self.exits.empty() and not self.exited
                and os.path.exists(self.layout.paused) == self._was_paused
                and self.store.unchanged())

    def _note_idle(self, snap, now):
        tasks = snap.tasks.values()
        if self.procs or any(t.state is Status.RUNNING for t in tasks):
            self._idle_until = None
            return
        due = [self._next_archive, scheduler.next_wakeup(tasks, now) or float("inf")]
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
            sys.stderr.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} archiving failed: {e}\n")
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
        sys.stderr.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} supervisor: tick failed "
                         f"({self._errors} in a row), retrying in {delay:g}s{detail}")
        sys.stderr.flush()
        time.sleep(delay)

    def _remove_info(self):
        try:
            os.unlink(self.layout.supervisor_info)
        except OSError:
            pass

    def _write_info(self):
        lease.write_info(self.layout, {"pid": os.getpid(), "parallel": self.parallel,
                                       "daemon": self.daemon, "started_at": iso(self.clock())})

    def _read_control(self):
        """Changes other commands asked for through supervisor.json."""
        try:
            mtime = os.stat(self.layout.supervisor_info).st_mtime_ns
            if mtime == self._info_mtime:
                return
            self._info_mtime = mtime
            info = read_json(self.layout.supervisor_info)
            self.parallel = max(1, int(info.get("parallel", self.parallel)))
            self.daemon = bool(info.get("daemon", self.daemon))
            self.stop_requested = bool(info.get("stop", False))
        except (OSError, ValueError, TypeError, AttributeError):
            pass

    def _settle(self, snap, now):
        # Exits stay in self.exited until recorded: a tick that fails half-way (a full disk)
        # must not lose the one event that says a child of ours ended.
        exited = self.exited
        while True:
            try:
                tid, code = self.exits.get_nowait()
            except queue.Empty:
                break
            exited[tid] = code
        for task in list(snap.tasks.values()):
            if task.state is not Status.RUNNING:
                continue
            if task.id in exited:
                facts = sentinel_facts(self.store, snap, task, True, exited[task.id],
                                       stream=self._follow(task.id, final=True))
            elif task.id in self.procs:
                self._follow(task.id)
                facts = sentinel_facts(self.store, snap, task, False, None)
            else:
                facts = orphan_facts(self.store, snap, task)
            decision = decide(task, facts, now)
            if decision is None:
                continue
            if decision.kill and (task.id, task.attempt) not in self._killed:
                self._killed.add((task.id, task.attempt))
                self._kill_async(process.kill_run, task.pid, task.pid_start,
                                 f"{task.id}.{task.attempt}")
            if decision.status is None:
                continue  # killed; judged once it has exited
            if task.id in exited:
                self._forget(task.id)  # its exit stays in `exited` until recorded below
            if decision.verify:
                after = self._start_verify(task, decision, now)
            else:
                after = apply(self.store, task, decision, now, retry_backoff(self.layout))
                if after is not None:
                    self.notify(task, after)
            if after is None:
                self._stale = True  # someone else settled it (a cancel, a `status`)
            exited.pop(task.id, None)
            if after is not None:
                snap.tasks[task.id] = after
        for tid in list(exited):  # children of tasks no longer running (cancelled meanwhile)
            del exited[tid]
            self._forget(tid)

    def _follow(self, tid, final=False):
        """Feed what the agent has written since the last tick to its output parser; with
        final=True, the verdict of the whole run (None when its output was not followed)."""
        followed = self.streams.get(tid)
        if followed is None:
            return None
        path, offset, decoder, parser = followed
        try:
            with open(path, "rb") as f:
                f.seek(offset)
                data = f.read()
        except OSError:
            data = b""
        followed[1] = offset + len(data)
        parser.feed(decoder.decode(data, final=final))
        if final:
            del self.streams[tid]
            return parser.verdict()
        return None

    def _forget(self, tid):
        self.streams.pop(tid, None)
        proc = self.procs.pop(tid, None)
        if proc is not None and process.group_alive(proc.pid):
            # The run ended but left processes behind in its group: we started them.
            self._kill_async(process.kill_tree, proc.pid)

    def _start_verify(self, task, decision, now):
        """The agent reported success: run the task's verification command, as part of the
        same run (the task stays running, in phase "verify")."""
        with self.store.locked():
            try:
                current = self.store.get(task.id)
            except OrchestraError:
                return None
            if current.state is not Status.RUNNING or current.attempt != task.attempt \
                    or current.phase:
                return None
            ran = with_usage(current, decision.verdict) if decision.verdict else current
            try:
                os.unlink(self.layout.sentinel(task.id, "exit"))
            except FileNotFoundError:
                pass
            try:
                proc = executor.launch_verify(self.layout, ran)
            except executor.LaunchError as e:
                after = finish(ran, Status.FAILED, VERIFY, str(e), None, now,
                               retry_backoff(self.layout))
                self.store.save(after, current)
                self.notify(task, after)
                return after
            after = verifying(ran, proc.pid, process.start_token(proc.pid))
            self._record_or_kill(after, current, proc)
        self.procs[task.id] = proc
        self.reapers.watch(task.id, proc)
        debug.log(f"{task.id}: verifying with pid {proc.pid}")
        return after

    def _busy(self, snap):
        orphans = [t for t in snap.tasks.values()
                   if t.state is Status.RUNNING and t.id not in self.procs]
        return len(self.procs) + len(orphans)

    def _launch(self, snap, now):
        free = self.parallel - self._busy(snap)
        if free <= 0:
            return
        limits = agents.limits(self.layout)
        for task in scheduler.pick(snap.tasks.values(), free, now, busy=self.procs,
                                   agent_limits=limits):
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
        with self.store.locked():
            try:
                current = self.store.get(task.id)
            except OrchestraError:
                return None  # removed (a batch rolled back, `clean`) since we listed it
            if current.state is not Status.PENDING or current.ready_at() > now:
                return None
            self.store.clear_sentinels(task.id)
            attempt = int(current.attempt or 0) + 1
            log = self.layout.log_file(task.id)
            try:
                start = os.path.getsize(log)  # this run's output begins here (after a header)
            except OSError:
                start = 0
            try:
                proc = executor.launch(self.layout, current, attempt, now)
            except executor.LaunchError as e:
                failed = launched(current, None, None, now)
                after = finish(failed, Status.FAILED, LAUNCH, str(e), None, now)
                self.store.save(after, current)
                self.ran.add(task.id)
                debug.log(f"{task.id}: cannot launch: {e}")
                return after
            after = launched(current, proc.pid, process.start_token(proc.pid), now)
            self._record_or_kill(after, current, proc)
        self.procs[task.id] = proc
        self.ran.add(task.id)
        if current.output:
            import codecs
            from orchestra import verdict
            from orchestra.settle import limit_patterns
            parser = verdict.StreamParser(current.output, time.time,
                                          limit_patterns(self.layout, current))
            self.streams[task.id] = [log, start, codecs.getincrementaldecoder("utf-8")("replace"),
                                     parser]
        self.reapers.watch(task.id, proc)
        debug.log(f"{task.id}: launched pid {proc.pid} (attempt {attempt})")
        return after

    def _record_or_kill(self, after, before, proc):
        """Save the task that now has `proc`; if that fails, kill `proc` and re-raise: an
        unrecorded process would be started again, so it must not outlive the failure.

        The record does not wait for the disk: it matters while the process lives, and a
        crash of the machine that could lose it ends the process too. After one the task
        reads as pending (and runs again) or as running with its process gone (lost), never
        as nothing: see Store.save."""
        try:
            self.store.save(after, before, durable=False)
        except BaseException:
            process.kill_tree(proc.pid, grace=0)
            proc.wait()
            raise

    def _kill_async(self, kill, *args):
        t = threading.Thread(target=kill, args=args, daemon=True)
        t.start()
        self.killers = [k for k in self.killers if k.is_alive()] + [t]

    def _drained_for_good(self):
        """Nothing left to do: release the supervisor lock while still holding the store lock,
        so a task queued right now either is seen here or finds the lock free for a new `run`."""
        if not scheduler.drained(self._snap.tasks.values()):
            return False
        with self.store.locked():
            self._snap = self.store.scan()
            if not scheduler.drained(self._snap.tasks.values()):
                return False
            self._remove_info()
            self.lock.release()
        return True

    def _wait(self, snap, now):
        tasks = snap.tasks.values()
        wakeups = [now + IDLE_POLL, scheduler.next_wakeup(tasks, now), next_deadline(tasks)]
        until = min(w for w in wakeups if w is not None)
        try:
            tid_code = self.exits.get(timeout=max(0.0, until - now))
        except queue.Empty:
            return
        self.exits.put(tid_code)  # settled on the next pass with the others
