"""The methods we put on the stdlib classes, each a thin layer over the original it replaces.

Seams, narrowest first:

* ``ProcessPoolExecutor._adjust_process_count`` (pre-fix shape): the manager loop calls it right
  after a worker exit. Only that call is redirected to the upstream replacement logic; calls from
  submit() (the worker-reuse logic of bpo-39207) keep the stdlib behaviour.
* ``ProcessPoolExecutor._replace_dead_worker`` (late 3.13.x): its whole job is the exit path, so
  it is replaced outright to gain the hardening it lacks.
* ``_ExecutorManagerThread.wait_result_broken_or_wakeup``: the one place a manager thread blocks.
  It never blocks with work pending and no worker alive: it starts a worker (the rescue of a pool
  the stock code stranded), or fails that work where nothing may start one (a garbage collected
  executor never reaches the two seams above; a forced shutdown). It also reports the verdicts
  the seams above leave.
* ``ProcessPoolExecutor._force_shutdown`` (3.14+): flags the forced shutdown, under the shutdown
  lock, before the original snapshots the processes it will signal.

All of them are plain class attributes looked up on each call, so executors created before
apply() follow them from their next call on.
"""
import sys
import threading

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: the pool module does not load typing on 3.12+
    from types import ModuleType
    from typing import Any, Callable, Dict, List, Optional, Tuple

    from backport_gh115634._replacement import Verdict, WorkerReplacement

    Key = Tuple[type, str]

# Where a seam leaves a (fix, cause, message) verdict for the manager thread's next wait.
VERDICT_ATTR = "_backport_gh115634_verdict"


def build(process: "ModuleType", replacement: "WorkerReplacement",
          originals: "Dict[Key, Any]") -> "Dict[Key, Callable[..., Any]]":
    """Return {(class, attribute name): replacement function} for the seams this shape needs.

    originals maps the same keys to the stdlib objects being replaced.
    """
    executor_cls = process.ProcessPoolExecutor
    manager_cls = process._ExecutorManagerThread
    manager_run_code = manager_cls.run.__code__
    after_exit = replacement.after_exit
    current_thread = threading.current_thread
    get_frame = sys._getframe
    seams: "Dict[Key, Callable[..., Any]]" = {}

    def leave_verdict(manager: "Any", verdict: "Optional[Verdict]") -> None:
        if verdict is not None:
            setattr(manager, VERDICT_ATTR, verdict)

    key = (executor_cls, "_adjust_process_count")
    if key in originals:
        adjust_process_count: "Callable[[Any], None]" = originals[key]

        def _adjust_process_count(self: "Any") -> None:
            if get_frame(1).f_code is manager_run_code:
                # The manager loop's worker-exit path, under the shutdown lock. Callbacks that
                # submit() from the manager thread come through submit's frame instead.
                manager = current_thread()
                leave_verdict(manager, after_exit(manager, self))
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
            if not isinstance(manager, manager_cls):
                return replace_dead_worker(self)
            leave_verdict(manager, after_exit(manager, self))
            return None

        seams[key] = _replace_dead_worker

    key = (manager_cls, "wait_result_broken_or_wakeup")
    wait: "Callable[[Any], Tuple[Any, bool, Optional[List[str]]]]" = originals[key]
    fail_pending = replacement.fail_pending
    rescue = replacement.rescue

    def wait_result_broken_or_wakeup(self: "Any") -> "Tuple[Any, bool, Optional[List[str]]]":
        verdict = self.__dict__.pop(VERDICT_ATTR, None)
        if verdict is None and self.pending_work_items and not self.processes:
            # Work pending and no worker alive: the stock wait would block until a submit() or
            # a shutdown, or forever. Only the stock code gets a pool here (a worker exit before
            # apply() or in a revert() window; apply() wakes every manager so it comes here).
            # Under the shutdown lock, which submit() holds while it adds work and spawns.
            executor = None
            with self.shutdown_lock:
                if self.pending_work_items and not self.processes:
                    executor = self.executor_reference()
                    verdict = rescue(self, executor)
            # Let go of the executor outside the lock, as fail_pending() does: collecting it
            # runs the stdlib's weakref callback, which takes this lock before 3.12.8 / 3.13.1.
            del executor
        if verdict is not None:
            fail_pending(self, verdict)
            return None, True, verdict[1]
        return wait(self)

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

    for (owner, name), function in seams.items():
        original = originals[(owner, name)]
        function.__name__ = name
        function.__qualname__ = "%s.%s" % (owner.__name__, name)
        function.__doc__ = getattr(original, "__doc__", None)
        function.__wrapped__ = original  # type: ignore[attr-defined]  # as functools.wraps does
        function.__module__ = __name__
    return seams


def seam_names(process: "ModuleType", shape: str) -> "List[Key]":
    """The (class, attribute name) pairs to replace for a patchable shape."""
    from backport_gh115634 import _detect

    executor_cls = process.ProcessPoolExecutor
    names = [(process._ExecutorManagerThread, "wait_result_broken_or_wakeup")]
    if shape == _detect.PRE_FIX:
        names.append((executor_cls, "_adjust_process_count"))
    elif shape == _detect.FIX_1_ONLY:
        names.append((executor_cls, "_replace_dead_worker"))
    if callable(getattr(executor_cls, "_force_shutdown", None)):
        names.append((executor_cls, "_force_shutdown"))
    return names
