"""Start-up activation of backport_gh115634.

This module runs in every Python process of an environment that has the package installed (from
``backport_gh115634.pth``, ``backport_gh115634.start`` or a ``sitecustomize``), worker processes
included. So it stays tiny and silent: it imports nothing beyond ``sys`` and ``os`` (both already
loaded when ``site`` runs), never raises, never prints, and does no work until
``concurrent.futures.process`` is imported. Then a one-shot import hook decides what to do:

- a stdlib whose shape can never be patched (fixed upstream, or without ``max_tasks_per_child``):
  nothing, and the package stays unimported (``status()`` still inspects the stdlib if asked);
- a multiprocessing child still unpickling its task (a spawn or forkserver pool worker): nothing
  yet; the fix is applied when that process first constructs a ``ProcessPoolExecutor`` of its
  own, which most workers never do;
- otherwise: hand the module to ``backport_gh115634._patch``, which patches what is missing.

Its name and ``activate()`` are a permanent interface: an old ``.pth`` may call a newer package.

(A ``.pth`` line that defers even importing this module, by exec'ing a placeholder finder's
source, was measured and dropped: compiling that source at every start cost more than
importing this module's cached bytecode. See BENCHMARKS.md, benchmark 1.)
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
# (class, its own __init__, our stand-in) while applying waits for the first executor.
_deferred = None


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
        _install_hook(loud=source == "import")
        return True
    except Exception as exc:  # a start-up hook must never take the interpreter down
        hook_error = "%s: %s" % (type(exc).__name__, exc)
        return False


def _install_hook(loud):
    global _finder
    if _fired:
        # An explicit `import backport_gh115634` after the hook fired: apply now (it may have
        # been deferred or skipped), and this time warn about a stdlib we do not recognise.
        if loud:
            _apply(sys.modules.get(TARGET), quiet=False)
        return
    module = sys.modules.get(TARGET)
    if module is not None:
        _fire(module)
        return
    if _finder is None:
        _finder = _PostImportFinder()
        sys.meta_path.insert(0, _finder)


def _fire(module):
    """Called once, right after concurrent.futures.process has executed."""
    global _fired, _finder
    if _fired:
        return
    _fired = True
    if _finder is not None:
        try:
            sys.meta_path.remove(_finder)
        except ValueError:
            pass
        _finder = None
    # Only an explicit `import backport_gh115634` may warn; start-up activation runs in every
    # process (workers too) and stays silent: status() and the doctor report.
    if "import" in requested_by:
        _apply(module, quiet=False)
    elif _never_patched(module):
        return
    elif _bootstrapping_child():
        _defer(module)
    else:
        _apply(module, quiet=True)


def _apply(module, quiet):
    global hook_error, firing
    _undefer()
    firing = True
    try:
        from backport_gh115634 import _patch

        _patch.apply(module, quiet=quiet)
    except Exception as exc:
        hook_error = "%s: %s" % (type(exc).__name__, exc)
    finally:
        firing = False


def _never_patched(module):
    """True where backport_gh115634._detect could only answer "nothing to patch": the manager
    thread replaces workers itself (fixed upstream), or the executor has no max_tasks_per_child
    (before 3.11). There the hook leaves the package unimported; status() still detects."""
    try:
        if callable(getattr(module._ExecutorManagerThread, "_replace_dead_worker", None)):
            return True
        return "max_tasks_per_child" not in module.ProcessPoolExecutor.__init__.__code__.co_varnames
    except Exception:
        return False  # something unusual: let the package look at it


def _bootstrapping_child():
    """True in a multiprocessing child still unpickling its task, as a pool worker does when it
    imports the pool module. Such a process needs the fix only if it makes a pool of its own."""
    mp_process = sys.modules.get("multiprocessing.process")
    if mp_process is None:
        return False
    try:
        return bool(getattr(mp_process.current_process(), "_inheriting", False))
    except Exception:
        return False


def _defer(module):
    """Apply the fix when this process first constructs a ProcessPoolExecutor, not now."""
    global _deferred
    try:
        cls = module.ProcessPoolExecutor
        original = cls.__dict__["__init__"]
    except Exception:
        _apply(module, quiet=True)
        return

    def __init__(self, *args, **kwargs):
        _apply(module, quiet=True)  # puts the original __init__ back first
        return original(self, *args, **kwargs)

    __init__.__wrapped__ = original  # inspect.signature() shows the real parameters
    __init__.__doc__ = original.__doc__
    _deferred = (cls, original, __init__)
    cls.__init__ = __init__


def _undefer():
    global _deferred
    deferred, _deferred = _deferred, None
    if deferred is not None:
        cls, original, stand_in = deferred
        if cls.__dict__.get("__init__") is stand_in:
            cls.__init__ = original


def _find_behind_us(fullname, path, target):
    """The spec the other meta path finders give for fullname (None if none does)."""
    for finder in list(sys.meta_path):
        if isinstance(finder, _PostImportFinder):
            continue
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is not None:
            spec = find_spec(fullname, path, target)
            if spec is not None:
                return spec
    return None


class _PostImportFinder:
    """A meta path finder that only wraps the loader of concurrent.futures.process.

    It finds the module through the finders behind it, then chains a loader that runs the
    real one and afterwards hands the executed module to _fire().
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname != TARGET or _fired:
            return None
        spec = _find_behind_us(fullname, path, target)
        if spec is not None and spec.loader is not None and hasattr(spec.loader, "exec_module"):
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
