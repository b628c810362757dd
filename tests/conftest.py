import os
import subprocess
import sys

import pytest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)  # childproc, without making tests/ a package

from _backport_gh115634 import detect as _detect  # noqa: E402

START_METHODS = ["spawn", "forkserver"]

# tox.ini: where only the children are measured (PyPy), coverage's start-up file finds this in
# every child this run starts; the test process itself started unmeasured.
if os.environ.get("BACKPORT_TEST_CHILD_COVERAGE"):
    os.environ.setdefault("COVERAGE_PROCESS_START", os.environ["BACKPORT_TEST_CHILD_COVERAGE"])


def shared_tools():
    """../shared/tools next to the checkout, or BACKPORT_SHARED_TOOLS."""
    path = os.environ.get("BACKPORT_SHARED_TOOLS") or os.path.join(
        os.path.dirname(os.path.dirname(HERE)), "shared", "tools"
    )
    return path if os.path.isdir(path) else None


def stdlib_detection():
    import concurrent.futures.process as process

    return _detect.detect(process)


@pytest.fixture(scope="session")
def shipped_detection():
    return stdlib_detection()


@pytest.fixture(scope="session")
def prefix_overlay(tmp_path_factory, shipped_detection):
    """A copy of this interpreter's `concurrent` package with the upstream fix taken back out
    (../shared/tools/prefix-overlay.py); stands in for 3.14.0-3.14.6 and 3.15.0b1-b3."""
    if shipped_detection.shape != _detect.UPSTREAM:
        pytest.skip("the pre-fix overlay only applies to an upstream-fixed stdlib")
    tools = shared_tools()
    if tools is None:
        # .ci/run requires the overlay; elsewhere (a contributor's machine, GitHub Actions,
        # which tests real pre-fix releases instead) it is skipped when the tool is missing.
        if os.environ.get("BACKPORT_REQUIRE_OVERLAY") == "1":
            pytest.fail("BACKPORT_REQUIRE_OVERLAY=1, but ../shared/tools is missing")
        pytest.skip("../shared/tools not found (set BACKPORT_SHARED_TOOLS)")
    out = str(tmp_path_factory.mktemp("prefix-overlay"))
    done = subprocess.run(
        [
            sys.executable,
            os.path.join(tools, "prefix-overlay.py"),
            "--python",
            sys.executable,
            "--out",
            out,
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    if done.returncode != 0:
        pytest.fail("prefix-overlay.py refused this interpreter: %s" % done.stderr)
    return out


@pytest.fixture(params=["shipped", "prefix-overlay"])
def stdlib(request, shipped_detection):
    """The stdlib to test against: as this interpreter ships it, or its pre-fix overlay.
    Returns the overlay path (None for shipped)."""
    if request.param == "prefix-overlay":
        return request.getfixturevalue("prefix_overlay")
    if shipped_detection.shape == _detect.NO_RECYCLING:
        pytest.skip("no max_tasks_per_child before 3.11")
    return None


@pytest.fixture(params=START_METHODS)
def start_method(request):
    return request.param


# Where coverage is costly per process (PyPy's pure-Python tracer: about 0.75 s more to start
# each child, 3.13.5t's: about 0.3 s), tox.ini sets BACKPORT_TEST_COVERAGE=scenarios: the tests
# of these modules, which start the most children and run the package as other envs measure it
# (venvs and the doctor, the long randomised tests), run their children unmeasured there.
# The behavioural scenarios and the in-process tests are measured as everywhere.
UNMEASURED_CHILDREN = {"test_activation", "test_doctor", "test_model", "test_faults"}


@pytest.fixture(autouse=True)
def _coverage_scope(request, monkeypatch):
    if (
        os.environ.get("BACKPORT_TEST_COVERAGE") == "scenarios"
        and request.module.__name__ in UNMEASURED_CHILDREN
    ):
        monkeypatch.delenv("COVERAGE_PROCESS_START", raising=False)


@pytest.fixture
def windows_copy(monkeypatch):
    """Executes a fresh copy of a module of ours as on a platform without os.register_at_fork
    (Windows): copy(module) returns it. Nothing the copy registers at exit outlives the test."""
    import atexit
    import importlib.util

    monkeypatch.delattr(os, "register_at_fork", raising=False)
    monkeypatch.setattr(atexit, "register", lambda function, *args, **kwargs: function)

    def copy(module):
        spec = importlib.util.spec_from_file_location(module.__name__ + "_copy", module.__file__)
        fresh = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(fresh)
        return fresh

    return copy
