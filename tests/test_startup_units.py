"""The start-up module's own decisions and its "never raise" promises, in this process.

Each test runs a fresh copy of backport_gh115634_startup (the installed file, executed as a
module of another name), so its globals start as at interpreter start and the copy this process
really runs is left alone. The copy never hands anything to the package: its _hand_over is
replaced by a recorder. The paths a real start-up takes are tested end to end in
test_activation.py and test_machinery.py; these are the ones a healthy start-up does not reach.
"""

import importlib.util
import sys
import types

import pytest

import backport_gh115634_startup as _startup


@pytest.fixture
def startup(monkeypatch):
    """A fresh copy of the start-up module; what it would hand over lands in .handed_over."""
    spec = importlib.util.spec_from_file_location("startup_under_test", _startup.__file__)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module.handed_over = []
    module._hand_over = module.handed_over.append
    monkeypatch.delenv(module.ENV_VAR, raising=False)
    yield module
    finder = module._finder
    if finder is not None and finder in sys.meta_path:
        sys.meta_path.remove(finder)


def pool_module():
    """A stand-in for concurrent.futures.process with the one class the deferral touches."""
    module = types.ModuleType("pool_module_under_test")

    class ProcessPoolExecutor:
        def __init__(self, max_workers=None):
            """The stdlib's."""
            self.max_workers = max_workers

    module.ProcessPoolExecutor = ProcessPoolExecutor
    return module


def test_activate_never_raises(startup, monkeypatch):
    def broken():
        raise RuntimeError("environment unreadable")

    monkeypatch.setattr(startup, "env_enabled", broken)
    assert startup.activate("sitecustomize") is False
    assert startup.hook_error == "RuntimeError: environment unreadable"
    assert startup.calls == ["sitecustomize"]


def test_env_values(startup, monkeypatch):
    for raw, enabled in [("", True), (" 1 ", True), ("0", False), ("yes", True)]:
        monkeypatch.setenv(startup.ENV_VAR, raw)
        assert startup.env_enabled() is enabled, raw
    assert startup.bad_env_value == "yes"


def test_a_deferral_stands_until_the_process_makes_a_pool(startup):
    module = pool_module()
    original = module.ProcessPoolExecutor.__dict__["__init__"]
    with startup._lock:
        assert startup._defer(module) is True
    stand_in = module.ProcessPoolExecutor.__dict__["__init__"]
    assert stand_in is not original and stand_in.__wrapped__ is original
    assert stand_in.__doc__ == original.__doc__ and startup.deferred()
    # Another activation (a sitecustomize line) leaves the deferral in place.
    assert startup.activate("sitecustomize") is True and startup.handed_over == []
    executor = module.ProcessPoolExecutor(3)
    assert executor.max_workers == 3 and startup.handed_over == [module]
    assert startup.undefer() is True and startup.undefer() is False
    assert module.ProcessPoolExecutor.__dict__["__init__"] is original


def test_an_unknown_module_is_not_deferred(startup):
    with startup._lock:
        assert startup._defer(types.ModuleType("no_pool_here")) is False
    assert not startup.deferred()


def test_the_child_check_never_raises(startup, monkeypatch):
    class Broken:
        @staticmethod
        def current_process():
            raise RuntimeError("half torn down")

    monkeypatch.setitem(sys.modules, "multiprocessing.process", Broken)
    assert startup._bootstrapping_child() is False
    monkeypatch.delitem(sys.modules, "multiprocessing.process")
    assert startup._bootstrapping_child() is False


def test_executed_hands_over_and_tolerates_a_finder_already_gone(startup):
    # The finder was taken off sys.meta_path by someone else (a test runner restoring it).
    startup._finder = startup._PostImportFinder()
    module = pool_module()
    startup._executed(module)
    assert startup.fired is True and startup.delivered is module
    assert startup._finder is None and startup.handed_over == [module]


def test_the_finder_passes_over_other_modules_and_what_nobody_finds(startup, monkeypatch):
    finder = startup._PostImportFinder()
    assert finder.find_spec("json") is None
    monkeypatch.setattr(sys, "meta_path", [finder])
    assert finder.find_spec(startup.TARGET) is None


class RecordingLoader:
    """A loader that executes nothing and answers any other question itself."""

    def __init__(self):
        self.executed = []

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        self.executed.append(module)

    def is_package(self, fullname):
        return False


def test_the_chained_loader_leaves_no_trace_and_never_fails_the_import(startup, monkeypatch):
    loader = RecordingLoader()
    chained = startup._ChainedLoader(loader)
    assert chained.is_package(startup.TARGET) is False  # delegated
    assert chained.create_module(None) is None

    def broken(module):
        raise RuntimeError("our bug")

    monkeypatch.setattr(startup, "_executed", broken)
    module = types.ModuleType(startup.TARGET)
    module.__spec__ = importlib.util.spec_from_loader(startup.TARGET, chained)
    chained.exec_module(module)  # does not raise
    assert loader.executed == [module]
    assert module.__loader__ is loader and module.__spec__.loader is loader
    assert startup.hook_error == "RuntimeError: our bug"


def test_executed_with_no_finder_left_and_a_deferral(startup, monkeypatch):
    # A pool worker still unpickling its task: the module is deferred, not handed over.
    monkeypatch.setattr(startup, "_bootstrapping_child", lambda: True)
    module = pool_module()
    original = module.ProcessPoolExecutor.__dict__["__init__"]
    assert startup._finder is None
    startup._executed(module)
    assert startup.fired is True and startup.delivered is module
    assert startup.deferred() and startup.handed_over == []
    assert startup.undefer() is True
    assert module.ProcessPoolExecutor.__dict__["__init__"] is original


def test_undefer_leaves_an_init_someone_put_over_the_stand_in(startup):
    module = pool_module()
    with startup._lock:
        assert startup._defer(module) is True

    def theirs(self, *args, **kwargs):
        """Another library's wrapper, put on after ours."""

    module.ProcessPoolExecutor.__init__ = theirs
    assert startup.undefer() is True and not startup.deferred()
    assert module.ProcessPoolExecutor.__dict__["__init__"] is theirs


def test_a_forked_child_gets_a_new_lock(startup):
    held = startup._lock
    with held:  # some thread of the parent held it at the fork
        startup._after_fork_in_child()
    assert startup._lock is not held and startup._lock.acquire(blocking=False)
    startup._lock.release()


def test_a_platform_without_register_at_fork(windows_copy):
    module = windows_copy(_startup)  # executes without registering anything
    assert module._finder is None and not module.fired


class NamespaceFinder:
    """Finds the target as a namespace package would: a spec with no loader."""

    def __init__(self, loader=None):
        self.loader = loader

    def find_spec(self, fullname, path=None, target=None):
        return importlib.util.spec_from_loader(fullname, self.loader)


class LegacyLoader:
    """A loader with load_module() only, as pre-PEP 451 importers had."""

    def load_module(self, fullname):
        raise AssertionError("not called by find_spec")


@pytest.mark.parametrize("loader", [None, LegacyLoader()])
def test_the_finder_leaves_a_loader_it_cannot_chain_alone(startup, monkeypatch, loader):
    finder = startup._PostImportFinder()
    monkeypatch.setattr(sys, "meta_path", [finder, NamespaceFinder(loader)])
    spec = finder.find_spec(startup.TARGET)
    assert spec is not None and spec.loader is loader
    assert startup._loading is None


def test_the_chained_loader_after_the_hook_fired(startup, monkeypatch):
    # A second import of the target (after it was taken out of sys.modules) through a loader
    # chained before the hook fired: it only executes, and hands nothing over twice.
    loader = RecordingLoader()
    chained = startup._ChainedLoader(loader)
    monkeypatch.setattr(startup, "fired", True)
    module = types.ModuleType(startup.TARGET)  # no __spec__: made by hand
    module.__spec__ = None
    chained.exec_module(module)
    assert loader.executed == [module] and module.__loader__ is loader
    assert startup.handed_over == [] and startup.hook_error is None
