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
