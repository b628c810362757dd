"""Start-up activation of backport_gh115634: the env check, the record of how activation was asked
for, and a one-shot import hook. Nothing else.

``backport_gh115634.pth`` imports this module only on a release that may need the fix (its line
tests ``sys.version_info`` first), or anywhere when ``BACKPORT_GH115634=1`` is set; a
``sitecustomize`` line or ``import backport_gh115634`` imports it too. It runs in every process of
such an environment, pool workers included, so it imports nothing (``_thread``, ``os`` and ``sys``
are loaded before ``site`` runs), never raises, never prints, and does no work until
``concurrent.futures.process`` is imported. Then the hook removes itself and hands the module to
the package (``backport_gh115634._hook.on_import``), which decides whether to apply, defer or skip
the fix: the one call from here into the package, made lazily.

Its name and ``activate()`` are a permanent interface: an old ``.pth`` may call a newer package.

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
    from typing import Any, Optional
else:
    _LoaderBase = object

ENV_VAR = "BACKPORT_GH115634"
TARGET = "concurrent.futures.process"

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
# The thread handing the module to the package right now: its import of the package is ours,
# not the user's (thread-local in effect, so another thread's `import backport_gh115634` counts).
firing: "Optional[int]" = None
fired = False

_lock = _thread.allocate_lock()
_finder: "Optional[_PostImportFinder]" = None


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
            disabled_by_env = True
            return False
        with _lock:
            if source not in requested_by:
                requested_by.append(source)
            if not fired and TARGET not in sys.modules and _finder is None:
                _finder = _PostImportFinder()
                sys.meta_path.insert(0, _finder)
        if fired or TARGET in sys.modules:
            # Imported before us, or by another thread while we looked: the package waits for
            # that import to finish. After the hook fired, a later call (an explicit import, say)
            # is handed over again so the package can act on it.
            _hand_over(None)
        return True
    except Exception as exc:  # a start-up hook must never take the interpreter down
        hook_error = "%s: %s" % (type(exc).__name__, exc)
        return False


def _fire() -> bool:
    """Mark the hook fired, exactly once; True for the caller that did."""
    global fired, _finder
    with _lock:
        if fired:
            return False
        fired = True
        finder, _finder = _finder, None
    if finder is not None:
        try:
            sys.meta_path.remove(finder)
        except ValueError:
            pass
    return True


def _hand_over(module: "ModuleType | None") -> None:
    """The one call into the package. module is None when it is not known to be complete."""
    global firing, hook_error
    _fire()
    previous, firing = firing, _thread.get_ident()
    try:
        from backport_gh115634 import _hook

        _hook.on_import(module)
    except Exception as exc:
        hook_error = "%s: %s" % (type(exc).__name__, exc)
    finally:
        firing = previous


class _PostImportFinder:
    """A meta path finder that only wraps the loader of concurrent.futures.process: it finds the
    module through the finders behind it and chains a loader that runs the real one first."""

    def find_spec(self, fullname: str, path: "Sequence[str] | None" = None,
                  target: "ModuleType | None" = None) -> "ModuleSpec | None":
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
                return spec
        return None


class _ChainedLoader(_LoaderBase):
    """Runs the real loader, puts it back in place, then hands the module over."""

    def __init__(self, loader: "_LoaderBase") -> None:
        self.loader = loader

    def __getattr__(self, name: str) -> "Any":
        return getattr(self.loader, name)

    def create_module(self, spec: "ModuleSpec") -> "ModuleType | None":
        return self.loader.create_module(spec)

    def exec_module(self, module: "ModuleType") -> None:
        # Leave no trace of ourselves on the module: code that inspects __loader__ or
        # __spec__.loader (linecache, pkgutil, pickling) sees the stdlib's own loader.
        module.__loader__ = self.loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self.loader
        self.loader.exec_module(module)
        if not fired:
            _hand_over(module)
