"""The seams built by seams.build(), driven in this process on stand-in classes, no pool: the
paths a healthy pool does not take (our error caught and the stock code run instead, the stock
code failing too, a forced shutdown, a call from a thread that is no manager), and which seams
a shape asks for.

Each test builds its own seams from a stand-in pool module, so nothing is put on the stdlib's
classes; what the seams report (interventions.internal_error, flush) and the thread they look
at are replaced for the test only.
"""

import threading
import types

import pytest

from _backport_gh115634 import detect, interventions, seams


class Executor:
    """Stands in for ProcessPoolExecutor: each stdlib method records its call."""

    def __init__(self, calls):
        self.calls = calls
        self._shutdown_lock = threading.Lock()

    def _adjust_process_count(self):
        self.calls.append("stock _adjust_process_count")

    def _replace_dead_worker(self):
        self.calls.append("stock _replace_dead_worker")

    def _force_shutdown(self, operation):
        self.calls.append("stock _force_shutdown %s" % operation)


class Manager:
    """Stands in for _ExecutorManagerThread: the state the seams read, and its stdlib methods."""

    def __init__(self, calls, pending=(), processes=()):
        self.calls = calls
        self.pending_work_items = dict.fromkeys(pending)
        self.processes = dict.fromkeys(processes)
        self.shutdown_lock = threading.Lock()
        self.executor_reference = lambda: None

    def wait_result_broken_or_wakeup(self):
        self.calls.append("stock wait")
        return None, False, None

    def terminate_broken(self, cause):
        self.calls.append("stock terminate_broken %s" % cause)
        return "torn down"


def raising(message):
    def function(*args, **kwargs):
        raise RuntimeError(message)

    return function


@pytest.fixture
def pool(monkeypatch):
    """A stand-in pool module, with what the seams report recorded in .errors and .flushes."""
    process = types.ModuleType("pool_module_under_test")
    process.ProcessPoolExecutor = type("ProcessPoolExecutor", (Executor,), {})
    process._ExecutorManagerThread = type("_ExecutorManagerThread", (Manager,), {})
    process.errors, process.flushes = [], []
    monkeypatch.setattr(
        interventions,
        "internal_error",
        lambda doing, exc: process.errors.append((doing, str(exc))),
    )
    monkeypatch.setattr(interventions, "flush", lambda: process.flushes.append(1))
    return process


def build(pool, monkeypatch, names, on_thread=None, **replacement):
    """Seams for the given (class name, attribute) pairs; on_thread: what current_thread()
    returns to them (else the real one)."""
    if on_thread is not None:
        monkeypatch.setattr(
            seams, "threading", types.SimpleNamespace(current_thread=lambda: on_thread)
        )
    originals = {}
    for class_name, name in names:
        owner = getattr(pool, class_name)
        originals[owner, name] = getattr(owner, name)
    for name in ("after_exit", "rescue", "fail_pending", "before_break"):
        replacement.setdefault(name, raising("not reached: %s" % name))
    built = seams.build(pool, types.SimpleNamespace(**replacement), originals)
    assert set(built) == set(originals)
    return {name: function for (_, name), function in built.items()}


def test_on_the_exit_path_a_failing_stock_fallback_is_reported_too(pool, monkeypatch):
    calls = []
    manager = pool._ExecutorManagerThread(calls)
    manager.__dict__[seams.EXIT_ATTR] = 4242  # a worker's last result, and it has left
    stock = raising("the stock code fails after shutdown(wait=False)")
    pool.ProcessPoolExecutor._adjust_process_count = stock
    built = build(
        pool,
        monkeypatch,
        [("ProcessPoolExecutor", "_adjust_process_count")],  # no wait seam: a reload
        on_thread=manager,
        after_exit=raising("ours fails"),
    )
    adjust = built["_adjust_process_count"]
    assert adjust.__wrapped__ is stock and adjust.__module__ == seams.__name__
    assert adjust.__qualname__ == "ProcessPoolExecutor._adjust_process_count"
    assert adjust(pool.ProcessPoolExecutor(calls)) is None
    assert pool.errors == [
        ("replacing a retired worker", "ours fails"),
        ("running the stdlib's code instead", "the stock code fails after shutdown(wait=False)"),
    ]
    assert manager.__dict__[seams.EXIT_ATTR] is None  # the exit path is taken once


def test_no_worker_is_started_once_a_forced_shutdown_began(pool, monkeypatch):
    calls = []
    manager = pool._ExecutorManagerThread(calls)  # its last wait returned no exiting worker
    built = build(
        pool,
        monkeypatch,
        [("ProcessPoolExecutor", "_adjust_process_count")],
        on_thread=manager,
        after_exit=raising("not the exit path"),
    )
    executor = pool.ProcessPoolExecutor(calls)
    executor._force_shutting_down = True
    assert built["_adjust_process_count"](executor) is None
    assert calls == [] and pool.errors == []
    executor._force_shutting_down = False
    built["_adjust_process_count"](executor)
    assert calls == ["stock _adjust_process_count"]


def test_replace_dead_worker_off_a_manager_thread_is_the_stock_one(pool, monkeypatch):
    calls = []
    built = build(
        pool,
        monkeypatch,
        [("ProcessPoolExecutor", "_replace_dead_worker")],
        after_exit=raising("only on a manager thread"),
    )
    # The real current thread: no manager of this module, nor of a reload of it.
    built["_replace_dead_worker"](pool.ProcessPoolExecutor(calls))
    assert calls == ["stock _replace_dead_worker"] and pool.errors == []


def test_a_failing_check_before_the_wait_lets_the_stock_wait_run(pool, monkeypatch):
    calls = []
    manager = pool._ExecutorManagerThread(calls, pending=[0, 1])  # and no worker alive
    built = build(
        pool,
        monkeypatch,
        [("_ExecutorManagerThread", "wait_result_broken_or_wakeup")],
        rescue=raising("the rescue fails"),
    )
    assert built["wait_result_broken_or_wakeup"](manager) == (None, False, None)
    assert calls == ["stock wait"]
    assert pool.errors == [
        ("checking the pool before the manager thread waits", "the rescue fails")
    ]
    assert manager.__dict__[seams.EXIT_ATTR] is None  # a wake-up: no exiting worker
    assert not manager.shutdown_lock.locked()


class SpawnWhileWaitingForLock:
    """A shutdown lock that a submit() holds while it spawns: by the time the waiting thread
    gets it, the manager has a worker (the state the unlocked check saw has changed)."""

    def __init__(self, manager):
        self.manager, self.lock = manager, threading.Lock()

    def __enter__(self):
        self.lock.acquire()
        self.manager.processes[4243] = None  # the submit() before us spawned a worker
        return self

    def __exit__(self, *exc_info):
        self.lock.release()


def test_the_rescue_rechecks_under_the_shutdown_lock(pool, monkeypatch):
    calls, rescued = [], []
    manager = pool._ExecutorManagerThread(calls, pending=[0])  # and no worker alive, unlocked
    manager.shutdown_lock = SpawnWhileWaitingForLock(manager)
    built = build(
        pool,
        monkeypatch,
        [("_ExecutorManagerThread", "wait_result_broken_or_wakeup")],
        rescue=lambda *args: rescued.append(args),
    )
    assert built["wait_result_broken_or_wakeup"](manager) == (None, False, None)
    # Under the lock the pool has a worker: no rescue, no verdict, the stock wait runs.
    assert rescued == [] and calls == ["stock wait"] and pool.errors == []
    assert not manager.shutdown_lock.lock.locked()


def test_a_failing_before_break_still_tears_the_pool_down(pool, monkeypatch):
    calls = []
    built = build(
        pool,
        monkeypatch,
        [("_ExecutorManagerThread", "terminate_broken")],
        before_break=raising("failing the futures fails"),
    )
    manager = pool._ExecutorManagerThread(calls)
    assert built["terminate_broken"](manager, cause=["a traceback"]) == "torn down"
    assert calls == ["stock terminate_broken ['a traceback']"]
    assert pool.errors == [("failing the work of a broken pool", "failing the futures fails")]
    assert pool.flushes == [1]


def test_force_shutdown_flags_the_pool_only_for_the_operations_it_knows(pool, monkeypatch):
    pool._SHUTDOWN_CALLBACK_OPERATION = {"terminate", "kill"}
    calls = []
    built = build(pool, monkeypatch, [("ProcessPoolExecutor", "_force_shutdown")])
    executor = pool.ProcessPoolExecutor(calls)
    built["_force_shutdown"](executor, "something else")
    assert not getattr(executor, "_force_shutting_down", False)
    built["_force_shutdown"](executor, "kill")
    assert executor._force_shutting_down is True and not executor._shutdown_lock.locked()
    assert calls == ["stock _force_shutdown something else", "stock _force_shutdown kill"]


@pytest.mark.parametrize(
    ("shape", "fixes", "expected"),
    [
        (detect.UPSTREAM, {}, ["wait_result_broken_or_wakeup", "_force_shutdown"]),
        (
            detect.PRE_FIX,
            {"gh-109047": detect.MISSING},
            [
                "wait_result_broken_or_wakeup",
                "_adjust_process_count",
                "_force_shutdown",
                "terminate_broken",
            ],
        ),
        (
            detect.FIX_1_ONLY,
            {},
            ["wait_result_broken_or_wakeup", "_replace_dead_worker", "_force_shutdown"],
        ),
    ],
)
def test_seam_names_per_shape(pool, shape, fixes, expected):
    names = seams.seam_names(pool, detect.Detection(shape, fixes, "a test"))
    assert [name for _, name in names] == expected
    pool.ProcessPoolExecutor._force_shutdown = None  # before 3.14: no terminate_workers()
    names = seams.seam_names(pool, detect.Detection(shape, fixes, "a test"))
    assert "_force_shutdown" not in [name for _, name in names]
