"""apply()'s rescue of pools that are already stuck: wake the manager thread of every live executor.

A pool the stock code stranded (work pending, no worker) has its manager thread blocked in the
stock wait, and it looks again only when something writes to its wake-up pipe: a submit(), a
shutdown, the executor being collected, or interpreter exit. Once woken, its loop calls
``wait_result_broken_or_wakeup`` afresh, which after apply() is our seam: it gives the pool a
worker (or fails the work, where nothing may start one). The stdlib keeps every manager thread's
wake-up channel in ``concurrent.futures.process._threads_wakeups`` (a WeakKeyDictionary, used to
wake them all at exit), so no executor has to be tracked by us.

Waking a manager whose pool is healthy costs it one pass of its loop, nothing more.
"""

import threading

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: the pool module does not load typing on 3.12+
    from types import ModuleType
    from typing import Any

# How long to wait for a pool's shutdown lock before giving up on waking that pool. The lock is
# held only briefly (a submit() spawning a worker is the longest), and every holder either wakes
# the manager itself or is the manager; the bound only keeps apply() from waiting forever on a
# lock its own caller holds (apply() from a future's callback run under that lock).
LOCK_PATIENCE = 2.0


def wake_managers(process: "ModuleType") -> int:
    """Wake every live manager thread of this pool module; return how many were woken."""
    registry = getattr(process, "_threads_wakeups", None)
    if not registry:
        return 0
    current = threading.current_thread()
    woken = 0
    for manager, wakeup in list(registry.items()):
        # The calling thread, if a manager itself, is not waiting: its loop reaches the seam.
        if manager is current or not manager.is_alive():
            continue
        if _wake(manager, wakeup):
            woken += 1
    return woken


def _wake(manager: "Any", wakeup: "Any") -> bool:
    if hasattr(wakeup, "_lock"):
        # Later stdlibs (3.13.5 and 3.14 here): the channel serialises wakeup() and close()
        # with a lock of its own, so writing needs no pool lock (the stdlib's weakref callback
        # writes without one too).
        wakeup.wakeup()
        return True
    # Earlier ones (3.11, 3.12, 3.13.0): close() runs under the pool's shutdown lock, and a
    # write after it would go to a closed (or reused) file descriptor; take that lock, as
    # submit() does. The manager drains the pipe without it (gh-105829), so a full pipe cannot
    # block us for good.
    lock = getattr(manager, "shutdown_lock", None)
    if lock is None or not lock.acquire(timeout=LOCK_PATIENCE):
        return False
    try:
        wakeup.wakeup()
    finally:
        lock.release()
    return True
