"""patch.py's paths a healthy process does not take, in this process: the pool module still
executing (apply() and status() wait for it), a deferral pending when status() is asked, a
wake-up of the running pools that fails, a forked child's new lock, and a platform without
os.register_at_fork.

Nothing here installs or removes a seam: apply() is either not reached or replaced by a
recorder, and every module global a test changes is put back by monkeypatch.
"""

import sys
import types

import backport_gh115634_startup as _startup
from _backport_gh115634 import detect, patch, wakeup


def still_executing():
    """The pool module as sys.modules holds it while its code is still running."""
    module = types.ModuleType(patch.TARGET)
    module.__spec__ = types.SimpleNamespace(name=patch.TARGET, _initializing=True)
    return module


def test_while_the_pool_module_executes_nothing_is_applied_and_status_says_so(monkeypatch):
    import concurrent.futures.process  # noqa: F401  (its packages: only the module is stood in)

    monkeypatch.setitem(sys.modules, patch.TARGET, still_executing())
    before = patch.originals()
    assert patch.complete() is None
    assert patch.apply() is None
    assert patch.originals() == before
    status = patch.status()
    assert status.shape == detect.IMPORTING and status.applied is False, status


def test_status_applies_a_pending_deferral_first(monkeypatch):
    applied = []
    monkeypatch.setattr(_startup, "deferred", lambda: True)
    monkeypatch.setattr(patch, "apply", lambda module, quiet: applied.append((module, quiet)))
    status = patch.status()
    assert applied == [(sys.modules[patch.TARGET], True)]
    assert status.shape != detect.IMPORTING, status


def test_a_failed_wake_up_is_kept_as_the_last_error(monkeypatch):
    def broken(process):
        raise OSError("a wake-up pipe closed under us")

    monkeypatch.setattr(patch, "_last_error", patch._last_error)
    monkeypatch.setattr(wakeup, "wake_managers", broken)
    patch._wake(types.ModuleType("pool_module_under_test"))
    assert patch._last_error == (
        "apply() could not wake the running executors: OSError: a wake-up pipe closed under us"
    )


def test_a_forked_child_gets_a_new_state_lock(monkeypatch):
    monkeypatch.setattr(patch, "_lock", patch._lock)
    held = patch._lock
    with held:  # some thread of the parent held it at the fork
        patch._after_fork_in_child()
    assert patch._lock is not held
    assert patch._lock.acquire(blocking=False)
    patch._lock.release()


def test_a_platform_without_register_at_fork(windows_copy):
    copy = windows_copy(patch)  # executes without registering anything
    assert copy._installed == {} and copy._lock is not patch._lock
