"""The machinery around the fix under threads, reloads and odd configurations (issue 17), one
scenario per child process: ``machinery.py NAME``. The last line printed is
``MACHINERY-RESULT: {json}``; tests/test_machinery.py gives each run a hard deadline.

Run with -S (no start-up files) and the package on PYTHONPATH; a scenario arms the start-up hook
itself where it needs one, as the .pth line would. The scenarios use the public API, the start-up
module and the stdlib only (a few name the implementation's modules through impl(), which knows
the layout before and after the implementation moved to _backport_gh115634), so the same file
shows what the package of an older commit does.
"""

import importlib
import json
import logging
import multiprocessing
import operator
import os
import sys
import threading
import time
import warnings

RESULT_PREFIX = "MACHINERY-RESULT: "
TARGET = "concurrent.futures.process"
WAIT = 30.0  # the longest any one step may take before it counts as hung
THREAD_ERRORS = []


def report(**fields):
    fields["thread_errors"] = list(THREAD_ERRORS)
    print(RESULT_PREFIX + json.dumps(fields), flush=True)


def _record_thread_error(args):
    THREAD_ERRORS.append(
        "%s in %s: %s" % (args.exc_type.__name__, getattr(args.thread, "name", "?"), args.exc_value)
    )


def impl(name):
    """The implementation module called name, wherever this commit keeps it."""
    try:
        return importlib.import_module("_backport_gh115634." + name)
    except ImportError:
        return importlib.import_module("backport_gh115634._" + name)


def arm_hook():
    import backport_gh115634_startup

    backport_gh115634_startup.activate("startup hook")


class _SlowLoader:
    """Delegates to the real loader, after sleeping (with the module still empty), and can
    change the module once it has executed (before the start-up hook hands it over)."""

    def __init__(self, loader, delay, after=None):
        self.loader, self.delay, self.after = loader, delay, after

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        time.sleep(self.delay)
        self.loader.exec_module(module)
        if self.after is not None:
            self.after(module)


class SlowFinder:
    """Makes the first import of the pool module slow; put on sys.meta_path before arm_hook(),
    so the start-up hook's finder (inserted in front) finds the module through this one."""

    def __init__(self, delay, after=None):
        self.delay, self.after = delay, after

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TARGET:
            return None
        for finder in sys.meta_path:
            if finder is self or type(finder).__name__ == "_PostImportFinder":
                continue
            find_spec = getattr(finder, "find_spec", None)
            spec = find_spec(fullname, path, target) if find_spec else None
            if spec is not None:
                spec.loader = _SlowLoader(spec.loader, self.delay, self.after)
                sys.meta_path.remove(self)  # once
                return spec
        return None


def slow_first_import(delay, after=None):
    sys.meta_path.insert(0, SlowFinder(delay, after))


def in_thread(function, name):
    """Start function in a thread; return (thread, box) where box gets "result" or "error"."""
    box = {}

    def run():
        try:
            box["result"] = function()
        except BaseException as exc:
            box["error"] = "%s: %s" % (type(exc).__name__, exc)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    return thread, box


def joined(*threads):
    """Join each within WAIT seconds in all; the names of those still alive (hung)."""
    deadline = time.monotonic() + WAIT
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    return [thread.name for thread in threads if thread.is_alive()]


def describe(status):
    return {
        "applied": status.applied,
        "shape": status.shape,
        "affected": status.affected,
        "error": status.error,
        "activation": list(status.activation),
    }


def seams_on():
    """Are functions of ours (other than a deferral's stand-in) on the pool module's classes?"""
    process = sys.modules[TARGET]
    return any(
        "backport_gh115634" in (getattr(value, "__module__", None) or "")
        for cls in (process.ProcessPoolExecutor, process._ExecutorManagerThread)
        for name, value in vars(cls).items()
        if name != "__init__"
    )


def run_pool(executor_cls=None, workers=1, max_tasks=2, tasks=6):
    """A recycling pool to completion: ["ok", value] / ["error", text] / ["pending"] each."""
    from concurrent.futures import ProcessPoolExecutor
    from concurrent.futures import TimeoutError as ResultTimeout  # not the builtin before 3.11

    executor = (executor_cls or ProcessPoolExecutor)(
        workers, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=max_tasks
    )
    futures = [executor.submit(operator.mul, i, 2) for i in range(tasks)]
    deadline = time.monotonic() + WAIT
    out = []
    for future in futures:
        try:
            out.append(["ok", future.result(timeout=max(0.0, deadline - time.monotonic()))])
        except ResultTimeout:
            out.append(["pending"])
        except Exception as exc:
            out.append(["error", "%s: %s" % (type(exc).__name__, exc)])
    pending = ["pending"] in out
    if pending:
        for process in list((executor._processes or {}).values()):
            process.kill()
    executor.shutdown(wait=not pending, cancel_futures=pending)
    return out


def pool_ok(out):
    return out == [["ok", i * 2] for i in range(len(out))]


def drain_log():
    """Emit what no manager thread has emitted yet, and let one that is emitting finish."""
    try:
        drain = impl("interventions").drain
    except AttributeError:  # a layout that logged on the manager thread itself
        time.sleep(0.5)
        return
    drain(10.0)


# --- the scenarios: one per defect of issue 17 ---------------------------------------------


def scenario_status_during_first_import():
    """1. status() while another thread is still executing the pool module's first import."""
    slow_first_import(0.5)
    arm_hook()
    import backport_gh115634  # a service imports it at start, before its first pool

    importer, _ = in_thread(lambda: importlib.import_module(TARGET), "importer")
    time.sleep(0.1)  # the module is in sys.modules now, still empty
    during = describe(backport_gh115634.status())
    hung = joined(importer)
    after = describe(backport_gh115634.status())
    report(during=during, after=after, hung=hung, seams=seams_on(), pool=run_pool())


def scenario_status_and_apply_before_import():
    """2. status() in one thread, apply() in another, both before the pool module is imported
    (the import is slow, to widen the window)."""
    slow_first_import(0.3)
    arm_hook()
    import backport_gh115634

    asker, asked = in_thread(backport_gh115634.status, "status")
    time.sleep(0.05)
    applier, applied = in_thread(backport_gh115634.apply, "apply")
    hung = joined(asker, applier)
    later, _ = in_thread(lambda: importlib.import_module(TARGET), "later import")
    hung += joined(later)
    if hung:
        report(hung=hung)
        os._exit(0)  # the hung threads hold import locks: nothing more can be done here
    report(
        hung=hung,
        status=describe(asked["result"]),
        apply=describe(applied["result"]),
        seams=seams_on(),
        pool=run_pool(),
    )


class _RaisingFilter(logging.Filter):
    """A filter reading a thread-local request id, as web applications do: the attribute is
    missing on every thread but the request's."""

    local = threading.local()

    def filter(self, record):
        record.request_id = self.local.request_id
        return True


class _Recorder(logging.Handler):
    def __init__(self, delay=0.0):
        super().__init__(logging.DEBUG)
        self.delay = delay
        self.records = []

    def emit(self, record):
        thread = threading.current_thread()
        manager = type(thread).__name__ == "_ExecutorManagerThread"
        lock_free = None
        if manager:
            # The pool's shutdown lock is not re-entrant: a manager thread that held it here
            # could not take it again.
            lock_free = thread.shutdown_lock.acquire(timeout=2.0)
            if lock_free:
                thread.shutdown_lock.release()
        self.records.append(
            {
                "level": record.levelname,
                "message": record.getMessage(),
                "thread": thread.name,
                "manager": manager,
                "lock_free": lock_free,
            }
        )
        time.sleep(self.delay)


def scenario_raising_log_filter():
    """3a. A handler whose filter raises: the pool must not lose its manager thread."""
    import backport_gh115634

    backport_gh115634.apply()
    handler = _Recorder()
    handler.addFilter(_RaisingFilter())
    logger = logging.getLogger("backport_gh115634")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    out = run_pool(max_tasks=2, tasks=10)
    report(pool=out, status=describe(backport_gh115634.status()))


def scenario_slow_log_handler():
    """3b. A slow handler: it must run under no pool's lock, and cost the pool little."""
    import backport_gh115634

    backport_gh115634.apply()
    handler = _Recorder(delay=0.2)
    logger = logging.getLogger("backport_gh115634")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    out = run_pool(max_tasks=2, tasks=10)
    drain_log()
    report(pool=out, records=handler.records, status=describe(backport_gh115634.status()))


def scenario_log_volume():
    """4. An application logging at INFO: one record of ours at INFO per process, at most."""
    handler = _Recorder()
    logging.basicConfig(level=logging.INFO, handlers=[handler])
    import backport_gh115634

    backport_gh115634.apply()
    out = run_pool(max_tasks=2, tasks=10)
    drain_log()
    counts = backport_gh115634.status().interventions
    report(pool=out, records=handler.records, interventions=dict(counts))


def scenario_reload():
    """5. importlib.reload(concurrent.futures.process): status() tells the truth about the new
    classes, and apply() patches them."""
    import backport_gh115634

    backport_gh115634.apply()
    process = importlib.import_module(TARGET)
    importlib.reload(process)
    after_reload = describe(backport_gh115634.status())
    seams_after_reload = seams_on()
    reapplied = describe(backport_gh115634.apply())
    report(
        after_reload=after_reload,
        seams_after_reload=seams_after_reload,
        reapplied=reapplied,
        seams=seams_on(),
        pool=run_pool(),
    )


def scenario_revert_deferred():
    """6. revert() in a process where the hook deferred the fix (a pool worker), then apply()."""
    arm_hook()
    current = multiprocessing.process.current_process()
    current._inheriting = True
    try:
        process = importlib.import_module(TARGET)
    finally:
        del current._inheriting
    init_deferred = process.ProcessPoolExecutor.__dict__["__init__"].__module__
    import backport_gh115634

    reverted = describe(backport_gh115634.revert())
    init_reverted = process.ProcessPoolExecutor.__dict__["__init__"].__module__
    reapplied = describe(backport_gh115634.apply())
    report(
        init_deferred=init_deferred,
        reverted=reverted,
        init_reverted=init_reverted,
        reapplied=reapplied,
        seams=seams_on(),
        pool=run_pool(),
    )


def scenario_error_cleared():
    """7a. status().error after a failed apply() and then a successful one."""
    importlib.import_module(TARGET)
    import backport_gh115634

    backport_gh115634.revert()  # the import applied it
    seams = impl("seams")
    build = seams.build

    def failing_once(*args, **kwargs):
        seams.build = build
        raise RuntimeError("injected failure")

    seams.build = failing_once
    try:
        backport_gh115634.apply()
        raised = None
    except RuntimeError as exc:
        raised = str(exc)
    failed = describe(backport_gh115634.status())
    succeeded = describe(backport_gh115634.apply())
    report(raised=raised, failed=failed, succeeded=succeeded)


def _unrecognisable(module):
    """A manager loop of a shape nobody ships (upstream's own replacement method gone too)."""
    module._ExecutorManagerThread.run = lambda self: None
    vars(module._ExecutorManagerThread).get("_replace_dead_worker") and delattr(
        module._ExecutorManagerThread, "_replace_dead_worker"
    )


def scenario_import_after_hook():
    """7b. An explicit import of the package after the hook handed over an unrecognised stdlib:
    recorded in activation, and the promised warning comes, pointing at the import line."""
    slow_first_import(0.0, after=_unrecognisable)
    arm_hook()
    importlib.import_module(TARGET)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        import backport_gh115634  # the line the warning must point at
    report(
        status=describe(backport_gh115634.status()),
        expected_line=line,
        expected_file=__file__,
        warnings=[[w.category.__name__, str(w.message), w.filename, w.lineno] for w in caught],
    )


def scenario_stale_verdict():
    """7c. A verdict left on a manager thread before revert() must not fail the work of a pool
    that is healthy after the next apply()."""
    from concurrent.futures import ProcessPoolExecutor

    import backport_gh115634

    backport_gh115634.apply()
    executor = ProcessPoolExecutor(
        1, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=2
    )
    first = executor.submit(operator.mul, 1, 2).result(timeout=WAIT)
    manager = executor._executor_manager_thread
    verdict = ("gh-152967", None, "a stale verdict")
    seams = impl("seams")
    # As a seam leaves it: tagged with the epoch where this commit has one, the epoch before
    # revert(). It is put there after revert(): the manager thread is live, and a verdict of
    # the current epoch is one it must act on if its loop reaches the wait before revert() (as
    # it did under load on 3.13t, its result handling still running when result() returned).
    left = (seams._epoch, verdict) if hasattr(seams, "_epoch") else verdict
    backport_gh115634.revert()
    manager.__dict__[seams.VERDICT_ATTR] = left
    backport_gh115634.apply()  # wakes the manager: its wait seam finds the verdict
    out = []
    for i in range(4):
        try:
            out.append(["ok", executor.submit(operator.mul, i, 2).result(timeout=WAIT)])
        except Exception as exc:
            out.append(["error", "%s: %s" % (type(exc).__name__, exc)])
    executor.shutdown(wait=False, cancel_futures=True)
    report(first=first, pool=out)


def scenario_revert_warning_location():
    """7d. revert()'s warning (something replaced our seam) points at the caller's line."""
    import backport_gh115634

    status = backport_gh115634.apply()
    if not status.applied:
        report(applied=False)
        return
    manager_cls = sys.modules[TARGET]._ExecutorManagerThread
    ours = manager_cls.__dict__["wait_result_broken_or_wakeup"]
    manager_cls.wait_result_broken_or_wakeup = lambda self: ours(self)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        backport_gh115634.revert()  # the line the warning must point at
    report(
        applied=True,
        expected_line=line,
        expected_file=__file__,
        warnings=[[w.category.__name__, str(w.message), w.filename, w.lineno] for w in caught],
    )


def scenario_import_during_hand_over():
    """7e. import backport_gh115634 in one thread while another runs the pool module's first
    import through the hook: both activations recorded, nothing hangs."""
    slow_first_import(0.3)
    arm_hook()
    importer, _ = in_thread(lambda: importlib.import_module(TARGET), "importer")
    time.sleep(0.1)
    user, _ = in_thread(lambda: importlib.import_module("backport_gh115634"), "user import")
    hung = joined(importer, user)
    if hung:
        report(hung=hung)
        os._exit(0)
    import backport_gh115634

    report(
        hung=hung, status=describe(backport_gh115634.status()), seams=seams_on(), pool=run_pool()
    )


def scenario_internal_error():
    """A bug of ours on the manager thread (here: the replacement logic raising) must cost the
    fix at that point, never the pool: the stdlib's code runs instead, the rescue gives a
    stranded pool a worker, and the error is reported."""
    import backport_gh115634

    importlib.import_module(TARGET)  # applied on import: take it off to rebuild the seams
    backport_gh115634.revert()
    replacement = impl("replacement").WorkerReplacement

    def after_exit(self, manager, executor):
        raise RuntimeError("injected failure")

    replacement.after_exit = after_exit  # the seams bind it when apply() builds them
    handler = _Recorder()
    logger = logging.getLogger("backport_gh115634")
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    backport_gh115634.apply()
    out = run_pool(max_tasks=2, tasks=8)
    drain_log()
    report(
        pool=out,
        status=describe(backport_gh115634.status()),
        records=[r for r in handler.records if r["level"] == "WARNING"],
    )


if __name__ == "__main__":
    threading.excepthook = _record_thread_error
    globals()["scenario_" + sys.argv[1]]()
