"""What the manager thread does once a worker has exited at its max_tasks_per_child limit, or
finds its pool with work pending and no worker left.

The behaviour is upstream CPython's (3.14.7+ / 3.15), written here for the older manager loops:

* gh-115634: replace the worker whenever fewer than max_workers remain and work is pending or the
  pool is not shutting down. The idle-worker semaphore is not consulted: it counts completed
  tasks, so it can hold a token released by the very worker that just exited.
* gh-119592: spawn from the state the manager thread owns (its queues and process table), since
  ``shutdown(wait=False)`` clears the executor's copies while the manager keeps running.
* gh-152967: once the executor is garbage collected nobody can spawn for it; when its last worker
  is gone the pending futures fail instead of waiting forever.
* A replacement that cannot start breaks the pool once no worker is left, rather than killing the
  manager thread (which would hang every caller).
* During terminate_workers()/kill_workers() no replacement is spawned: it would escape the kill.
* Rescue (ours, not upstream's): a pool that the stock code left with work pending and no worker
  (before apply(), or in a revert() window) gets one, by the same rules as a replacement.
* A subclass's own ``_spawn_process`` starts the replacement wherever the executor's state is
  intact (ours, not upstream's: a backport must not change what a user's subclass runs on the
  releases it was written for); only after ``shutdown(wait=False)`` cleared that state is a
  stock worker started from the manager's.
* The break path of 3.11 (before_break), as 3.12 has it: gh-109047, no submit() slips past a
  pool that is being torn down; and a cancelled future among the pending ones does not stop the
  teardown.

Each time this does what the stock code would not have, it records an intervention
(interventions). Every function here runs on the manager thread and holds no state.
"""

import traceback  # already loaded: concurrent.futures.process imports it

from _backport_gh115634 import detect, interventions

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: the pool module does not load typing on 3.12+
    from types import ModuleType
    from typing import Any, List, Optional, Tuple

    from _backport_gh115634.detect import Detection

    # Why the pending futures of a pool can no longer run: (the fix that says so, a formatted
    # traceback or None, the BrokenProcessPool message).
    Verdict = Tuple[str, Optional[List[str]], str]

GARBAGE_COLLECTED = (
    "The ProcessPoolExecutor was garbage collected with work pending after its last worker "
    "process exited at max_tasks_per_child; nothing can start a replacement, so the pending "
    "work can never run."
)
FORCED_SHUTDOWN = (
    "A worker process exited while the pool was being forcefully shut down (terminate_workers() "
    "or kill_workers()); the work still queued will not run."
)
SPAWN_FAILED = (
    "A replacement worker process could not be started and no worker is left to run the "
    "remaining work."
)

# What the stock code would have done instead of failing the pending futures, per fix.
STOCK_INSTEAD = {
    "gh-152967": "the stock code would have left them pending forever",
    "failed-spawn": "the stock manager thread would have died on the error, leaving them "
    "pending forever",
    "forced-shutdown": "the stock code would have started a worker that escapes the kill",
}

# The stdlib's own texts where the break path fails the pending futures (3.11, 3.12).
STOCK_BROKEN_POOL = "A child process terminated abruptly, the process pool is not usable anymore"
STOCK_BROKEN_FUTURE = (
    "A process in the process pool was terminated abruptly while the future was running or pending."
)


class WorkerReplacement:
    """Binds the replacement logic to one concurrent.futures.process module and its detection.

    stock_trusts_idle_token: the stdlib's own exit path (the pre-fix _adjust_process_count)
    starts nothing while the idle-worker semaphore holds a token; used only to tell, for the
    record, when our replacement is one the stock code would have skipped.
    """

    def __init__(self, process: "ModuleType", detection: "Optional[Detection]" = None) -> None:
        self.process = process
        fixes = detection.fixes if detection is not None else {}
        self.stock_trusts_idle_token = detection is not None and detection.shape == detect.PRE_FIX
        self.break_unlocked = fixes.get("gh-109047") == detect.MISSING
        self.break_fails_on_cancelled = fixes.get("cancelled-future") == detect.MISSING
        base = getattr(process, "ProcessPoolExecutor", None)
        self.stock_spawn_process = getattr(base, "_spawn_process", None)

    def after_exit(self, manager: "Any", executor: "Any") -> "Optional[Verdict]":
        """Decide what follows a worker exit. The caller holds manager.shutdown_lock.

        Returns None while the pool can still make progress, otherwise the Verdict for the
        futures that can no longer run.
        """
        return self._keep_staffed(manager, executor, rescuing=False)

    def rescue(self, manager: "Any", executor: "Any") -> "Optional[Verdict]":
        """The manager is about to wait with work pending and no worker alive, which only the
        stock code leaves behind. The caller holds manager.shutdown_lock and has checked both.
        Same rules and result as after_exit()."""
        return self._keep_staffed(manager, executor, rescuing=True)

    def _keep_staffed(self, manager: "Any", executor: "Any", rescuing: bool) -> "Optional[Verdict]":
        cause = None
        fix = message = ""
        if executor is None:
            fix, message = "gh-152967", GARBAGE_COLLECTED
        elif getattr(executor, "_force_shutting_down", False):
            fix, message = "forced-shutdown", FORCED_SHUTDOWN
        elif manager.pending_work_items or not manager.is_shutting_down():  # noqa: SIM102
            # (nested as upstream's _replace_dead_worker is, to read side by side)
            if len(manager.processes) < executor._max_workers:
                # Read before spawning: the stock code's view of the pool as it is now.
                skipped_by_stock = (
                    interventions.RESCUE if rescuing else self._stock_would_skip(executor)
                )
                try:
                    self.spawn(manager, executor)
                except Exception as exc:
                    # Other workers, if any, keep draining the queue; with none left the pool
                    # is broken below. The manager thread itself must survive either way.
                    cause = traceback.format_exception(type(exc), exc, exc.__traceback__)
                    fix, message = "failed-spawn", SPAWN_FAILED
                    if manager.processes:
                        error = exc
                        interventions.record(
                            fix,
                            lambda: (
                                "%s: a replacement worker could not be started (%s: %s); "
                                "backport_gh115634 kept the manager thread running (the stock one "
                                "would have died with the error, leaving every future pending) and "
                                "%d workers keep draining the queue"
                                % (
                                    interventions.describe_executor(executor, manager),
                                    type(error).__name__,
                                    error,
                                    len(manager.processes),
                                )
                            ),
                        )
                else:
                    if skipped_by_stock is not None:
                        self._record_spawn(skipped_by_stock, manager, executor)
        if not manager.processes and (manager.pending_work_items or cause is not None):
            # A failed spawn breaks even an idle pool: leaving it with no worker would make the
            # next submit() wait on a stale idle token instead of raising.
            return fix, cause, message
        return None

    def _stock_would_skip(self, executor: "Any") -> "Optional[str]":
        """The fix whose absence would have made the stock exit path start no replacement here,
        or None if it would have started one too. Reads state only: the semaphore's token is
        left where it is, for submit() to see as the stock code would."""
        if executor._processes is None:
            # shutdown(wait=False) cleared the executor's process table and queues: the stock
            # path has nothing to spawn with (it returns, or the manager thread dies on it).
            return "gh-119592"
        if self.stock_trusts_idle_token:
            semaphore = getattr(executor, "_idle_worker_semaphore", None)
            # threading.Semaphore keeps its count in _value; only this thread releases it and
            # submit() acquires it under the shutdown lock we hold, so the read is stable.
            if getattr(semaphore, "_value", 0) > 0:
                return "gh-115634"  # acquire(blocking=False) would succeed: no spawn
        return None

    def _record_spawn(self, fix: str, manager: "Any", executor: "Any") -> None:
        pending = len(manager.pending_work_items)
        describe = interventions.describe_executor
        interventions.record(
            fix,
            lambda: self._spawn_text(fix, describe(executor, manager), pending),
            routine=fix in interventions.ROUTINE,
        )

    @staticmethod
    def _spawn_text(fix: str, pool: str, pending: int) -> str:
        if fix == "gh-115634":
            text = (
                "%s: a worker exited at max_tasks_per_child with %d tasks pending; "
                "backport_gh115634 started a replacement, where the stock code would have "
                "taken a stale idle-worker token and started none" % (pool, pending)
            )
        elif fix == "gh-119592":
            text = (
                "%s: a worker exited after shutdown(wait=False) with %d tasks pending; "
                "backport_gh115634 started a replacement, which the stock code could not "
                "(its process table and queues were cleared)" % (pool, pending)
            )
        else:
            text = (
                "%s: %d tasks pending and no worker left (the stock code strands a pool "
                "this way, before apply() or while reverted); backport_gh115634 started a "
                "worker" % (pool, pending)
            )
        return text

    def spawn(self, manager: "Any", executor: "Any") -> None:
        """Start one worker wired to the manager's queues and record it in its process table.

        A subclass that overrides _spawn_process gets its own, while the executor's state is
        the manager's (shutdown(wait=False) has not cleared it). Otherwise the worker is a stock
        one: the executor's mp_context, initializer and initargs survive shutdown(); its queues
        and process table do not, so those come from the manager.
        """
        if self._own_spawn(manager, executor):
            try:
                executor._spawn_process()
                return
            except Exception:
                if self._state_intact(manager, executor):
                    raise  # the subclass's own failure: a failed spawn like any other
                # shutdown(wait=False) cleared the state while it spawned: as below.
        process = self.process
        spawn_worker = getattr(process, "_spawn_worker", None)
        if spawn_worker is not None:
            # 3.14+ has a helper for this; going through it keeps anything that wraps or mocks
            # it (CPython's own tests do) in the loop.
            spawn_worker(
                executor._mp_context,
                manager.call_queue,
                manager.result_queue,
                executor._initializer,
                executor._initargs,
                manager.max_tasks_per_child,
                manager.processes,
            )
            return
        worker = executor._mp_context.Process(
            target=process._process_worker,
            args=(
                manager.call_queue,
                manager.result_queue,
                executor._initializer,
                executor._initargs,
                manager.max_tasks_per_child,
            ),
        )
        worker.start()
        manager.processes[worker.pid] = worker

    def _own_spawn(self, manager: "Any", executor: "Any") -> bool:
        spawn_process = getattr(type(executor), "_spawn_process", None)
        return (
            spawn_process is not None
            and spawn_process is not self.stock_spawn_process
            and self._state_intact(manager, executor)
        )

    @staticmethod
    def _state_intact(manager: "Any", executor: "Any") -> bool:
        """Are the executor's queues and process table still the manager's? shutdown(wait=False)
        clears them, without the lock we hold, so this can turn False at any time."""
        return (
            getattr(executor, "_processes", None) is manager.processes
            and getattr(executor, "_call_queue", None) is manager.call_queue
            and getattr(executor, "_result_queue", None) is manager.result_queue
        )

    def before_break(self, manager: "Any", cause: "Optional[List[str]]") -> None:
        """Run just before the stock 3.11 terminate_broken() tears a broken pool down. The
        manager thread holds no lock here. What 3.12 does and 3.11 lacks:

        gh-109047: mark the pool broken (as the original is about to), then pass once through
        the shutdown lock that submit() holds from its broken check until it has queued its work
        and started its worker. Every submit() that got past the check has then finished, so the
        original sees its work item (and fails it) and its worker (and terminates it); every
        later one raises BrokenProcessPool. The lock is not held across the original: 3.11's
        join_executor_internals() takes it. Nor taken before marking: while the manager waited
        for it, submit()s would keep succeeding and fill the wake-up pipe.

        cancelled-future: fail the pending futures here, as the original would, passing over a
        cancelled one instead of dying on InvalidStateError with the rest left pending.
        """
        pending, processes = manager.pending_work_items, manager.processes
        executor = manager.executor_reference()
        pool = interventions.describe_executor(executor, manager)  # while we hold the executor
        if self.break_unlocked and executor is not None:
            executor._broken = STOCK_BROKEN_POOL
            executor._shutdown_thread = True
        del executor  # held by nobody while we wait below, as the original does
        if self.break_unlocked:
            before = len(pending), len(processes)
            with manager.shutdown_lock:
                pass
            if (len(pending), len(processes)) != before:
                interventions.record(
                    "gh-109047",
                    lambda: (
                        "%s: a submit() was under way as the pool broke; backport_gh115634 let it "
                        "finish before the teardown, so its future fails with BrokenProcessPool "
                        "(the stock 3.11 code could leave it pending forever, or its worker "
                        "running)" % pool
                    ),
                    routine=True,
                )
        if not self.break_fails_on_cancelled:
            return
        error = self.process.BrokenProcessPool(STOCK_BROKEN_FUTURE)
        if cause is not None:
            error.__cause__ = self.process._RemoteTraceback("\n'''\n%s'''" % "".join(cause))
        items = list(pending.values())
        # Counted before any future resolves, so a program woken by one sees the count. A
        # future cancelled between this count and the loop is passed over all the same.
        cancelled = sum(item.future.cancelled() for item in items)
        level = interventions.count("cancelled-future", routine=True) if cancelled else None
        for item in items:
            try:
                item.future.set_exception(error)
            except self.process._base.InvalidStateError:
                pass  # cancelled since it was queued: it is resolved already
        pending.clear()
        if level is not None:
            interventions.log(
                level,
                "cancelled-future",
                lambda: (
                    "%s: the pool broke with %d cancelled futures among the pending ones; "
                    "backport_gh115634 failed the others with BrokenProcessPool (the stock 3.11 "
                    "manager thread would have died on InvalidStateError, leaving them pending "
                    "forever and the workers running)" % (pool, cancelled)
                ),
            )

    def fail_pending(self, manager: "Any", verdict: "Verdict") -> None:
        """Resolve every pending future with BrokenProcessPool, and record it for the fix that
        the verdict names: the stock code would have left these futures pending forever.

        Runs just before the stock terminate_broken(), which then finds nothing pending and only
        tears the pool down; its own message would blame a crashed worker.
        """
        fix, cause, message = verdict
        process = self.process
        with manager.shutdown_lock:
            executor = manager.executor_reference()
            if executor is not None:
                # From now on submit() raises instead of queueing work nobody will run.
                executor._broken = message
            pool = interventions.describe_executor(executor, manager)
            items = list(manager.pending_work_items.values())
            manager.pending_work_items.clear()
        # Let go of the executor only outside the lock: collecting it runs the stdlib's weakref
        # callback, which takes shutdown_lock before 3.12.8 / 3.13.1. On PyPy any GC can collect
        # an executor the program has dropped, and run that callback on this thread.
        del executor
        remote = None
        if cause is not None:
            remote = "\n'''\n%s'''" % "".join(cause)
        # Counted before the first future resolves: the program it wakes may read status().
        level = interventions.count(fix)
        failed = 0
        for item in items:
            error = process.BrokenProcessPool(message)
            if remote is not None:
                error.__cause__ = process._RemoteTraceback(remote)
            try:
                item.future.set_exception(error)
                failed += 1
            except process._base.InvalidStateError:
                pass  # cancelled in the meantime: it is resolved already
        interventions.log(
            level,
            fix,
            lambda: (
                "%s: backport_gh115634 failed %d pending futures with "
                "BrokenProcessPool (%s): %s" % (pool, failed, STOCK_INSTEAD[fix], message)
            ),
        )
