"""The methods we put on the stdlib classes, each a thin layer over the original it replaces.

Seams, narrowest first:

* ``ProcessPoolExecutor._adjust_process_count`` (pre-fix shape): the manager loop calls it right
  after a worker exit. Only that call is redirected to the upstream replacement logic; calls from
  submit() (the worker-reuse logic of bpo-39207) keep the stdlib behaviour. Which call is which is
  told by the manager's state, not by who the caller is (a subclass may override the method and
  delegate with super()): the wait seam notes the pid of a worker that sent its last result, and
  the call on that manager's thread once the loop has taken that pid out of its process table is
  the exit path. A done-callback that submit()s from the manager thread runs before that.
* ``ProcessPoolExecutor._replace_dead_worker`` (late 3.13.x): its whole job is the exit path, so
  it is replaced outright to gain the hardening it lacks.
* ``_ExecutorManagerThread.wait_result_broken_or_wakeup``: the one place a manager thread blocks.
  It never blocks with work pending and no worker alive: it starts a worker (the rescue of a pool
  the stock code stranded), or fails that work where nothing may start one (a garbage collected
  executor never reaches the two seams above; a forced shutdown). It also reports the verdicts
  the seams above leave, and emits our queued log records (interventions.flush): the manager
  thread holds no lock here.
* ``ProcessPoolExecutor._force_shutdown`` (3.14+): flags the forced shutdown, under the shutdown
  lock, before the original snapshots the processes it will signal.
* ``_ExecutorManagerThread.terminate_broken`` (3.11, PyPy 3.11): before the original tears a
  broken pool down, closes the window in which a submit() past its broken check adds work or a
  worker (gh-109047), and fails the pending futures tolerating cancelled ones (replacement.
  before_break), as 3.12 does.

All of them are plain class attributes looked up on each call, so executors created before
apply() follow them from their next call on.

Each runs on a manager thread (or in submit()), in places the stdlib's loop does not expect to
raise: an exception of ours is caught, reported (interventions.internal_error), and the stdlib's
own code runs instead.

State: the exit pid a wait left on its manager thread (``EXIT_ATTR``, written and read by that
thread alone), and ``_epoch``, a counter that revert() advances (``void_verdicts``, called under
the package's state lock; seams only read it). A verdict is left on the manager thread tagged
with the epoch it was left in, and the wait seam acts only on one of the current epoch: a verdict
left before a revert() is void after the next apply(), whatever happened to its pool in between.
"""

import threading

from _backport_gh115634 import detect, interventions

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: the pool module does not load typing on 3.12+
    from types import ModuleType
    from typing import Any, Callable, Dict, List, Optional, Tuple

    from _backport_gh115634.detect import Detection
    from _backport_gh115634.replacement import Verdict, WorkerReplacement

    Key = Tuple[type, str]

# Where a seam leaves an (epoch, verdict) pair for the manager thread's next wait.
VERDICT_ATTR = "_backport_gh115634_verdict"
# Where the wait seam leaves, on the manager thread, the pid of a worker whose result said it
# exits (None after any other wait): that worker's exit path is the loop's next step.
EXIT_ATTR = "_backport_gh115634_exit_pid"

_epoch = 0


def void_verdicts() -> None:
    """Make every verdict left so far void (revert(), under the package's state lock)."""
    global _epoch
    _epoch += 1


def build(
    process: "ModuleType", replacement: "WorkerReplacement", originals: "Dict[Key, Any]"
) -> "Dict[Key, Callable[..., Any]]":
    """Return {(class, attribute name): replacement function} for the seams this shape needs.

    originals maps the same keys to the stdlib objects being replaced.
    """
    executor_cls = process.ProcessPoolExecutor
    manager_cls = process._ExecutorManagerThread
    after_exit = replacement.after_exit
    current_thread = threading.current_thread
    internal_error = interventions.internal_error
    flush = interventions.flush
    seams: "Dict[Key, Callable[..., Any]]" = {}

    def leave_verdict(manager: "Any", verdict: "Optional[Verdict]") -> None:
        if verdict is not None:
            setattr(manager, VERDICT_ATTR, (_epoch, verdict))

    def take_verdict(manager: "Any") -> "Optional[Verdict]":
        left = manager.__dict__.pop(VERDICT_ATTR, None)
        return left[1] if left is not None and left[0] == _epoch else None

    def is_manager(thread: object) -> bool:
        """A manager thread of this module's, or of a reload of it (a new class, same name)."""
        cls = type(thread)
        return cls is manager_cls or (
            cls.__name__ == manager_cls.__name__ and cls.__module__ == manager_cls.__module__
        )

    def on_exit_path(thread: "Any") -> bool:
        """Is this call the manager loop's worker-exit path? True once per exit: on the manager
        thread whose last wait returned an exiting worker's result, after the loop took that
        worker out of its process table (a done-callback's submit() runs before that). Whoever
        called us, a subclass delegating with super() included."""
        state = thread.__dict__
        pid = state.get(EXIT_ATTR)
        if pid is None or pid in thread.processes:
            return False
        state[EXIT_ATTR] = None  # taken: a callback run from here on is a submit() again
        return True

    def stock_instead(
        what: str, exc: Exception, original: "Callable[[Any], None]", executor: "Any"
    ) -> None:
        """Report an error of ours and run the stdlib's own code, as if we were not here; the
        manager loop must see neither our exception nor one the stock code raises in its place
        (as 3.11 and 3.12 do after shutdown(wait=False))."""
        internal_error(what, exc)
        try:
            original(executor)
        except Exception as stock_exc:
            internal_error("running the stdlib's code instead", stock_exc)

    key = (executor_cls, "_adjust_process_count")
    if key in originals:
        adjust_process_count: "Callable[[Any], None]" = originals[key]

        def _adjust_process_count(self: "Any") -> None:
            manager = current_thread()
            if on_exit_path(manager):
                # The manager loop's worker-exit path, under the shutdown lock.
                try:
                    leave_verdict(manager, after_exit(manager, self))
                except Exception as exc:
                    stock_instead("replacing a retired worker", exc, adjust_process_count, self)
                return None
            if getattr(self, "_force_shutting_down", False):
                return None  # a worker spawned now would escape terminate/kill_workers()
            return adjust_process_count(self)

        seams[key] = _adjust_process_count

    key = (executor_cls, "_replace_dead_worker")
    if key in originals:
        replace_dead_worker: "Callable[[Any], None]" = originals[key]

        def _replace_dead_worker(self: "Any") -> None:
            manager = current_thread()
            if not is_manager(manager):
                return replace_dead_worker(self)
            try:
                leave_verdict(manager, after_exit(manager, self))
            except Exception as exc:
                stock_instead("replacing a retired worker", exc, replace_dead_worker, self)
            return None

        seams[key] = _replace_dead_worker

    key = (manager_cls, "wait_result_broken_or_wakeup")
    # Absent where a build before this one's already stands there (after a reload).
    if key in originals:
        wait: "Callable[[Any], Tuple[Any, bool, Optional[List[str]]]]" = originals[key]
        fail_pending = replacement.fail_pending
        rescue = replacement.rescue

        def wait_result_broken_or_wakeup(self: "Any") -> "Tuple[Any, bool, Optional[List[str]]]":
            flush()  # the records our seams queued under the lock: it is not held here
            verdict = None
            try:
                verdict = take_verdict(self)
                if verdict is None and self.pending_work_items and not self.processes:
                    # Work pending and no worker alive: the stock wait would block until a submit()
                    # or a shutdown, or forever. Only the stock code gets a pool here (a worker exit
                    # before apply() or in a revert() window; apply() wakes every manager so it
                    # comes here). Under the shutdown lock, which submit() holds while it adds work
                    # and spawns.
                    executor = None
                    with self.shutdown_lock:
                        if self.pending_work_items and not self.processes:
                            executor = self.executor_reference()
                            verdict = rescue(self, executor)
                    # Let go of the executor outside the lock, as fail_pending() does: collecting
                    # it runs the stdlib's weakref callback, which takes this lock before 3.12.8 /
                    # 3.13.1.
                    del executor
                if verdict is not None:
                    fail_pending(self, verdict)
            except Exception as exc:
                verdict = None
                internal_error("checking the pool before the manager thread waits", exc)
            if verdict is not None:
                flush()  # the loop tears the pool down and ends: no later pass of ours
                return None, True, verdict[1]
            waited = wait(self)
            # Noted for _adjust_process_count: this worker's exit path comes next. A result is
            # a _ResultItem (3.11+), or None after a wake-up.
            self.__dict__[EXIT_ATTR] = getattr(waited[0], "exit_pid", None)
            return waited

        seams[key] = wait_result_broken_or_wakeup

    key = (executor_cls, "_force_shutdown")
    if key in originals:
        force_shutdown = originals[key]
        operations = getattr(process, "_SHUTDOWN_CALLBACK_OPERATION", None)

        def _force_shutdown(self: "Any", operation: "Any") -> "Any":
            if operations is None or operation in operations:
                with self._shutdown_lock:
                    self._force_shutting_down = True
            return force_shutdown(self, operation)

        seams[key] = _force_shutdown

    key = (manager_cls, "terminate_broken")
    if key in originals:
        terminate_broken = originals[key]
        before_break = replacement.before_break

        def _terminate_broken(self: "Any", *args: "Any", **kwargs: "Any") -> "Any":
            try:
                before_break(self, args[0] if args else kwargs.get("cause"))
            except Exception as exc:
                internal_error("failing the work of a broken pool", exc)
            try:
                return terminate_broken(self, *args, **kwargs)
            finally:
                flush()  # the manager loop ends after this; the teardown released its lock

        seams[key] = _terminate_broken

    for (owner, name), function in seams.items():
        original = originals[(owner, name)]
        function.__name__ = name
        function.__qualname__ = "%s.%s" % (owner.__name__, name)
        function.__doc__ = getattr(original, "__doc__", None)
        function.__wrapped__ = original  # type: ignore[attr-defined]  # as functools.wraps does
        function.__module__ = __name__
    return seams


def seam_names(process: "ModuleType", detection: "Detection") -> "List[Key]":
    """The (class, attribute name) pairs to replace for a patchable detection."""
    executor_cls = process.ProcessPoolExecutor
    manager_cls = process._ExecutorManagerThread
    names = [(manager_cls, "wait_result_broken_or_wakeup")]
    if detection.shape == detect.PRE_FIX:
        names.append((executor_cls, "_adjust_process_count"))
    elif detection.shape == detect.FIX_1_ONLY:
        names.append((executor_cls, "_replace_dead_worker"))
    if callable(getattr(executor_cls, "_force_shutdown", None)):
        names.append((executor_cls, "_force_shutdown"))
    if any(detection.fixes.get(fix) == detect.MISSING for fix in detect.BREAK_FIXES):
        names.append((manager_cls, "terminate_broken"))
    return names
