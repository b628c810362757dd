"""What the shim did that the stock stdlib would not have: a count per fix, and one log record each.

Only rare paths record (a worker replacement the stock code would have skipped, futures failed
instead of left pending forever, a stranded pool given a worker), never the per-task path.

Recording happens on a pool's manager thread, often under the pool's shutdown lock. So record()
only counts and queues (a caller that fails futures calls count() before the first of them
resolves, so a program woken by one finds it in status(), and log() after); the log records are
emitted by a daemon thread of ours (started with the first record of a process, named
"backport_gh115634 log emitter"), and at exit by an atexit handler for what is left. User code
(handlers, filters) therefore never runs on a pool's thread or under its lock, and one that
raises or is slow costs its record or its time, never the pool: flush() drops a record whose
emission raised and counts it in ``dropped``.

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

Concurrency: ``_lock`` guards the counts, the first-routine flag and the number of records queued,
and is a leaf held for integer increments only (no allocation of a collectable object, so no
garbage collection, and with it no finaliser, can run while it is held). ``_emitter_lock`` guards
starting the emitter thread; it is taken with no other lock of ours held, though a pool's lock
may be. The queue is a deque, whose append and popleft are atomic. snapshot() reads each count
without the lock: every count is exact, the set of counts is not one instant's.
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
    from typing import Deque, Optional, Tuple

RESCUE = "rescue"
NAMES = detect.FIXES + (RESCUE,)
LOGGER_NAME = "backport_gh115634"
# What a fixed stdlib does too, silently: DEBUG, but for the first one in a process.
ROUTINE = ("gh-115634", "gh-119592", "gh-109047", "cancelled-future")
FIRST_ROUTINE_NOTE = (
    " (the first routine intervention in this process, logged at INFO; "
    "further ones are logged at DEBUG)"
)

_logger = logging.getLogger(LOGGER_NAME)
_lock = threading.Lock()
_counts = dict.fromkeys(NAMES, 0)
_routine_seen = False
_pending: "Deque[Tuple[int, str, str]]" = collections.deque()
_queued = 0  # records queued so far (under _lock)
_done = 0  # records emitted or dropped so far (by whichever thread flushes)
# Records whose emission raised (a handler or filter of the application's); each is lost.
dropped = 0
_ready = threading.Event()
_emitter_lock = threading.Lock()
_emitter: "Optional[threading.Thread]" = None
# The last error of ours caught on a manager thread, as text, for status().error.
last_internal_error: "Optional[str]" = None


def record(fix: str, message: str, routine: bool = False) -> None:
    """Count one intervention of fix now, and queue its log record (message names the fix's
    executor); safe under a pool's lock. routine: a replacement a fixed stdlib makes too."""
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


def log(level: int, fix: str, message: str) -> None:
    """Queue the log record of an intervention counted by count(), at the level it returned."""
    if level == logging.INFO:
        message += FIRST_ROUTINE_NOTE
    _queue(level, fix, message)


def _queue(level: int, name: str, message: str) -> None:
    global _queued
    with _lock:
        _queued += 1
    _pending.append((level, name, message))
    _ready.set()
    if _emitter is None or not _emitter.is_alive():
        _start_emitter()


def _start_emitter() -> None:
    global _emitter
    with _emitter_lock:
        if _emitter is not None and _emitter.is_alive():
            return
        thread = threading.Thread(
            target=_emit_forever, name="backport_gh115634 log emitter", daemon=True
        )
        try:
            thread.start()
        except RuntimeError:
            return  # interpreter shutdown: the atexit handler emits what is queued
        _emitter = thread


def _emit_forever() -> None:
    while True:
        _ready.wait()
        _ready.clear()  # before flushing: a record queued from now on sets it again
        flush()


def internal_error(doing: str, exc: BaseException) -> None:
    """An exception of ours caught on a manager thread while doing something: kept for
    status().error and queued as a WARNING record; the caller then lets the stdlib's code run."""
    global last_internal_error
    last_internal_error = (
        "an error of backport_gh115634 on a pool's manager thread while %s: "
        "%s: %s" % (doing, type(exc).__name__, exc)
    )
    _queue(
        logging.WARNING,
        "internal-error",
        last_internal_error + "; the stdlib's own code ran instead. Please report this.",
    )


def flush() -> None:
    """Emit the queued records on this thread, which must hold no pool lock and no lock of ours.
    Never raises: a record whose handler or filter raised is dropped (and counted)."""
    global dropped, _done
    while True:
        try:
            level, fix, message = _pending.popleft()
        except IndexError:
            return
        try:
            _logger.log(level, "%s: %s", fix, message)
        except Exception:
            dropped += 1
        finally:
            with _lock:
                _done += 1


def drain(timeout: float) -> bool:
    """Wait up to timeout seconds until every record queued so far was emitted or dropped;
    True if so. For tests and the doctor, which read what was logged."""
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
    """A forked child has no emitter thread, and must not log its parent's records again."""
    global _emitter, _queued, _done, _lock, _emitter_lock
    # Another thread may have held them at the fork; in this child it never lets go.
    _lock, _emitter_lock = threading.Lock(), threading.Lock()
    _pending.clear()
    _emitter, _queued, _done = None, 0, 0


atexit.register(flush)  # what the emitter had not reached at exit
if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
