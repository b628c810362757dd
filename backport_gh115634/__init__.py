"""Backport of the CPython gh-115634 fix: ProcessPoolExecutor(max_tasks_per_child=...) no longer
strands queued work when a worker retires, on interpreters whose stdlib still has the bug.

``import backport_gh115634`` is enough: the fix is applied when ``concurrent.futures.process`` is
imported (or at once if it already is). ``BACKPORT_GH115634=0`` turns that off; ``apply()`` still
works. On a stdlib that is already fixed, or that has no ``max_tasks_per_child``, nothing changes.

This package is the public face only; the implementation is ``_backport_gh115634``, which the
start-up hook uses without importing this package. So this module's body runs on a user's own
import (or the doctor's), and records it as such in ``status().activation``. All functions here
are safe to call from any thread, at any time, including while another thread imports the pool
module for the first time; see docs/threads-and-logging.md.
"""

import backport_gh115634_startup as _startup
from _backport_gh115634.warning import BackportWarning

# For the type checker only: nothing more is imported at run time.
TYPE_CHECKING = False
if TYPE_CHECKING:
    from _backport_gh115634.status import Status

__version__ = "0.1.0"
__all__ = ["BackportWarning", "__version__", "apply", "revert", "status"]


def apply() -> "Status":
    """Patch what this stdlib lacks, now (idempotent, thread-safe), and return ``status()``.

    After ``importlib.reload(concurrent.futures.process)`` this patches the new classes."""
    from _backport_gh115634 import patch

    patch.apply()
    return patch.status()


def revert() -> "Status":
    """Put back the exact stdlib objects that ``apply()`` replaced (and the stdlib's own
    ``ProcessPoolExecutor.__init__``, where the fix was deferred) and return ``status()``."""
    from _backport_gh115634 import patch

    return patch.revert()


def status() -> "Status":
    """An immutable report on the pool module as it is now: is this stdlib affected, are our
    seams on its classes, and per fix how.

    In a pool worker where the start-up hook deferred the fix, asking applies it first, so the
    report describes the stdlib as this process will use it."""
    from _backport_gh115634 import patch

    return patch.status()


def _activate_on_import() -> None:
    if not _startup.activate("import"):
        return
    if _startup.bad_env_value is not None:
        from _backport_gh115634 import warning

        warning.warn(
            "%s=%r is not understood; use 1 (apply the fix, the default) or 0 (do not apply it "
            "on import). Applying it." % (_startup.ENV_VAR, _startup.bad_env_value)
        )


_activate_on_import()
