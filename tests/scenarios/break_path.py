"""A pool that breaks (a worker killed) while work is queued: ``break_path.py NAME MODE``, MODE
"shim" (apply() first) or "stock". The last line printed is ``BREAK-RESULT: {json}``;
tests/test_break_path.py gives each run a hard deadline.

3.11's terminate_broken() (PyPy 3.11 ships the same code) runs without the shutdown lock that
submit() holds, and dies on a cancelled future; 3.12 fixed both. These scenarios make each
window certain instead of likely: the first by holding a submit() inside its critical section
(between its broken check and queueing its work) until the manager has marked the pool broken.
"""

import json
import multiprocessing
import operator
import os
import signal
import sys
import threading
import time
from concurrent import futures

sys.path.append(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # tests/
from stranded import running_in

RESULT_PREFIX = "BREAK-RESULT: "
WAIT = 10.0
THREAD_ERRORS = []


def report(**fields):
    fields["thread_errors"] = list(THREAD_ERRORS)
    print(RESULT_PREFIX + json.dumps(fields), flush=True)


def _record_thread_error(args):
    THREAD_ERRORS.append(
        "%s in %s: %s" % (args.exc_type.__name__, getattr(args.thread, "name", "?"), args.exc_value)
    )


def outcome(future, deadline):
    try:
        return ["ok", future.result(timeout=max(0.0, deadline - time.monotonic()))]
    except futures.TimeoutError:  # not the builtin before 3.11
        return ["pending"]
    except Exception as exc:
        return ["error", type(exc).__name__]


def settled(manager):
    """The deadline for reading outcomes, once the manager thread has ended or had WAIT to:
    after it, nobody is left to resolve a future (the stock thread died, ours failed them all
    before ending), so one still pending stays so. A short grace, not a whole WAIT more."""
    manager.join(WAIT)
    return time.monotonic() + 0.5


def kill_workers(executor):
    for process in list(executor._processes.values()):
        os.kill(process.pid, signal.SIGKILL)


def finish(executor, manager, **fields):
    manager.join(WAIT)
    fields["manager_alive"] = manager.is_alive()
    fields["status"] = STATUS
    fields["interventions"] = dict(sys.modules["backport_gh115634"].status().interventions)
    report(**fields)
    # A stuck manager joins a worker nobody terminated: end the process without waiting for it.
    for child in multiprocessing.active_children():
        child.kill()
    os._exit(0)


def scenario_submit_during_break(executor_cls):
    """A submit() past its broken check when the manager starts tearing the pool down.

    The manager is held as it calls terminate_broken() (whatever is there: the stdlib's, or our
    seam), after it drained the wake-up pipe (under the shutdown lock before 3.11.5); then a
    submit() is held inside its critical section, past its broken check; then the manager goes
    on, and the submit() a little later."""
    import concurrent.futures.process as process

    executor = executor_cls(1, mp_context=multiprocessing.get_context("spawn"))
    executor.submit(operator.mul, 1, 2).result(timeout=WAIT)  # the manager and a worker are up
    manager = executor._executor_manager_thread
    manager_cls = process._ExecutorManagerThread
    terminate_broken = manager_cls.terminate_broken
    at_break, go = threading.Event(), threading.Event()

    def held_terminate_broken(self, *args, **kwargs):
        at_break.set()
        go.wait(WAIT)
        return terminate_broken(self, *args, **kwargs)

    manager_cls.terminate_broken = held_terminate_broken
    entered, release = threading.Event(), threading.Event()
    work_item = process._WorkItem

    def gated_work_item(*args, **kwargs):
        # Called by submit() under the shutdown lock, after the broken check, before the work
        # item is queued: hold that thread here.
        if threading.current_thread().name == "gated submit":
            entered.set()
            release.wait(WAIT)
        return work_item(*args, **kwargs)

    process._WorkItem = gated_work_item
    box = {}

    def gated_submit():
        try:
            box["future"] = executor.submit(operator.mul, 3, 2)
        except Exception as exc:
            box["error"] = "%s: %s" % (type(exc).__name__, exc)

    kill_workers(executor)
    at_break.wait(WAIT)
    submitter = threading.Thread(target=gated_submit, name="gated submit", daemon=True)
    submitter.start()
    entered.wait(WAIT)
    go.set()
    # 3.11 marks the pool broken without the lock; 3.12 takes the lock first, and waits for us.
    end = time.monotonic() + 2.0
    while not executor._broken and time.monotonic() < end:
        time.sleep(0.01)
    marked_before_release = bool(executor._broken)
    if marked_before_release:
        # Until the manager blocks on the lock the held submit() holds: the stock 3.11 one in
        # join_executor_internals(), after it failed and cleared the pending work; our seam in
        # before_break(), before it does.
        end = time.monotonic() + WAIT
        blocked = ("join_executor_internals", "before_break")
        while manager.is_alive() and not running_in(manager, blocked):
            if time.monotonic() > end:
                break
            time.sleep(0.01)
    release.set()
    submitter.join(WAIT)
    deadline = settled(manager)
    future = box.get("future")
    finish(
        executor,
        manager,
        marked_before_release=marked_before_release,
        submitter_alive=submitter.is_alive(),
        submit_error=box.get("error"),
        gated=outcome(future, deadline) if future is not None else None,
    )


def scenario_cancelled_in_queue(executor_cls):
    """A cancelled future among the pending ones when the pool breaks."""
    executor = executor_cls(1, mp_context=multiprocessing.get_context("spawn"))
    executor.submit(operator.mul, 1, 2).result(timeout=WAIT)
    manager = executor._executor_manager_thread
    # Running when the worker is killed, however late that is: it never ends by itself.
    futures = [executor.submit(time.sleep, 3600)]
    futures += [executor.submit(operator.mul, i, 2) for i in range(6)]
    time.sleep(0.3)  # the first two are in the call queue; the others wait in the pool
    cancelled = futures[5].cancel()
    kill_workers(executor)
    deadline = settled(manager)
    finish(
        executor,
        manager,
        cancelled=cancelled,
        outcomes=[outcome(future, deadline) for future in futures],
    )


STATUS = {}

if __name__ == "__main__":
    threading.excepthook = _record_thread_error
    name, mode = sys.argv[1:3]
    from concurrent.futures import ProcessPoolExecutor

    import backport_gh115634

    status = backport_gh115634.apply() if mode == "shim" else backport_gh115634.status()
    STATUS.update(applied=status.applied, fixes=dict(status.fixes))
    globals()["scenario_" + name](ProcessPoolExecutor)
