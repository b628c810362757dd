"""Backport of the CPython gh-115634 fix: ProcessPoolExecutor(max_tasks_per_child=...) no longer
strands queued work when a worker retires, on interpreters whose stdlib still has the bug.

``import backport_gh115634`` is enough: the fix is applied when ``concurrent.futures.process`` is
imported (or at once if it already is). ``BACKPORT_GH115634=0`` turns that off; ``apply()`` still
works. On a stdlib that is already fixed, or that has no ``max_tasks_per_child``, nothing changes.
"""
import _thread

import backport_gh115634_startup as _startup

# For the type checker only: nothing more is imported at run time (the start-up hook imports this
# package in every process it activates).
TYPE_CHECKING = False
if TYPE_CHECKING:
    from backport_gh115634._status import Status

__version__ = "0.1.0"
__all__ = ["BackportWarning", "apply", "revert", "status", "__version__"]


class BackportWarning(RuntimeWarning):
    """Something the user can act on: an unrecognised stdlib left unpatched, a bad env value,
    a revert that could not restore an attribute someone else replaced after us."""


def apply() -> "Status":
    """Patch what this stdlib lacks (idempotent, thread-safe) and return ``status()``."""
    from backport_gh115634 import _hook, _patch

    _hook.apply_now()
    result: "Status" = _patch.status()
    return result


def revert() -> "Status":
    """Put back the exact stdlib objects that ``apply()`` replaced and return ``status()``."""
    from backport_gh115634 import _patch

    result: "Status" = _patch.revert()
    return result


def status() -> "Status":
    """An immutable report: is this stdlib affected, is our fix active, and per fix how.

    In a pool worker where the start-up hook deferred the fix, asking applies it first, so the
    report describes the stdlib as this process will use it."""
    from backport_gh115634 import _hook, _patch

    if _hook.deferred():
        _hook.apply_now(quiet=True)
    result: "Status" = _patch.status()
    return result


def _activate_on_import() -> None:
    # The start-up hook imports this package too, to reach _hook: that is not the user's import.
    if _startup.firing == _thread.get_ident() or _startup.disabled_by_env:
        return
    _startup.activate("import")
    if _startup.bad_env_value is not None:
        import warnings

        warnings.warn(
            "%s=%r is not understood; use 1 (apply the fix, the default) or 0 (do not apply it "
            "on import). Applying it." % (_startup.ENV_VAR, _startup.bad_env_value),
            BackportWarning,
            stacklevel=3,
        )


_activate_on_import()
