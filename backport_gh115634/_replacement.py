"""What the manager thread does once a worker has exited at its max_tasks_per_child limit.

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

Every function here runs on the manager thread.
"""
import traceback  # already loaded: concurrent.futures.process imports it

GARBAGE_COLLECTED = (
    "The ProcessPoolExecutor was garbage collected with work pending after its last worker "
    "process exited at max_tasks_per_child; nothing can start a replacement, so the pending "
    "work can never run.")
FORCED_SHUTDOWN = (
    "A worker process exited while the pool was being forcefully shut down (terminate_workers() "
    "or kill_workers()); the work still queued will not run.")
SPAWN_FAILED = (
    "A replacement worker process could not be started and no worker is left to run the "
    "remaining work.")


class WorkerReplacement:
    """Binds the replacement logic to one concurrent.futures.process module."""

    def __init__(self, process):
        self.process = process

    def after_exit(self, manager, executor):
        """Decide what follows a worker exit. The caller holds manager.shutdown_lock.

        Returns None while the pool can still make progress, otherwise (cause, message) for the
        futures that can no longer run; cause is a formatted traceback or None.
        """
        cause = message = None
        if executor is None:
            message = GARBAGE_COLLECTED
        elif getattr(executor, "_force_shutting_down", False):
            message = FORCED_SHUTDOWN
        elif manager.pending_work_items or not manager.is_shutting_down():
            if len(manager.processes) < executor._max_workers:
                try:
                    self.spawn(manager, executor)
                except Exception as exc:
                    # Other workers, if any, keep draining the queue; with none left the pool
                    # is broken below. The manager thread itself must survive either way.
                    cause = traceback.format_exception(
                        type(exc), exc, exc.__traceback__)
                    message = SPAWN_FAILED
        if not manager.processes and (manager.pending_work_items or cause is not None):
            # A failed spawn breaks even an idle pool: leaving it with no worker would make the
            # next submit() wait on a stale idle token instead of raising.
            return cause, message
        return None

    def spawn(self, manager, executor):
        """Start one worker wired to the manager's queues and record it in its process table.

        The executor's mp_context, initializer and initargs survive shutdown(); its queues and
        process table do not, so those come from the manager.
        """
        process = self.process
        spawn_worker = getattr(process, "_spawn_worker", None)
        if spawn_worker is not None:
            # 3.14+ has a helper for this; going through it keeps anything that wraps or mocks
            # it (CPython's own tests do) in the loop.
            spawn_worker(executor._mp_context, manager.call_queue, manager.result_queue,
                         executor._initializer, executor._initargs,
                         manager.max_tasks_per_child, manager.processes)
            return
        worker = executor._mp_context.Process(
            target=process._process_worker,
            args=(manager.call_queue, manager.result_queue, executor._initializer,
                  executor._initargs, manager.max_tasks_per_child))
        worker.start()
        manager.processes[worker.pid] = worker

    def fail_pending(self, manager, cause, message):
        """Resolve every pending future with BrokenProcessPool(message).

        Runs just before the stock terminate_broken(), which then finds nothing pending and only
        tears the pool down; its own message would blame a crashed worker.
        """
        process = self.process
        with manager.shutdown_lock:
            executor = manager.executor_reference()
            if executor is not None:
                # From now on submit() raises instead of queueing work nobody will run.
                executor._broken = message
            items = list(manager.pending_work_items.values())
            manager.pending_work_items.clear()
        # Let go of the executor only outside the lock: collecting it runs the stdlib's weakref
        # callback, which takes shutdown_lock before 3.12.8 / 3.13.1. On PyPy any GC can collect
        # an executor the program has dropped, and run that callback on this thread.
        del executor
        remote = None
        if cause is not None:
            remote = "\n'''\n%s'''" % "".join(cause)
        for item in items:
            error = process.BrokenProcessPool(message)
            if remote is not None:
                error.__cause__ = process._RemoteTraceback(remote)
            try:
                item.future.set_exception(error)
            except process._base.InvalidStateError:
                pass  # cancelled in the meantime: it is resolved already
