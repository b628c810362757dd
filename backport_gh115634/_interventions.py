"""What the shim did that the stock stdlib would not have: a count per fix, and one log record each.

Only rare paths record (a worker replacement the stock code would have skipped, futures failed
instead of left pending forever, a stranded pool given a worker), never the per-task path. The
counts are process-wide, so they sit under a lock of their own: the pool locks are per executor,
and a free-threaded build has no GIL to make ``+= 1`` atomic.

The records go to the ``backport_gh115634`` logger, at two levels a production service can leave
on. INFO for a replacement worker the stock code would have skipped (gh-115634, gh-119592): the
fix doing its routine job, what a fixed stdlib does silently, and under a steady backlog it comes
once per retirement, so it must not reach the stderr of a program that configured no logging.
WARNING where something needs a look: futures failed with BrokenProcessPool (gh-152967, failed
spawn, forced shutdown), a worker that could not start, and a pool found stranded by the stock
code and rescued. No handler is added; without one, logging's last resort prints WARNING
records (not INFO) to stderr, message only, so each message names the package as well as the
fix and the pool.

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


# The replacements a fixed stdlib makes too, logged at INFO; every other record is a WARNING.
ROUTINE = ("gh-115634", "gh-119592")


def record(fix: str, message: str, routine: bool = False) -> None:
    """Count one intervention of fix and log message (which names the fix and the executor):
    at INFO when routine (a replacement started), else at WARNING."""
    with _lock:
        _counts[fix] += 1
    # Outside our lock: a handler may be slow, or ask status() for the counts.
    _logger.log(logging.INFO if routine else logging.WARNING, "%s: %s", fix, message)


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
