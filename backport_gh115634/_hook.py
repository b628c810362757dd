"""What happens once concurrent.futures.process has been imported in an activated process: apply
the fix, defer it, or leave the stdlib alone.

The start-up module (``backport_gh115634_startup``) calls ``on_import()`` and nothing else here; it
is the only way in from there. The decision:

- an explicit ``import backport_gh115634`` asked for it: apply now, and warn about a stdlib we do
  not recognise;
- a multiprocessing child still unpickling its task (a spawn or forkserver pool worker, or a fork
  server preloading ``__main__``): defer. A stand-in ``ProcessPoolExecutor.__init__`` applies the
  fix the first time that process makes a pool of its own, which most workers never do;
- otherwise: apply quietly (the start-up hook runs in every process and never warns; status() and
  the doctor report). A stdlib that needs nothing is left as it is by ``_patch.apply``.
"""
import sys
import threading

import backport_gh115634_startup as _startup

TYPE_CHECKING = False
if TYPE_CHECKING:  # for the type checker only; a deferring worker imports as little as it can
    from types import ModuleType
    from typing import Any, Callable, Optional, Tuple

# Not imported here: a deferring pool worker never loads _patch and what it imports.
_PATCH = "backport_gh115634._patch"

_lock = threading.RLock()
# (class, its own __init__, our stand-in) while applying waits for the first executor.
_deferred: "Optional[Tuple[type, Callable[..., None], Callable[..., None]]]" = None


def on_import(module: "ModuleType | None" = None) -> None:
    """Decide for concurrent.futures.process; module is None when the caller does not know it
    finished executing (another thread may still be importing it: importing it here waits)."""
    if module is None:
        __import__(_startup.TARGET)
        module = sys.modules[_startup.TARGET]
    with _lock:
        if "import" in _startup.requested_by:
            apply_now(module, quiet=False)
        elif _deferred is None and not _applied() and _bootstrapping_child():
            _defer(module)
        elif _deferred is None:
            apply_now(module, quiet=True)


def apply_now(module: "ModuleType | None" = None, quiet: bool = False) -> None:
    """Drop a pending deferral and apply what this stdlib lacks (idempotent)."""
    from backport_gh115634 import _patch

    with _lock:
        undefer()
        _patch.apply(module, quiet=quiet)


def _applied() -> bool:
    patch = sys.modules.get(_PATCH)
    return patch is not None and bool(patch.applied())


def deferred() -> bool:
    return _deferred is not None


def _bootstrapping_child() -> bool:
    """True in a multiprocessing child still unpickling its task, as a pool worker is when it
    imports the pool module. Such a process needs the fix only if it makes a pool of its own."""
    mp_process = sys.modules.get("multiprocessing.process")
    if mp_process is None:
        return False
    try:
        return bool(getattr(mp_process.current_process(), "_inheriting", False))
    except Exception:
        return False


def _defer(module: "ModuleType") -> None:
    """Apply the fix when this process first constructs a ProcessPoolExecutor, not now."""
    global _deferred
    try:
        cls: type = module.ProcessPoolExecutor
        original: "Callable[..., None]" = cls.__dict__["__init__"]
    except Exception:
        apply_now(module, quiet=True)
        return

    def __init__(self: object, *args: "Any", **kwargs: "Any") -> None:
        try:
            apply_now(module, quiet=True)  # puts the original __init__ back first
        except Exception as exc:  # the user's pool must still be made
            _startup.hook_error = "%s: %s" % (type(exc).__name__, exc)
        original(self, *args, **kwargs)

    # inspect.signature() shows the real parameters.
    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    __init__.__doc__ = original.__doc__
    __init__.__qualname__ = getattr(original, "__qualname__", "__init__")
    _deferred = (cls, original, __init__)
    cls.__init__ = __init__  # type: ignore[misc]


def undefer() -> None:
    """Put the stdlib's own ProcessPoolExecutor.__init__ back, if a stand-in of ours is there."""
    global _deferred
    with _lock:
        deferred, _deferred = _deferred, None
        if deferred is not None:
            cls, original, stand_in = deferred
            if cls.__dict__.get("__init__") is stand_in:
                cls.__init__ = original  # type: ignore[misc]
