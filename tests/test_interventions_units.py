"""Unit tests of the interventions module in this process, no pool: what is counted, what is
queued (only what a handler may take), how a flush spends the handlers' time credit, what a
raising handler costs, and the clean slate of a forked child."""

import logging
import threading
import time
import types

import pytest

from _backport_gh115634 import interventions

GLOBALS = (
    "_lock",
    "_routine_seen",
    "_queued",
    "_done",
    "dropped",
    "last_internal_error",
    "_credit",
    "_credit_at",
)


class Recorder(logging.Handler):
    def __init__(self, fail=False):
        super().__init__(logging.DEBUG)
        self.records, self.fail = [], fail

    def emit(self, record):
        if self.fail:
            raise RuntimeError("a handler in trouble")
        self.records.append((record.levelname, record.getMessage(), threading.current_thread()))


@pytest.fixture
def fresh(monkeypatch):
    """The module as a new process has it, and the process's own state put back afterwards."""
    for name in GLOBALS:
        monkeypatch.setattr(interventions, name, getattr(interventions, name))
    monkeypatch.setattr(interventions, "_counts", dict.fromkeys(interventions.NAMES, 0))
    pending = list(interventions._pending)
    interventions._pending.clear()
    interventions._after_fork_in_child()
    logger = logging.getLogger(interventions.LOGGER_NAME)
    level, propagate = logger.level, logger.propagate
    yield logger
    logger.setLevel(level)
    logger.propagate = propagate
    for handler in list(logger.handlers):
        if isinstance(handler, Recorder):
            logger.removeHandler(handler)
    interventions._pending.clear()
    interventions._pending.extend(pending)


def listen(logger, level=logging.DEBUG, **kwargs):
    handler = Recorder(**kwargs)
    logger.addHandler(handler)
    logger.setLevel(level)
    logger.propagate = False
    return handler


def test_a_record_no_handler_takes_is_counted_and_never_built(fresh):
    fresh.setLevel(logging.WARNING)
    built = []
    interventions.record("gh-115634", lambda: built.append(1) or "text", routine=True)
    assert interventions.snapshot()["gh-115634"] == 1
    assert built == [] and not interventions._pending
    # The first routine record of the process was spent on nobody: the next is DEBUG.
    assert interventions.count("gh-119592", routine=True) == logging.DEBUG


def test_records_are_emitted_by_the_flushing_thread_in_order(fresh):
    handler = listen(fresh)
    interventions.record("gh-115634", lambda: "first", routine=True)
    interventions.record("gh-115634", lambda: "second", routine=True)
    interventions.record("gh-152967", lambda: "failed")
    assert handler.records == []  # queued only: the caller may hold a pool's lock
    interventions.flush()
    assert [(level, text.split(": ", 1)[1][:6]) for level, text, _ in handler.records] == [
        ("INFO", "first "),
        ("DEBUG", "second"),
        ("WARNING", "failed"),
    ]
    assert handler.records[0][1].endswith(interventions.FIRST_ROUTINE_NOTE)
    assert {thread for _, _, thread in handler.records} == {threading.current_thread()}
    assert interventions.drain(1.0) is True


def test_a_raising_handler_costs_its_record(fresh):
    listen(fresh, fail=True)
    interventions.record("gh-152967", lambda: "failed")
    interventions.flush()  # never raises
    assert interventions.dropped == 1 and not interventions._pending
    assert interventions.drain(1.0) is True


def test_a_spent_credit_drops_records_and_refills_with_time(fresh, monkeypatch):
    handler = listen(fresh)
    clock = [1000.0]
    monkeypatch.setattr(
        interventions, "time", types.SimpleNamespace(monotonic=lambda: clock[0], sleep=time.sleep)
    )
    interventions._credit, interventions._credit_at = 0.0, clock[0]
    interventions.record("gh-152967", lambda: "no credit")
    interventions.flush()
    assert handler.records == [] and interventions.dropped == 1
    # A tenth of the time refills it: 1 s later, 0.1 s of handler time is there again.
    clock[0] += 1.0
    interventions.record("gh-152967", lambda: "credit again")
    interventions.flush()
    assert [text.split(": ", 1)[1] for _, text, _ in handler.records] == ["credit again"]
    # Never more than the burst, however long the pause.
    clock[0] += 3600.0
    interventions.record("gh-152967", lambda: "after a pause")
    interventions.flush()
    assert interventions._credit == interventions.FLUSH_BUDGET


def test_drain_waits_only_so_long_for_a_record_another_thread_took(fresh):
    interventions._queued += 1  # taken from the queue by a thread still emitting it
    assert interventions.drain(0.05) is False


def test_an_internal_error_is_kept_and_logged_where_wanted(fresh):
    fresh.setLevel(logging.CRITICAL)
    interventions.internal_error("testing", ValueError("boom"))
    assert "ValueError: boom" in interventions.last_internal_error
    assert not interventions._pending
    handler = listen(fresh, level=logging.WARNING)
    interventions.internal_error("testing again", KeyError("k"))
    interventions.flush()
    assert [level for level, _, _ in handler.records] == ["WARNING"]


def test_a_forked_child_starts_from_a_clean_slate(fresh):
    listen(fresh)
    interventions.record("gh-115634", lambda: "parent's", routine=True)
    interventions.internal_error("testing", ValueError("parent's"))
    interventions._lock.acquire()  # held by some thread of the parent at the fork
    held = interventions._lock
    try:
        interventions._after_fork_in_child()
    finally:
        held.release()
    assert interventions._lock is not held and not interventions._lock.locked()
    assert sum(interventions.snapshot().values()) == 0
    assert not interventions._pending and interventions.last_internal_error is None
    assert (interventions._queued, interventions._done, interventions.dropped) == (0, 0, 0)
    # The child's first routine record is its own first: INFO.
    assert interventions.count("gh-115634", routine=True) == logging.INFO


def test_a_platform_without_register_at_fork(windows_copy):
    copy = windows_copy(interventions)  # its exit flush is not registered: the copy is ours
    assert sum(copy.snapshot().values()) == 0 and copy._lock is not interventions._lock
