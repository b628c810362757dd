"""What the shim did that the stock stdlib would not have: a count per fix, and one log record each.

Only rare paths record (a worker replacement the stock code would have skipped, futures failed
instead of left pending forever, a stranded pool given a worker), never the per-task path.

What a program sees of this module is what a fixed CPython shows, plus what it asks for: the
counts in ``status()``, and the records its logging configuration enables. So:

- No thread of ours. Recording happens on a pool's manager thread, often under the pool's shutdown
  lock, where no user code (a handler, a filter) may run. record() counts, asks the logger whether
  any handler would take the record (``isEnabledFor``: a record nobody takes costs nothing more,
  not even its message), and queues it. The same manager thread emits the queue (flush()) at a
  point of its loop where it holds no lock: before it waits (seams.py), after it failed the
  pending futures of a broken pool, after 3.11's teardown. The stdlib itself logs on that thread
  (a done-callback's exception), outside its locks, as we do. Whatever no manager reached is
  emitted at exit (atexit).
- Bounded: the handlers may take a burst of ``FLUSH_BUDGET`` seconds, then ``FLUSH_SHARE`` of the
  time; a record that finds the credit spent is dropped and counted in ``dropped``, as is a record
  whose handler or filter raised. A slow log sink costs records, never more than that of a pool's
  progress or of the exit. (A handler that never returns blocks the thread that calls it, as it
  would block the stdlib's own records on that thread.)
- Per process: a forked child starts from a clean slate (no counts, no queue, new lock), as the
  counts and records are the parent's (``os.register_at_fork``).

Levels, for a production service that leaves INFO on:

- what a fixed stdlib does silently (the replacements of gh-115634 and gh-119592; on 3.11 a
  break path closed to a racing submit(), gh-109047, or passing over a cancelled future): DEBUG,
  except the first one in the process, at INFO, which says so (under a backlog replacements come
  once per retired worker, and must not flood a log);
- WARNING where something needs a look: futures failed with BrokenProcessPool (gh-152967, failed
  spawn, forced shutdown), a worker that could not start, a pool found stranded and rescued, and
  an error of ours caught on a manager thread.

No handler is added; without one, logging's last resort prints WARNING records (not INFO or
DEBUG) to stderr, message only, so each message names the package as well as the fix and pool.

Concurrency: ``_lock`` guards the counts, the first-routine flag and the two record tallies
(``_queued``, ``_done``), and is a leaf held for integer increments only (no allocation of a
collectable object, so no garbage collection, and with it no finaliser, can run while it is held).
The queue is a deque, whose append and popleft are atomic: records from several manager threads
may be emitted by any of them, each exactly once. ``isEnabledFor`` may take logging's own module
lock (on a cache miss), under a pool's lock: logging never takes a pool's lock, so no cycle.
snapshot() reads each count without the lock: every count is exact, the set of counts is not one
instant's.
"""

import atexit  # already loaded: logging imports it
import collections
import logging  # already loaded: concurrent.futures imports it
import os
import threading
import time
import types

from _backport_gh115634 import detect

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Callable, Deque, Optional, Tuple

RESCUE = "rescue"
NAMES = detect.FIXES + (RESCUE,)
LOGGER_NAME = "backport_gh115634"
# What a fixed stdlib does too, silently: DEBUG, but for the first one in a process.
ROUTINE = ("gh-115634", "gh-119592", "gh-109047", "cancelled-future")
FIRST_ROUTINE_NOTE = (
    " (the first routine intervention in this process, logged at INFO; "
    "further ones are logged at DEBUG)"
)
# How long the application's handlers may hold the threads that emit our records: a burst of up
# to FLUSH_BUDGET seconds, then FLUSH_SHARE of the time (the credit refills at that rate). A
# record that finds no credit left is dropped, and counted.
FLUSH_BUDGET = 0.5
FLUSH_SHARE = 0.1

_logger = logging.getLogger(LOGGER_NAME)
_lock = threading.Lock()
_counts = dict.fromkeys(NAMES, 0)
_routine_seen = False
_pending: "Deque[Tuple[int, str, str]]" = collections.deque()
_queued = 0  # records queued so far (under _lock)
_done = 0  # records emitted or dropped so far (under _lock)
# Records lost: their handler or filter raised, or a flush ran out of its budget before them.
dropped = 0
# The last error of ours caught on a manager thread, as text, for status().error.
last_internal_error: "Optional[str]" = None
# Seconds of handler time left, as of _credit_at (time.monotonic()). Read and written by whichever
# thread flushes, without a lock: two flushing at once may each spend it, so the bound holds per
# thread (there is one manager thread per pool).
_credit = FLUSH_BUDGET
_credit_at = 0.0


def record(fix: str, message: "Callable[[], str]", routine: bool = False) -> None:
    """Count one intervention of fix now, and queue its log record; safe under a pool's lock.
    message: makes the text (naming the fix's executor), called only if a handler may take it.
    routine: a replacement a fixed stdlib makes too."""
    log(count(fix, routine), fix, message)


def count(fix: str, routine: bool = False) -> int:
    """Count one intervention of fix now and return the level of its log record, for a caller
    that can write the record only later: the count must be in status() before any future the
    intervention resolves wakes the program (which may read status() at once)."""
    global _routine_seen
    with _lock:
        _counts[fix] += 1
        if routine and not _routine_seen:
            _routine_seen = True
            return logging.INFO
    return logging.DEBUG if routine else logging.WARNING


def log(level: int, fix: str, message: "Callable[[], str]") -> None:
    """Queue the log record of an intervention counted by count(), at the level it returned."""
    if not _logger.isEnabledFor(level):
        return
    text = message()
    if level == logging.INFO:
        text += FIRST_ROUTINE_NOTE
    _queue(level, fix, text)


def _queue(level: int, name: str, text: str) -> None:
    global _queued
    with _lock:
        _queued += 1
    _pending.append((level, name, text))


def internal_error(doing: str, exc: BaseException) -> None:
    """An exception of ours caught on a manager thread while doing something: kept for
    status().error and queued as a WARNING record; the caller then lets the stdlib's code run."""
    global last_internal_error
    last_internal_error = (
        "an error of backport_gh115634 on a pool's manager thread while %s: "
        "%s: %s" % (doing, type(exc).__name__, exc)
    )
    if _logger.isEnabledFor(logging.WARNING):
        _queue(
            logging.WARNING,
            "internal-error",
            last_internal_error + "; the stdlib's own code ran instead. Please report this.",
        )


def flush() -> None:
    """Emit the queued records on this thread, which must hold no pool lock and no lock of ours,
    while the handlers' time credit lasts; drop (and count) the records it does not cover, so a
    stalled log sink never holds a pool or the exit for long. Never raises."""
    global dropped, _done, _credit, _credit_at
    if not _pending:
        return  # the common case, once per result on every manager thread: nothing to do
    now = time.monotonic()
    credit = min(FLUSH_BUDGET, _credit + (now - _credit_at) * FLUSH_SHARE)
    while True:
        try:
            level, fix, text = _pending.popleft()
        except IndexError:
            break
        try:
            if credit <= 0:
                dropped += 1
            else:
                _logger.log(level, "%s: %s", fix, text)
        except Exception:
            dropped += 1
        finally:
            with _lock:
                _done += 1
            spent = time.monotonic()
            credit -= spent - now
            now = spent
    _credit, _credit_at = credit, now


def drain(timeout: float) -> bool:
    """Emit what is queued on the calling thread (which must hold no pool lock), then wait up to
    timeout seconds until every record another thread took from the queue was emitted or
    dropped; True if so. For tests and the doctor, which read what was logged."""
    flush()
    deadline = time.monotonic() + timeout
    while _done < _queued:
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.005)
    return True


def snapshot() -> "types.MappingProxyType[str, int]":
    """A read-only copy of the counts, one entry per name in NAMES."""
    return types.MappingProxyType({name: _counts[name] for name in NAMES})


def describe_executor(executor: object, manager: threading.Thread) -> str:
    """How a record names the pool: the executor's identity, and its manager thread's name,
    which outlives the executor (a garbage-collected executor has only the latter)."""
    if executor is None:
        return "a garbage-collected ProcessPoolExecutor (manager thread %r)" % manager.name
    return "ProcessPoolExecutor at %#x (manager thread %r)" % (id(executor), manager.name)


def _after_fork_in_child() -> None:
    """A forked child starts from a clean slate: the counts, records and errors are its
    parent's, and another thread may have held the lock at the fork (in the child it would never
    let go)."""
    global _lock, _routine_seen, _queued, _done, dropped, last_internal_error, _credit, _credit_at
    _lock = threading.Lock()
    _pending.clear()
    for name in NAMES:
        _counts[name] = 0
    _routine_seen = False
    _queued = _done = dropped = 0
    last_internal_error = None
    _credit, _credit_at = FLUSH_BUDGET, 0.0


atexit.register(flush)  # what no manager thread emitted
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
