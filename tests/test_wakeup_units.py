"""wakeup.wake_managers() on a stand-in registry of manager threads, in this process: which
managers it passes over (the calling thread, a dead one) and the ones it gives up on (no
shutdown lock, or one it cannot get), without writing to their channel."""

import threading
import types

from _backport_gh115634 import wakeup


class Channel:
    """A manager's wake-up channel, as 3.11-3.13.0 have it (no lock of its own)."""

    def __init__(self):
        self.woken = 0

    def wakeup(self):
        self.woken += 1


class LockedChannel(Channel):
    """As later stdlibs have it: wakeup() and close() serialised by the channel's own lock."""

    def __init__(self):
        super().__init__()
        self._lock = threading.Lock()


class BusyLock:
    """A shutdown lock some other thread holds for longer than apply() waits."""

    def __init__(self):
        self.timeouts = []

    def acquire(self, timeout=-1):
        self.timeouts.append(timeout)
        return False

    def release(self):
        raise AssertionError("never acquired")


class Manager:
    """A manager thread as wake_managers() sees it."""

    def __init__(self, alive=True, lock=None):
        self.alive, self.shutdown_lock = alive, lock

    def is_alive(self):
        return self.alive


def test_wake_managers_passes_over_some_and_gives_up_on_others():
    busy, free = BusyLock(), threading.Lock()
    registry = {
        threading.current_thread(): Channel(),  # the caller is a manager: not waiting
        Manager(alive=False, lock=threading.Lock()): Channel(),
        Manager(lock=None): Channel(),  # nothing to serialise the write with
        Manager(lock=busy): Channel(),
        Manager(lock=free): Channel(),
        Manager(): LockedChannel(),
    }
    pool = types.SimpleNamespace(_threads_wakeups=registry)
    assert wakeup.wake_managers(pool) == 2
    assert [channel.woken for channel in registry.values()] == [0, 0, 0, 0, 1, 1]
    assert busy.timeouts == [wakeup.LOCK_PATIENCE]
    assert not free.locked()


def test_a_module_without_a_registry_wakes_nobody():
    assert wakeup.wake_managers(types.SimpleNamespace()) == 0
    assert wakeup.wake_managers(types.SimpleNamespace(_threads_wakeups={})) == 0
