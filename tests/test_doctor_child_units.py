"""The doctor's child program, in this process, on stand-ins: a process table that never stops
changing, multiprocessing and coverage that fail the watchdog, a stop that would os._exit(),
and run() on a stand-in pool whose results never come, or whose status() fails at the end.
Nothing here starts a process or a thread; the child as the doctor runs it is in
test_doctor.py."""

import concurrent.futures
import json
import types

import pytest

from _backport_gh115634 import patch
from backport_gh115634 import _doctor_child as child


class ChangingTable:
    """A process table the manager thread changes whenever someone copies it."""

    def __init__(self):
        self.copies = 0

    def __bool__(self):
        return True

    def values(self):
        self.copies += 1
        raise RuntimeError("dictionary changed size during iteration")


class Raising:
    """Any call on it raises: a module half torn down, a worker closed already."""

    def __init__(self, pid=None):
        self.pid = pid

    def __getattr__(self, name):
        if name == "sentinel":
            raise ValueError("process object is closed")

        def broken(*args, **kwargs):
            raise OSError("%s failed" % name)

        return broken


@pytest.fixture
def no_sleep(monkeypatch):
    slept = []
    monkeypatch.setattr(
        child,
        "time",
        types.SimpleNamespace(sleep=slept.append, monotonic=child.time.monotonic),
    )
    return slept


def test_a_table_that_never_stops_changing_is_given_up_on(no_sleep):
    table = ChangingTable()
    executor = types.SimpleNamespace(_processes=table)
    assert child.pool_workers(executor, {"multiprocessing": Raising()}) == []
    assert table.copies == 50 and len(no_sleep) == 50


def test_stop_workers_that_cannot_be_killed_or_waited_for():
    worker = Raising(pid=4242)
    executor = types.SimpleNamespace(_processes={4242: worker})
    connection = Raising()
    assert child.stop_workers(executor, 1.0, {"multiprocessing.connection": connection}) == (
        [4242],
        [],
    )

    # A sentinel that is there, and a wait that fails on it: the worker is left as not ended.
    worker = types.SimpleNamespace(pid=4243, sentinel=7, kill=lambda: None)
    executor = types.SimpleNamespace(_processes={4243: worker})
    assert child.stop_workers(executor, 1.0, {"multiprocessing.connection": connection}) == (
        [4243],
        [4243],
    )


def coverage_module(current):
    return types.SimpleNamespace(Coverage=types.SimpleNamespace(current=current))


def test_save_coverage_where_nothing_measures_or_it_fails():
    child._save_coverage({"coverage": coverage_module(lambda: None)})  # loaded, not running
    stopped = []
    failing_save = types.SimpleNamespace(stop=lambda: stopped.append(1), save=Raising().save)
    child._save_coverage({"coverage": coverage_module(lambda: failing_save)})  # save() raises
    assert stopped == [1]


def test_a_stop_says_why_and_exits(monkeypatch, capsys):
    exits = []
    monkeypatch.setattr(child, "os", types.SimpleNamespace(_exit=exits.append))
    dog = child.Watchdog(0.0, modules={})
    dog.stop("stranded", 0.0, child.CHILD_STRANDED, pending=3)
    assert exits == [child.CHILD_STRANDED]
    [line] = capsys.readouterr().out.splitlines()
    event = json.loads(line[len(child.LINE_PREFIX) :])
    assert event["event"] == "stranded" and event["pending"] == 3 and event["killed"] == []
    dog.finish()
    dog.stop("deadline", 0.0, child.CHILD_TIMED_OUT)  # finished: never stopped
    assert exits == [child.CHILD_STRANDED]


class StandInPool:
    """A ProcessPoolExecutor stand-in: its futures are done at once, or never (hang)."""

    hang = False

    def __init__(self, max_workers, max_tasks_per_child=None):
        self._processes, self._pending_work_items = {}, {}

    def submit(self, function, *args):
        future = concurrent.futures.Future()
        if not StandInPool.hang:
            future.set_result(function(*args))
        return future

    def shutdown(self, wait=True):
        pass


@pytest.fixture
def stand_in_run(monkeypatch):
    """run() on StandInPool, with no watchdog thread."""
    monkeypatch.setattr(concurrent.futures, "ProcessPoolExecutor", StandInPool)
    monkeypatch.setattr(child.Watchdog, "watch", lambda self, *args: None)
    return {
        "deadline": 60.0,
        "wait": -1.0,  # each result is given up on as soon as it is late
        "stranded_after": 0.0,
        "end_wait": 0.0,
        "import_package": False,
    }


def events(capsys):
    return [
        json.loads(line[len(child.LINE_PREFIX) :])
        for line in capsys.readouterr().out.split("\n")
        if line
    ]


def test_a_result_that_never_comes_raises_once_given_up_on(stand_in_run, monkeypatch, capsys):
    monkeypatch.setattr(StandInPool, "hang", True)
    with pytest.raises(concurrent.futures.TimeoutError):
        child.run(stand_in_run)
    assert [event["event"] for event in events(capsys)] == ["start"]


def test_a_status_that_fails_at_the_end_is_reported(stand_in_run, monkeypatch, capsys):
    def broken():
        raise RuntimeError("cannot inspect")

    monkeypatch.setattr(patch, "status", broken)
    child.run(stand_in_run)
    seen = events(capsys)
    assert [event["event"] for event in seen] == ["start"] + ["result"] * child.TASKS + ["done"]
    assert seen[-1]["results"] == [i * 2 for i in range(child.TASKS)]
    assert seen[-1]["interventions"] == "RuntimeError: cannot inspect"
