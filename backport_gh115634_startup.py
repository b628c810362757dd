"""Start-up activation of backport_gh115634: the env check, the record of how activation was asked
for, a one-shot import hook, and the deferral of the fix in pool workers. Nothing else.

``backport_gh115634.pth`` imports this module only on a release that may need the fix (its line
tests ``sys.version_info`` first), or anywhere when ``BACKPORT_GH115634=1`` is set; a
``sitecustomize`` line or ``import backport_gh115634`` imports it too. It runs in every process of
such an environment, pool workers included, so it imports nothing (``_thread``, ``os`` and ``sys``
are loaded before ``site`` runs), never raises, never prints, and does no work until
``concurrent.futures.process`` is imported. Then the hook removes itself and either

- defers: in a multiprocessing child still unpickling its task (a spawn or forkserver pool worker,
  or a fork server preloading ``__main__``), it puts a stand-in on ``ProcessPoolExecutor.__init__``
  and imports nothing more. The stand-in hands the module over the first time that process makes
  a pool of its own, which most workers never do; or
- hands the module over to the implementation (``_backport_gh115634.patch.on_import``), which
  applies what this stdlib lacks. That is the one call from here into the package, made lazily,
  and it never imports the public package ``backport_gh115634``: only a user's own import runs
  that package's ``__init__``, so it alone records "import" in ``requested_by``.

Its name, ``activate()`` and ``undefer()`` are a permanent interface: an old ``.pth`` may call a
newer package.

Concurrency. ``_lock`` guards every module global below that is written after import
(``requested_by``, ``disabled_by_env``, ``_finder``, ``_loading``, ``delivered``, ``fired``,
``_deferred``). It is a leaf: held for a few assignments only, never while importing, calling
into the package or running stdlib code; the package may take it while holding its own lock
(the package's lock order: its own lock, then this one). A forked child gets a new one.
``calls``, ``bad_env_value`` and ``hook_error`` are single appends or assignments, atomic on every
build, and read for reports.

Typed, at no cost at start: annotations name builtins, or are strings that only a type checker
reads; ``typing`` and ``importlib`` are imported for the checker alone (``TYPE_CHECKING``).
"""

import _thread
import os
import sys

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Sequence
    from importlib.abc import Loader as _LoaderBase
    from importlib.machinery import ModuleSpec
    from types import ModuleType
    from typing import Any, Callable, Optional, Tuple
else:
    _LoaderBase = object

ENV_VAR = "BACKPORT_GH115634"
TARGET = "concurrent.futures.process"
# The implementation's entry point; importing it never imports the public package.
_IMPLEMENTATION = "_backport_gh115634.patch"

# How activation was asked for, in order ("startup hook", "sitecustomize", "import").
requested_by: "list[str]" = []
# The source of every activate() call, repeats included (site may read a .pth twice). Read by
# the doctor and tests.
calls: "list[str]" = []
# Why the fix is not active although the package is installed, if it is not.
disabled_by_env = False
bad_env_value: "Optional[str]" = None
# An exception caught here, as text; shown by status() and the doctor instead of being raised.
hook_error: "Optional[str]" = None
# True once our loader has executed the pool module (the hook has fired).
fired = False
# The pool module our loader saw finish executing. While its import is still under way (its
# spec still says _initializing), this is how the package knows it is complete.
delivered: "Optional[ModuleType]" = None

_lock = _thread.allocate_lock()
_finder: "Optional[_PostImportFinder]" = None
# The spec our finder returned for the pool module, while that import may be running.
_loading: "Optional[ModuleSpec]" = None
# (class, its own __init__, our stand-in) while applying waits for the first executor.
_deferred: "Optional[Tuple[type, Callable[..., None], Callable[..., None]]]" = None


def env_enabled() -> bool:
    """Read BACKPORT_GH115634: unset, "" or "1" mean on, "0" off; anything else: on, remembered."""
    global bad_env_value
    raw = os.environ.get(ENV_VAR)
    if raw is None or raw.strip() in ("", "1"):
        return True
    if raw.strip() == "0":
        return False
    bad_env_value = raw
    return True


def activate(source: str = "startup hook") -> bool:
    """Arrange for the package to see concurrent.futures.process once it is (or was) imported.

    Idempotent and safe to call from any thread; returns True when the fix is (to be) applied,
    False when BACKPORT_GH115634=0 switched it off. Never raises.
    """
    global disabled_by_env, hook_error, _finder
    try:
        calls.append(source)
        if not env_enabled():
            with _lock:
                disabled_by_env = True
            return False
        with _lock:
            if source not in requested_by:
                requested_by.append(source)
            if _deferred is not None and source != "import":
                return True  # a pool worker's deferral stands until it makes a pool of its own
            module = delivered or sys.modules.get(TARGET)
            if module is None:
                # Not imported yet: the hook hands it over once it has executed.
                if _finder is None and not fired:
                    _finder = _PostImportFinder()
                    sys.meta_path.insert(0, _finder)
                return True
            # Our loader is executing it in some thread: that thread hands it over after we
            # return, and will see the source just recorded. Otherwise it is executed (or being
            # imported without us), and this call hands it over: the package waits for an import
            # still under way, holding no lock.
            if module is not delivered and getattr(module, "__spec__", None) is _loading:
                return True
        _hand_over(module if module is delivered else None)
        return True
    except Exception as exc:  # a start-up hook must never take the interpreter down
        hook_error = "%s: %s" % (type(exc).__name__, exc)
        return False


def _hand_over(module: "ModuleType | None") -> None:
    """The one call into the package. module is None when it is not known to be complete."""
    global hook_error
    try:
        patch = __import__(_IMPLEMENTATION, fromlist=["on_import"])
        patch.on_import(module)
    except Exception as exc:
        hook_error = "%s: %s" % (type(exc).__name__, exc)


def _executed(module: "ModuleType") -> None:
    """Our loader ran the pool module to its end: remove the hook, then defer or hand over."""
    global fired, delivered, _finder, _loading
    defer = _bootstrapping_child()
    with _lock:
        fired = True
        finder, _finder, _loading = _finder, None, None
        defer = defer and "import" not in requested_by and _defer(module)
        # Published last: whoever sees it also sees the stand-in, if there is one.
        delivered = module
    if finder is not None:
        try:
            sys.meta_path.remove(finder)
        except ValueError:
            pass
    if not defer:
        _hand_over(module)


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


def _defer(module: "ModuleType") -> bool:
    """Put a stand-in on ProcessPoolExecutor.__init__ that hands the module over the first time
    this process makes a pool, then runs the stdlib's own. Called with _lock held."""
    global _deferred
    cls = getattr(module, "ProcessPoolExecutor", None)
    original = getattr(cls, "__dict__", {}).get("__init__")
    if cls is None or original is None:
        return False  # not the module we know: let the package look at it now

    def __init__(self: object, *args: "Any", **kwargs: "Any") -> None:
        _hand_over(module)  # the package puts the stdlib's __init__ back before it applies
        original(self, *args, **kwargs)

    # inspect.signature() and help() show the real parameters.
    __init__.__wrapped__ = original  # type: ignore[attr-defined]
    __init__.__doc__ = original.__doc__
    __init__.__qualname__ = getattr(original, "__qualname__", "__init__")
    _deferred = (cls, original, __init__)
    cls.__init__ = __init__
    return True


def undefer() -> bool:
    """Put the stdlib's own ProcessPoolExecutor.__init__ back, if a stand-in of ours is there.
    Returns whether a deferral was pending."""
    global _deferred
    with _lock:
        deferred, _deferred = _deferred, None
        if deferred is not None:
            cls, original, stand_in = deferred
            if cls.__dict__.get("__init__") is stand_in:
                cls.__init__ = original  # type: ignore[misc]
    return deferred is not None


def deferred() -> bool:
    return _deferred is not None


def _after_fork_in_child() -> None:
    # Another thread may have held _lock at the fork; in the child it would never let go. The
    # records are the child's too: it runs with the same hook, deferral and patched classes.
    global _lock
    _lock = _thread.allocate_lock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


class _PostImportFinder:
    """A meta path finder that only wraps the loader of concurrent.futures.process: it finds the
    module through the finders behind it and chains a loader that runs the real one first."""

    def find_spec(
        self, fullname: str, path: "Sequence[str] | None" = None, target: "ModuleType | None" = None
    ) -> "ModuleSpec | None":
        global _loading
        if fullname != TARGET or fired:
            return None
        for finder in list(sys.meta_path):
            find_spec = getattr(finder, "find_spec", None)
            if finder is self or isinstance(finder, _PostImportFinder) or find_spec is None:
                continue
            spec: "Optional[ModuleSpec]" = find_spec(fullname, path, target)
            if spec is not None:
                if spec.loader is not None and hasattr(spec.loader, "exec_module"):
                    spec.loader = _ChainedLoader(spec.loader)
                    with _lock:
                        _loading = spec
                return spec
        return None


class _ChainedLoader(_LoaderBase):
    """Runs the real loader, puts it back in place, then reports the module executed."""

    def __init__(self, loader: "_LoaderBase") -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> "Any":
        return getattr(self.loader, name)

    def create_module(self, spec: "ModuleSpec") -> "ModuleType | None":
        return self.loader.create_module(spec)

    def exec_module(self, module: "ModuleType") -> None:
        global hook_error
        # Leave no trace of ourselves on the module: code that inspects __loader__ or
        # __spec__.loader (linecache, pkgutil, pickling) sees the stdlib's own loader.
        module.__loader__ = self.loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self.loader
        self.loader.exec_module(module)
        if not fired:
            try:
                _executed(module)
            except Exception as exc:  # the import itself succeeded and must stay so
                hook_error = "%s: %s" % (type(exc).__name__, exc)
