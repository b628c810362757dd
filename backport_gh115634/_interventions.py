"""What the shim did that the stock stdlib would not have: a count per fix, and one log record each.

Only rare paths record (a worker replacement the stock code would have skipped, futures failed
instead of left pending forever, a stranded pool given a worker), never the per-task path. The
counts are process-wide, so they sit under a lock of their own: the pool locks are per executor,
and a free-threaded build has no GIL to make ``+= 1`` atomic.

The records go to the ``backport_gh115634`` logger at WARNING: each one means "this interpreter has
a bug that would have hung (or crashed) you here", which a production service wants to see and
which happens rarely enough to leave on. No handler is added; without one, logging's last resort
prints WARNING records to stderr (as it does for concurrent.futures' own logger), message only,
so each message names the package as well as the fix and the pool.

Records are emitted on the manager thread, in some paths under the pool's shutdown lock (where
the stdlib itself runs future callbacks and logs their errors): a handler must not submit to the
pool it is told about.
"""
import logging  # already loaded: concurrent.futures imports it
import threading
import types

from backport_gh115634 import _detect

RESCUE = "rescue"
NAMES = _detect.FIXES + (RESCUE,)
LOGGER_NAME = "backport_gh115634"

_logger = logging.getLogger(LOGGER_NAME)
_lock = threading.Lock()
_counts = dict.fromkeys(NAMES, 0)


def record(fix: str, message: str) -> None:
    """Count one intervention of fix and log message (which names the fix and the executor)."""
    with _lock:
        _counts[fix] += 1
    # Outside our lock: a handler may be slow, or ask status() for the counts.
    _logger.warning("%s: %s", fix, message)


def snapshot() -> "types.MappingProxyType[str, int]":
    """A read-only copy of the counts, one entry per name in NAMES."""
    with _lock:
        return types.MappingProxyType(dict(_counts))


def describe_executor(executor: object, manager: threading.Thread) -> str:
    """How a record names the pool: the executor's identity, and its manager thread's name,
    which outlives the executor (a garbage-collected executor has only the latter)."""
    if executor is None:
        return "a garbage-collected ProcessPoolExecutor (manager thread %r)" % manager.name
    return "ProcessPoolExecutor at %#x (manager thread %r)" % (id(executor), manager.name)
