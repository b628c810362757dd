"""One process-pool scenario, run in a child process: ``pool_scenario.py NAME START_METHOD MODE``.

MODE is "shim" (apply backport_gh115634 first), "stock" (leave the stdlib alone) or "reverted"
(apply, then revert: the stock code again, as a program sees it after revert()). The last line
printed is ``SCENARIO-RESULT: {json}``. A scenario that hangs reports "hung" once its futures have
waited HANG_WINDOW seconds (the stock seed, and the rescue scenarios before apply(): as soon as
the pool is stranded, tests/stranded.py), kills its workers and exits at once; the parent's hard
deadline is the backstop if even that fails.
"""

import concurrent.futures
import gc
import json
import logging
import multiprocessing as mp
import operator
import os
import sys
import threading
import time
import weakref

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/
import failing_start
from stranded import wait_done_or_stranded

HANG_WINDOW = float(os.environ.get("BACKPORT_TEST_HANG_WINDOW", "20"))
RESULT_PREFIX = "SCENARIO-RESULT: "
MODE = "shim"  # main() sets it from the command line

# Worker starts allowed before FailingProcess.start() raises (counted in the parent).
ALLOWED_STARTS = 10**6
STARTS = []


def _counted_start():
    if len(STARTS) >= ALLOWED_STARTS:
        raise OSError(11, "injected failure: cannot start a worker process")
    STARTS.append(1)


def counting_context(method):
    failing_start.before_start = _counted_start
    return failing_start.failing_context(method)


def report_wait_return(started, gate, value):
    """Task: say it started, wait for the gate, return value."""
    started.put(value)
    gate.wait(60)
    return value


def sleep_return(seconds, value):
    time.sleep(seconds)
    return value


# --- helpers --------------------------------------------------------------------------------

THREAD_ERRORS = []
STATUS = {}
LOG_RECORDS = []  # [level, message] of each record on the backport_gh115634 logger


class _LogCapture(logging.Handler):
    def emit(self, record):
        LOG_RECORDS.append([record.levelname, record.getMessage()])


def _record_thread_error(args):
    THREAD_ERRORS.append(
        "%s in %s: %s" % (args.exc_type.__name__, getattr(args.thread, "name", "?"), args.exc_value)
    )


def outcomes(futures, timeout=None):
    """Resolve futures within one shared deadline: ["ok", value] / ["error", type, message] /
    ["cancelled"] / ["pending"]."""
    deadline = time.monotonic() + (HANG_WINDOW if timeout is None else timeout)
    out = []
    for future in futures:
        try:
            out.append(["ok", future.result(timeout=max(0.0, deadline - time.monotonic()))])
        except concurrent.futures.TimeoutError:
            out.append(["pending"])
        except concurrent.futures.CancelledError:
            out.append(["cancelled"])
        except BaseException as exc:
            out.append(["error", type(exc).__name__, str(exc)])
    return out


def finish(result, futures_out=None):
    """Print the verdict; if anything is still pending, kill the workers and leave at once."""
    if futures_out is not None:
        result["futures"] = futures_out
        result["hung"] = any(item == ["pending"] for item in futures_out)
    result["status"] = STATUS
    result["thread_errors"] = list(THREAD_ERRORS)
    result["starts"] = len(STARTS)
    if "interventions" not in result:
        import backport_gh115634

        result["interventions"] = dict(backport_gh115634.status().interventions)
    interventions = sys.modules.get("_backport_gh115634.interventions")
    if interventions is not None:
        # Records are emitted by the package's own thread: wait until it has caught up.
        result["log_drained"] = interventions.drain(10.0)
    result["log"] = list(LOG_RECORDS)
    print(RESULT_PREFIX + json.dumps(result), flush=True)
    if result.get("hung"):
        for child in mp.active_children():
            child.kill()
        os._exit(0)


def collect(executor_ref):
    for _ in range(100):
        gc.collect()
        if executor_ref() is None:
            return True
        time.sleep(0.05)
    return False


# --- scenarios ------------------------------------------------------------------------------


def scenario_seed(method, max_workers=1, max_tasks=2, count=10):
    """The gh-115634 reproducer: a backlog queued while workers hit their task limit."""
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers, mp_context=mp.get_context(method), max_tasks_per_child=max_tasks
    )
    futures = [executor.submit(operator.mul, i, 2) for i in range(count)]
    result = {"expected": [["ok", i * 2] for i in range(count)]}
    if MODE == "shim":
        out = outcomes(futures)
    else:
        # The stock run: a hang is told by its state (stranded.py), not by waiting HANG_WINDOW.
        manager = executor._executor_manager_thread
        _, result["stranded"] = wait_done_or_stranded(futures, [manager], HANG_WINDOW)
        out = outcomes(futures, timeout=0)
    finish(result, out)
    executor.shutdown(wait=True)


def scenario_seed_two_workers(method):
    scenario_seed(method, max_workers=2, max_tasks=2, count=8)


def scenario_created_before_apply(method):
    """An executor created, and already running, before apply() is fixed for later exits."""
    import backport_gh115634

    executor = concurrent.futures.ProcessPoolExecutor(
        1, mp_context=mp.get_context(method), max_tasks_per_child=2
    )
    futures = [executor.submit(operator.mul, 0, 2)]
    futures[0].result(timeout=HANG_WINDOW)
    result = {
        "applied_late": backport_gh115634.apply().applied,
        "expected": [["ok", i * 2] for i in range(10)],
    }
    futures += [executor.submit(operator.mul, i, 2) for i in range(1, 10)]
    finish(result, outcomes(futures))
    executor.shutdown(wait=True)


def scenario_reuse(method):
    """bpo-39207: awaiting each result before the next submit keeps a single worker."""
    executor = concurrent.futures.ProcessPoolExecutor(4, mp_context=mp.get_context(method))
    futures = []
    late_tokens = 0
    for i in range(8):
        futures.append(executor.submit(operator.mul, i, 2))
        futures[-1].result(timeout=HANG_WINDOW)
        late_tokens += not _idle_token_released(executor)
    result = {"workers": len(executor._processes), "late_tokens": late_tokens}
    finish(result, outcomes(futures))
    executor.shutdown(wait=True)


def _idle_token_released(executor, timeout=5.0):
    """Wait until the manager thread has released the idle-worker token for the result just
    received. The stdlib sets the result first and releases the token after, so without this
    wait the next submit() can find no token and start a second worker (stock too: seen on
    3.13.5t and PyPy 3.11, which switch threads sooner). The reuse itself is what is tested."""
    semaphore = executor._idle_worker_semaphore
    deadline = time.monotonic() + timeout
    while semaphore._value < 1:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.001)
    return True


def _gated_pool(method, shutdown, drop_reference, force_flag=False):
    """A 1-worker pool with max_tasks_per_child=1 whose worker exits only after the executor has
    been shut down (wait=False) and/or dropped, or flagged as being forcefully shut down."""
    manager = mp.get_context(method).Manager()
    started = manager.Queue()
    gate = manager.Event()
    executor = concurrent.futures.ProcessPoolExecutor(
        1, mp_context=mp.get_context(method), max_tasks_per_child=1
    )
    futures = [executor.submit(report_wait_return, started, gate, i) for i in range(3)]
    manager_thread = executor._executor_manager_thread
    result = {"first_started": started.get(timeout=HANG_WINDOW)}
    if force_flag:
        with executor._shutdown_lock:
            executor._force_shutting_down = True
    if shutdown:
        executor.shutdown(wait=False)
    if drop_reference:
        executor_ref = weakref.ref(executor)
        executor = None
        result["collected"] = collect(executor_ref)
    gate.set()
    out = outcomes(futures)
    manager_thread.join(HANG_WINDOW)
    result["manager_thread_alive"] = manager_thread.is_alive()
    finish(result, out)
    manager.shutdown()
    if executor is not None:
        executor.shutdown(wait=True)


def scenario_shutdown_nowait(method):
    """gh-119592: after shutdown(wait=False) a retiring worker is still replaced."""
    _gated_pool(method, shutdown=True, drop_reference=False)


def scenario_shutdown_nowait_dropped(method):
    """gh-119592 + gh-152967: shut down without waiting, then dropped: the rest fails."""
    _gated_pool(method, shutdown=True, drop_reference=True)


def scenario_garbage_collected(method):
    """gh-152967: dropped without shutdown while work is pending; its last worker retires."""
    _gated_pool(method, shutdown=False, drop_reference=True)


def scenario_forced_flag(method):
    """A retirement during terminate/kill_workers() (its flag set, as upstream's test does)."""
    if not hasattr(concurrent.futures.ProcessPoolExecutor, "terminate_workers"):
        finish({"skipped": "no terminate_workers() before 3.14"})
        return
    _gated_pool(method, shutdown=False, drop_reference=False, force_flag=True)


def scenario_forced_kill(method):
    """kill_workers() with a backlog and retiring workers: every future resolves, no worker
    is left alive (a replacement would have escaped the kill), and the flag was set."""
    if not hasattr(concurrent.futures.ProcessPoolExecutor, "kill_workers"):
        finish({"skipped": "no kill_workers() before 3.14"})
        return
    executor = concurrent.futures.ProcessPoolExecutor(
        2, mp_context=mp.get_context(method), max_tasks_per_child=1
    )
    futures = [executor.submit(sleep_return, 0.05, i) for i in range(30)]
    manager_thread = executor._executor_manager_thread
    futures[0].result(timeout=HANG_WINDOW)
    executor.kill_workers()
    out = outcomes(futures)
    # The futures fail before the manager has reaped the killed workers (and a forkserver
    # reports a child's end only once it has reaped it): wait for both, bounded. A worker that
    # escaped the kill waits on the call queue for good, so it is still here after the wait.
    manager_thread.join(HANG_WINDOW)
    deadline = time.monotonic() + 5.0
    while mp.active_children() and time.monotonic() < deadline:
        time.sleep(0.05)
    result = {
        "force_flag": getattr(executor, "_force_shutting_down", None),
        "children_alive": len(mp.active_children()),
    }
    finish(result, out)


def _failing_spawn(method, max_workers, max_tasks, count, allowed):
    global ALLOWED_STARTS
    ALLOWED_STARTS = allowed
    executor = concurrent.futures.ProcessPoolExecutor(
        max_workers, mp_context=counting_context(method), max_tasks_per_child=max_tasks
    )
    futures = [executor.submit(sleep_return, 0.01, i) for i in range(count)]
    manager_thread = executor._executor_manager_thread
    out = outcomes(futures)
    manager_thread.join(HANG_WINDOW)
    result = {"manager_thread_alive": manager_thread.is_alive()}
    try:
        executor.submit(operator.mul, 1, 1)
        result["submit_after"] = "accepted"
    except Exception as exc:
        result["submit_after"] = type(exc).__name__
    finish(result, out)
    executor.shutdown(wait=True)


def scenario_failed_spawn_last(method):
    """The replacement of the only worker cannot start: the queued futures fail."""
    _failing_spawn(method, max_workers=1, max_tasks=1, count=3, allowed=1)


def scenario_failed_spawn_others_remain(method):
    """One replacement cannot start while another worker remains: it keeps draining."""
    _failing_spawn(method, max_workers=2, max_tasks=2, count=6, allowed=2)


def scenario_retire_during_shutdown(method):
    """A worker retiring during shutdown with nothing pending is not replaced."""
    executor = concurrent.futures.ProcessPoolExecutor(
        1, mp_context=counting_context(method), max_tasks_per_child=1
    )
    future = executor.submit(sleep_return, 0.5, 7)
    manager_thread = executor._executor_manager_thread
    executor.shutdown(wait=True)
    manager_thread.join(HANG_WINDOW)
    result = {"manager_thread_alive": manager_thread.is_alive()}
    finish(result, outcomes([future]))


# --- rescue: apply() resumes pools the stock code already stranded ---------------------------

# How long apply() gets to bring every result in. (How long a pool must make no progress to count
# as stranded before apply(): stranded.STILL_WINDOW.)
RESUME_WINDOW = 15.0
# The racing scenario's tail after apply() recycles a worker every 2 tasks, some 30 worker starts
# one after another: under spawn, coverage and a loaded machine (load average 8-12) more than
# RESUME_WINDOW. There a stranded pool is the failure, told by its state; this bounds any other
# hang, inside the parent's deadline (tests/childproc.py, 90 s).
RACING_LIMIT = 45.0


def _progress_stops(futures, managers):
    """Wait until every future is done, or until the pools are stranded (stranded.py: work
    pending and no worker process left in any of them); bounded by HANG_WINDOW. Return how many
    futures are done."""
    return wait_done_or_stranded(futures, managers, HANG_WINDOW)[0]


def _apply_and_resume(result, futures, managers=None):
    """apply(), then time how long the results take; fills result, returns outcomes(). With
    `managers`, the results are waited for while the pools make progress (stranded.py: a
    stranded pool ends the wait at once), up to RACING_LIMIT, instead of RESUME_WINDOW."""
    import backport_gh115634

    started = time.monotonic()
    result["applied"] = backport_gh115634.apply().applied
    if managers is None:
        out = outcomes(futures, timeout=RESUME_WINDOW)
    else:
        _, result["stranded"] = wait_done_or_stranded(futures, managers, RACING_LIMIT)
        out = outcomes(futures, timeout=0)
    result["resumed_in"] = round(time.monotonic() - started, 3)
    return out


def _settle(executors, managers, out):
    """Shut the pools down and join their manager threads before finish() reads the counts, so
    that no intervention is recorded between that read and the log's (a worker retiring after
    the last result is replaced, and counted, until the pool shuts down). Where work is still
    pending, finish() reports the hang instead."""
    if any(item == ["pending"] for item in out):
        return
    for executor in executors:
        executor.shutdown(wait=False)
    for manager in managers:
        manager.join(HANG_WINDOW)


def _recycling_pool(method, max_workers=1):
    return concurrent.futures.ProcessPoolExecutor(
        max_workers, mp_context=mp.get_context(method), max_tasks_per_child=2
    )


def scenario_rescue_stuck(method, pools=1):
    """gh-115634 stranded `pools` pools (1 worker, 2 tasks per child, 8 tasks each) before
    apply(): apply() alone, with no submit(), must bring every result in."""
    executors = [_recycling_pool(method) for _ in range(pools)]
    futures = [executor.submit(operator.mul, i, 2) for executor in executors for i in range(8)]
    managers = [executor._executor_manager_thread for executor in executors]
    result = {
        "expected": [["ok", i * 2] for _ in executors for i in range(8)],
        "done_before_apply": _progress_stops(futures, managers),
        "workers_before_apply": [len(executor._processes) for executor in executors],
    }
    out = _apply_and_resume(result, futures)
    _settle(executors, managers, out)
    finish(result, out)


def scenario_rescue_several(method):
    scenario_rescue_stuck(method, pools=3)


def scenario_rescue_dropped(method):
    """A stranded pool whose executor is then dropped: after apply() its pending work fails
    with BrokenProcessPool (gh-152967) rather than waiting forever."""
    import backport_gh115634

    executor = _recycling_pool(method)
    futures = [executor.submit(operator.mul, i, 2) for i in range(8)]
    counted_when_failed = []

    def note_count(future):
        # Runs as the future resolves: a program woken by the failure reads status() no sooner.
        if not future.cancelled() and future.exception() is not None:
            counts = backport_gh115634.status().interventions
            counted_when_failed.append(counts["gh-152967"])

    for future in futures:
        future.add_done_callback(note_count)
    manager_thread = executor._executor_manager_thread
    result = {
        "done_before_apply": _progress_stops(futures, [manager_thread]),
        "counted_when_failed": counted_when_failed,
    }
    executor_ref = weakref.ref(executor)
    executor = None
    result["collected"] = collect(executor_ref)
    out = _apply_and_resume(result, futures)
    manager_thread.join(HANG_WINDOW)
    result["manager_thread_alive"] = manager_thread.is_alive()
    finish(result, out)


def scenario_rescue_shutdown_nowait(method):
    """shutdown(wait=False) with work queued, then the worker retires: the stock code (pre-fix
    and late 3.13 alike) starts no replacement from the cleared executor state, stranding the
    rest (gh-119592). apply() must bring every result in."""
    executor = _recycling_pool(method)
    futures = [executor.submit(sleep_return, 0.3, i) for i in range(6)]
    manager = executor._executor_manager_thread
    executor.shutdown(wait=False)
    result = {
        "expected": [["ok", i] for i in range(6)],
        "done_before_apply": _progress_stops(futures, [manager]),
    }
    out = _apply_and_resume(result, futures)
    _settle([executor], [manager], out)
    finish(result, out)


def scenario_rescue_racing(method):
    """apply() and revert() from a thread while two pools complete tasks and the main thread
    submits more (the manager threads wake for results and submits meanwhile); the racing ends
    with apply(), which must leave no pool stranded."""
    import backport_gh115634

    executors = [_recycling_pool(method, workers) for workers in (1, 2)]
    stop = threading.Event()
    toggles = []

    def race():
        while not stop.is_set():
            backport_gh115634.revert()
            time.sleep(0.003)
            backport_gh115634.apply()
            toggles.append(1)
            time.sleep(0.01)

    racer = threading.Thread(target=race, name="racer")
    futures = []
    racer.start()
    try:
        for i in range(40):
            for executor in executors:
                futures.append(executor.submit(sleep_return, 0.002, i))
            time.sleep(0.025)
    finally:
        stop.set()
        racer.join(HANG_WINDOW)
    result = {
        "expected": [["ok", i] for i in range(40) for _ in executors],
        "done_before_apply": sum(future.done() for future in futures),
        "toggles": len(toggles),
        "racer_alive": racer.is_alive(),
    }
    managers = [executor._executor_manager_thread for executor in executors]
    out = _apply_and_resume(result, futures, managers)
    result["workers"] = [len(executor._processes) for executor in executors]
    _settle(executors, managers, out)
    finish(result, out)


def main():
    global MODE
    name, method, mode = sys.argv[1:4]
    MODE = mode
    threading.excepthook = _record_thread_error
    logger = logging.getLogger("backport_gh115634")
    logger.addHandler(_LogCapture())
    logger.setLevel(logging.DEBUG)  # routine replacements after the first are DEBUG records
    import backport_gh115634

    if mode == "reverted":
        backport_gh115634.apply()
        backport_gh115634.revert()
    status = backport_gh115634.apply() if mode == "shim" else backport_gh115634.status()
    STATUS.update(
        affected=status.affected,
        applied=status.applied,
        shape=status.shape,
        fixes=dict(status.fixes),
    )
    globals()["scenario_" + name](method)


if __name__ == "__main__":
    main()
