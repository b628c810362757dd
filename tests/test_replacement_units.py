"""WorkerReplacement driven in this process on stand-in pools, no worker started: a subclass's
own _spawn_process failing (with the executor's state intact, or cleared by shutdown(wait=False)
while it ran), 3.11's break path on a stdlib that needs only part of it, and futures cancelled
before the pool fails them.

The futures are real concurrent.futures ones; the pool module, its executor and its manager
are stand-ins. What would be counted and logged (interventions.count, log) is recorded instead,
so the process's own counts are left alone.
"""

import concurrent.futures
import concurrent.futures.process as process
import threading
import types

import pytest

from _backport_gh115634 import detect, interventions
from _backport_gh115634.replacement import (
    FORCED_SHUTDOWN,
    STOCK_BROKEN_FUTURE,
    WorkerReplacement,
)


class StockExecutor:
    def _spawn_process(self):
        raise AssertionError("the stock _spawn_process is not called from the manager")


@pytest.fixture
def pool():
    """A stand-in pool module: the stdlib's exceptions, and a _spawn_worker that records."""
    module = types.SimpleNamespace(
        ProcessPoolExecutor=StockExecutor,
        BrokenProcessPool=process.BrokenProcessPool,
        _RemoteTraceback=process._RemoteTraceback,
        _base=process._base,
        spawned=[],
    )
    module._spawn_worker = lambda *args: module.spawned.append(args)
    return module


@pytest.fixture
def logged(monkeypatch):
    """What interventions would count and log: [(what, fix, level or text)]."""
    seen = []

    def count(fix, routine=False):
        seen.append(("count", fix, routine))
        return 10

    monkeypatch.setattr(interventions, "count", count)
    monkeypatch.setattr(
        interventions, "log", lambda level, fix, message: seen.append(("log", fix, message()))
    )
    return seen


def make_manager(pending=(), processes=()):
    return types.SimpleNamespace(
        name="manager-under-test",
        pending_work_items=dict(pending),
        processes=dict.fromkeys(processes),
        call_queue=object(),
        result_queue=object(),
        max_tasks_per_child=2,
        shutdown_lock=threading.Lock(),
        executor_reference=lambda: None,
    )


def subclass_executor(manager, spawn_process):
    """An executor of a user's subclass with its own _spawn_process, its state the manager's."""
    executor = type("OwnSpawn", (StockExecutor,), {"_spawn_process": spawn_process})()
    executor._processes = manager.processes
    executor._call_queue = manager.call_queue
    executor._result_queue = manager.result_queue
    executor._mp_context = "a context"
    executor._initializer, executor._initargs = None, ()
    return executor


def work_item(cancelled=False):
    future = concurrent.futures.Future()
    if cancelled:
        assert future.cancel()
    return types.SimpleNamespace(future=future)


def test_a_subclass_spawn_failure_with_its_state_intact_is_a_failed_spawn(pool):
    manager = make_manager()

    def _spawn_process(self):
        raise OSError("the subclass could not start a worker")

    executor = subclass_executor(manager, _spawn_process)
    with pytest.raises(OSError, match="the subclass could not start"):
        WorkerReplacement(pool).spawn(manager, executor)
    assert pool.spawned == []


def test_a_subclass_spawn_cut_short_by_shutdown_starts_a_stock_worker(pool):
    manager = make_manager()

    def _spawn_process(self):
        self._processes = self._call_queue = self._result_queue = None  # shutdown(wait=False)
        raise AttributeError("'NoneType' object has no attribute 'put'")

    executor = subclass_executor(manager, _spawn_process)
    WorkerReplacement(pool).spawn(manager, executor)
    assert pool.spawned == [
        ("a context", manager.call_queue, manager.result_queue, None, (), 2, manager.processes)
    ]


def test_a_forced_shutdown_fails_the_work_instead_of_spawning(pool):
    manager = make_manager(pending={0: work_item()})
    executor = types.SimpleNamespace(_force_shutting_down=True, _max_workers=1)
    verdict = WorkerReplacement(pool).after_exit(manager, executor)
    assert verdict == ("forced-shutdown", None, FORCED_SHUTDOWN)
    assert pool.spawned == []


def test_before_break_where_neither_fix_is_missing_leaves_the_pool_to_the_stdlib(pool, logged):
    detection = detect.Detection(
        detect.PRE_FIX, {"gh-109047": detect.NATIVE, "cancelled-future": detect.NATIVE}, "test"
    )
    item = work_item()
    manager = make_manager(pending={0: item})
    WorkerReplacement(pool, detection).before_break(manager, None)
    assert not item.future.done() and list(manager.pending_work_items) == [0]
    assert logged == []


def test_before_break_passes_over_a_cancelled_future(pool, logged):
    # A stdlib that locks its break path but dies on a cancelled future.
    detection = detect.Detection(
        detect.PRE_FIX, {"gh-109047": detect.NATIVE, "cancelled-future": detect.MISSING}, "test"
    )
    cancelled, pending = work_item(cancelled=True), work_item()
    manager = make_manager(pending={0: cancelled, 1: pending})
    WorkerReplacement(pool, detection).before_break(manager, ["Traceback: the worker died\n"])
    assert manager.pending_work_items == {}
    assert cancelled.future.cancelled()
    error = pending.future.exception(timeout=0)
    assert isinstance(error, process.BrokenProcessPool) and str(error) == STOCK_BROKEN_FUTURE
    assert "the worker died" in str(error.__cause__)
    assert [entry[:2] for entry in logged] == [
        ("count", "cancelled-future"),
        ("log", "cancelled-future"),
    ]
    assert "1 cancelled futures" in logged[1][2]
    assert not manager.shutdown_lock.locked()


def test_fail_pending_passes_over_a_future_cancelled_in_the_meantime(pool, logged):
    executor = types.SimpleNamespace(_broken=False)
    cancelled, pending = work_item(cancelled=True), work_item()
    manager = make_manager(pending={0: cancelled, 1: pending})
    manager.executor_reference = lambda: executor
    verdict = ("failed-spawn", ["Traceback: no fork\n"], "no worker could start")
    WorkerReplacement(pool).fail_pending(manager, verdict)
    assert executor._broken == "no worker could start"
    assert manager.pending_work_items == {}
    assert cancelled.future.cancelled()
    error = pending.future.exception(timeout=0)
    assert isinstance(error, process.BrokenProcessPool) and "no fork" in str(error.__cause__)
    assert [entry[:2] for entry in logged] == [("count", "failed-spawn"), ("log", "failed-spawn")]
    assert "failed 1 pending futures" in logged[1][2]
