"""What users built on the stock pool keeps working beside the shim: ``subclass.py NAME MODE``,
MODE "shim" (apply() first) or "stock". The last line printed is ``SUBCLASS-RESULT: {json}``;
tests/test_subclass.py gives each run a hard deadline.

- own_loop: a subclass whose _spawn_process starts its workers on a loop of its own (task queues
  do this to recycle by memory as well as by count). Every task must run on that loop.
- own_adjust (replacing / delegating): subclasses that work around gh-115634 themselves by
  overriding _adjust_process_count, without or with super(). Every future resolves, and never
  more than max_workers processes run at once.
"""

import json
import multiprocessing
import operator
import os
import sys
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures import TimeoutError as ResultTimeout  # not the builtin before 3.11
from concurrent.futures import process as pool_module

RESULT_PREFIX = "SUBCLASS-RESULT: "
WAIT = 30.0
OWN_LOOP = "BACKPORT_TEST_OWN_LOOP"


def own_worker(*args):
    """The subclass's worker loop: marks the process, then runs the stock one."""
    os.environ[OWN_LOOP] = str(os.getpid())
    pool_module._process_worker(*args)


def which_loop(value):
    return [value, os.environ.get(OWN_LOOP) == str(os.getpid())]


class OwnLoopPool(ProcessPoolExecutor):
    def _spawn_process(self):
        worker = self._mp_context.Process(
            target=own_worker,
            args=(
                self._call_queue,
                self._result_queue,
                self._initializer,
                self._initargs,
                self._max_tasks_per_child,
            ),
        )
        worker.start()
        self._processes[worker.pid] = worker


class ReplacingPool(ProcessPoolExecutor):
    """Works around gh-115634 by never trusting the idle-worker semaphore."""

    def _adjust_process_count(self):
        if self._processes is not None and len(self._processes) < self._max_workers:
            self._spawn_process()


class DelegatingPool(ProcessPoolExecutor):
    """Works around gh-115634 by counting processes before the semaphore: a worker short after
    an exit is replaced on the manager thread; otherwise the stock logic decides."""

    def _adjust_process_count(self):
        if (
            self._processes is not None
            and len(self._processes) < self._max_workers
            and threading.current_thread() is self._executor_manager_thread
        ):
            self._spawn_process()
            return
        super()._adjust_process_count()


class Monitor(threading.Thread):
    """Samples how many worker processes an executor has, until stopped."""

    def __init__(self, executor):
        super().__init__(daemon=True)
        self.executor, self.most, self.stop = executor, 0, threading.Event()

    def run(self):
        while not self.stop.is_set():
            processes = self.executor._processes
            if processes is not None:
                alive = sum(1 for process in list(processes.values()) if process.is_alive())
                self.most = max(self.most, alive)
            time.sleep(0.002)


def run_pool(cls, workers, max_tasks, tasks, function):
    executor = cls(
        workers, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=max_tasks
    )
    monitor = Monitor(executor)
    monitor.start()
    futures = [executor.submit(function, i) for i in range(tasks)]
    deadline = time.monotonic() + WAIT
    out = []
    for future in futures:
        try:
            out.append(["ok", future.result(timeout=max(0.0, deadline - time.monotonic()))])
        except ResultTimeout:
            out.append(["pending"])
        except Exception as exc:
            out.append(["error", type(exc).__name__])
    monitor.stop.set()
    monitor.join(5)
    pending = ["pending"] in out
    if pending:
        for process in list((executor._processes or {}).values()):
            process.kill()
    executor.shutdown(wait=not pending, cancel_futures=pending)
    return out, monitor.most


def report(**fields):
    fields["interventions"] = dict(sys.modules["backport_gh115634"].status().interventions)
    print(RESULT_PREFIX + json.dumps(fields), flush=True)


def scenario_own_loop():
    out, most = run_pool(OwnLoopPool, 2, 1, 12, which_loop)
    on_own = sum(1 for item in out if item[0] == "ok" and item[1][1])
    report(outcomes=[item[:1] for item in out], on_own_loop=on_own, tasks=len(out), most=most)


def scenario_own_loop_after_shutdown_nowait():
    """After shutdown(wait=False) the executor's state is gone: the queued work still runs,
    on stock workers started from the manager's state (docs/subclasses.md says so)."""
    executor = OwnLoopPool(
        1, mp_context=multiprocessing.get_context("spawn"), max_tasks_per_child=1
    )
    futures = [executor.submit(which_loop, i) for i in range(4)]
    executor.shutdown(wait=False)
    deadline = time.monotonic() + WAIT
    out = []
    for future in futures:
        try:
            out.append(["ok", future.result(timeout=max(0.0, deadline - time.monotonic()))])
        except ResultTimeout:
            out.append(["pending"])
        except Exception as exc:
            out.append(["error", type(exc).__name__])
    report(outcomes=[item[:1] for item in out])


def scenario_own_adjust(cls):
    out, most = run_pool(cls, 2, 2, 16, operator.neg)
    report(ok=out == [["ok", -i] for i in range(16)], outcomes=out, most=most, max_workers=2)


if __name__ == "__main__":
    name, mode = sys.argv[1:3]
    import backport_gh115634

    backport_gh115634.apply() if mode == "shim" else backport_gh115634.status()
    if name == "replacing":
        scenario_own_adjust(ReplacingPool)
    elif name == "delegating":
        scenario_own_adjust(DelegatingPool)
    else:
        globals()["scenario_" + name]()
