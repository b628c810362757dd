"""Start-up activation of backport_gh115634.

This module runs in every Python process of an environment that has the package installed (from
``backport_gh115634.pth``, ``backport_gh115634.start`` or a ``sitecustomize``), worker processes
included. So it stays tiny and silent: it imports nothing beyond ``sys`` and ``os`` (both already
loaded when ``site`` runs), never raises, never prints, and does no work until
``concurrent.futures.process`` is imported. Then a one-shot import hook hands the module to
``backport_gh115634._patch``, which decides what, if anything, needs patching.

Its name and ``activate()`` are a permanent interface: an old ``.pth`` may call a newer package.
"""
import os
import sys

ENV_VAR = "BACKPORT_GH115634"
TARGET = "concurrent.futures.process"

# How activation was asked for, in order ("startup hook", "sitecustomize", "import").
requested_by = []
# Why the fix is not active although the package is installed, if it is not.
disabled_by_env = False
bad_env_value = None
# An exception the hook caught, as text; shown by status() and the doctor instead of being raised.
hook_error = None
# The source of every activate() call, repeats included: start-up files that both ran (a .pth
# import line and its .start entry point) would show here twice. Read by the doctor and tests.
calls = []

_finder = None
_fired = False
# True while the hook imports the package: that import is ours, not the user's.
firing = False


def env_enabled():
    """Read BACKPORT_GH115634: unset, "" or "1" mean on, "0" off; anything else: on, remembered."""
    global bad_env_value
    raw = os.environ.get(ENV_VAR)
    if raw is None or raw.strip() in ("", "1"):
        return True
    if raw.strip() == "0":
        return False
    bad_env_value = raw
    return True


def activate(source="startup hook"):
    """Arrange for the fix to be applied when concurrent.futures.process is (or was) imported.

    Idempotent and safe to call from any thread; returns True when the fix is (to be) applied,
    False when BACKPORT_GH115634=0 switched it off. Never raises.
    """
    global disabled_by_env, hook_error
    try:
        calls.append(source)
        if not env_enabled():
            disabled_by_env = True
            return False
        if source not in requested_by:
            requested_by.append(source)
        _install_hook()
        return True
    except Exception as exc:  # a start-up hook must never take the interpreter down
        hook_error = "%s: %s" % (type(exc).__name__, exc)
        return False


def _install_hook():
    global _finder
    if _fired or _finder is not None:
        return
    module = sys.modules.get(TARGET)
    if module is not None:
        _fire(module)
        return
    _finder = _PostImportFinder()
    sys.meta_path.insert(0, _finder)


def _fire(module):
    """Called once, right after concurrent.futures.process has executed."""
    global _fired, _finder, hook_error, firing
    if _fired:
        return
    _fired = True
    if _finder is not None:
        try:
            sys.meta_path.remove(_finder)
        except ValueError:
            pass
        _finder = None
    firing = True
    try:
        from backport_gh115634 import _patch

        # Only an explicit `import backport_gh115634` may warn; start-up activation runs in
        # every process (workers too) and stays silent: status() and the doctor report.
        _patch.apply(module, quiet="import" not in requested_by)
    except Exception as exc:
        hook_error = "%s: %s" % (type(exc).__name__, exc)
    finally:
        firing = False


class _PostImportFinder:
    """A meta path finder that only wraps the loader of concurrent.futures.process.

    It finds the module through the finders behind it, then chains a loader that runs the
    real one and afterwards hands the executed module to _fire().
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TARGET or _fired:
            return None
        for finder in list(sys.meta_path):
            if finder is self:
                continue
            find_spec = getattr(finder, "find_spec", None)
            if find_spec is None:
                continue
            spec = find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _ChainedLoader(spec.loader)
        return spec


class _ChainedLoader:
    """Runs the real loader, puts it back in place, then fires the hook."""

    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # Leave no trace of ourselves on the module: code that inspects __loader__ or
        # __spec__.loader (linecache, pkgutil, pickling) sees the stdlib's own loader.
        module.__loader__ = self.loader
        spec = getattr(module, "__spec__", None)
        if spec is not None and spec.loader is self:
            spec.loader = self.loader
        self.loader.exec_module(module)
        _fire(module)
