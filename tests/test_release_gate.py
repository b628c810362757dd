"""The release gate: which releases the .pth line imports anything on, checked row by row against
_detect's table, the BACKPORT_GH115634=1 opt-in, and a future stdlib shape on a release that
shipped the fix (no alarm, nothing patched, the doctor exits 0).

The .pth line is exec'd here as the wheel ships it, past its `import os, sys;`, with stand-in
`sys`, `os` and `__import__`, so every row of the table is tried on every interpreter.
"""

import json
import os
import shutil
import types

import pytest

from _backport_gh115634 import detect as _detect
from childproc import child_env, run

HERE = os.path.dirname(os.path.abspath(__file__))
PTH = os.path.join(os.path.dirname(HERE), "startup", "backport_gh115634.pth")

# One row per release line edge: (version_info, may the release ship the bug?).
ROWS = [
    ((3, 9, 18, "final", 0), False),
    ((3, 10, 13, "final", 0), False),
    ((3, 11, 0, "alpha", 1), True),
    ((3, 11, 0, "final", 0), True),
    ((3, 11, 7, "final", 0), True),
    ((3, 12, 1, "final", 0), True),
    ((3, 13, 0, "final", 0), True),
    ((3, 13, 5, "final", 0), True),
    ((3, 13, 18, "final", 0), True),  # fix 1 only: the hardening is still missing
    ((3, 14, 0, "alpha", 1), True),
    ((3, 14, 0, "final", 0), True),
    ((3, 14, 6, "final", 0), True),
    ((3, 14, 7, "final", 0), False),
    ((3, 14, 10, "final", 0), False),
    ((3, 15, 0, "alpha", 1), True),
    ((3, 15, 0, "beta", 1), True),
    ((3, 15, 0, "beta", 3), True),
    ((3, 15, 0, "beta", 4), True),  # fixed, but checked by shape like every pre-release
    ((3, 15, 0, "candidate", 1), True),
    ((3, 15, 0, "final", 0), False),
    ((3, 15, 2, "final", 0), False),
    ((3, 16, 0, "alpha", 1), False),
    ((3, 16, 0, "final", 0), False),
    ((3, 20, 0, "final", 0), False),
    ((4, 0, 0, "final", 0), False),
]


def pth_lines():
    with open(PTH, encoding="utf-8") as handle:
        lines = [line.strip() for line in handle.read().splitlines()]
    return [line for line in lines if line and not line.startswith("#")]


class _Version(tuple):
    """Compares like sys.version_info (a tuple) and indexes the same way."""


def exec_pth(version, env):
    """Run the .pth's import line as site does; return the activate() calls it made."""
    calls = []
    fake_sys = types.SimpleNamespace(version_info=_Version(version))
    fake_os = types.SimpleNamespace(environ=dict(env))
    startup = types.SimpleNamespace(activate=lambda source="startup hook": calls.append(source))
    modules = {"sys": fake_sys, "os": fake_os, "backport_gh115634_startup": startup}
    imported = []

    def fake_import(name, *args, **kwargs):
        imported.append(name)
        return modules[name]

    # The line's own `import os, sys` would bind the real modules: run what follows it with the
    # stand-ins (and __import__) as globals, which every implementation looks up first (PyPy
    # does not take __import__ from a custom __builtins__, so that route tests nothing there).
    prefix = "import os, sys; "
    for line in pth_lines():
        assert line.startswith("import "), line  # site execs only lines starting so
        assert line.startswith(prefix), line
        exec(line[len(prefix) :], {"os": fake_os, "sys": fake_sys, "__import__": fake_import})
    return calls, imported


def test_the_pth_is_one_import_line():
    assert len(pth_lines()) == 1


@pytest.mark.parametrize(
    ("version", "may_need"), ROWS, ids=[".".join(map(str, v)) for v, _ in ROWS]
)
def test_pth_gate_matches_detect(version, may_need):
    assert _detect.release_may_be_affected(version) is may_need
    assert _detect.release_has_fix(version) is (not may_need and version[:2] >= (3, 11))
    calls, imported = exec_pth(version, {})
    assert calls == (["startup hook"] if may_need else []), (version, calls)
    # Nothing of ours is even looked up where the release cannot need it.
    assert ("backport_gh115634_startup" in imported) is may_need


@pytest.mark.parametrize(
    ("value", "goes"),
    [("1", True), (" 1 ", True), ("0", False), (" 0", False), ("", None), ("yes", None)],
)
@pytest.mark.parametrize(
    "version",
    [
        (3, 12, 1, "final", 0),
        (3, 15, 2, "final", 0),
        (3, 16, 0, "final", 0),
        (3, 10, 13, "final", 0),
    ],
)
def test_pth_opt_in(version, value, goes):
    # Only an explicit 1 opens the gate on every release, and only 0 shuts it on every release:
    # the kill switch imports nothing. Anything else keeps the default (affected releases import
    # the start-up module, which records a bad value).
    calls, _ = exec_pth(version, {"BACKPORT_GH115634": value})
    expected = goes if goes is not None else _detect.release_may_be_affected(version)
    assert calls == (["startup hook"] if expected else [])


# --- a future stdlib shape on a release that shipped the fix ----------------------------------


def _refactored(process):
    """A stand-in module: the real classes, with the manager's _replace_dead_worker renamed (or,
    on a pre-fix stdlib, the worker-exit path changed), as a later refactor might."""
    module = types.ModuleType(process.__name__)
    module.__dict__.update(vars(process))
    manager = type("_ExecutorManagerThread", (object,), {"run": lambda self: None})
    module._ExecutorManagerThread = manager
    return module


@pytest.mark.parametrize(
    "version", [(3, 14, 7, "final", 0), (3, 15, 2, "final", 0), (3, 16, 0, "final", 0)]
)
def test_unrecognised_shape_on_a_fixed_release_is_fixed(version):
    import concurrent.futures.process as process

    detection = _detect.detect(_refactored(process), version=version)
    assert detection.shape == _detect.FIXED_RELEASE
    assert detection.affected is False and not detection.patchable
    assert "was released with the fix" in detection.reason
    assert "does not recognise" in detection.reason
    assert _detect.MISSING not in detection.fixes.values()


def test_unrecognised_shape_on_an_affected_release_still_warns():
    import concurrent.futures.process as process

    detection = _detect.detect(_refactored(process), version=(3, 12, 1, "final", 0))
    assert detection.shape == _detect.UNKNOWN and detection.affected is None


@pytest.fixture(scope="module")
def refactored_stdlib(tmp_path_factory):
    """A copy of this interpreter's `concurrent` package whose manager thread's
    _replace_dead_worker is renamed: 3.15.2 after a refactor, say. Only an upstream-fixed stdlib
    has that method, and only a release that shipped the fix may carry it."""
    import concurrent
    import concurrent.futures.process as process

    if _detect.detect(process).shape != _detect.UPSTREAM:
        pytest.skip("needs an upstream-fixed stdlib (3.14.7+, 3.15)")
    out = tmp_path_factory.mktemp("refactored")
    target = out / "concurrent"
    shutil.copytree(
        os.path.dirname(concurrent.__file__),
        str(target),
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    path = target / "futures" / "process.py"
    source = path.read_text(encoding="utf-8")
    assert "_replace_dead_worker" in source
    path.write_text(
        source.replace("_replace_dead_worker", "_replace_retired_worker"), encoding="utf-8"
    )
    return str(out)


def test_refactored_fixed_stdlib_no_warning_nothing_patched(refactored_stdlib):
    code = (
        "import json, warnings\n"
        "warnings.simplefilter('error')\n"
        "import backport_gh115634, concurrent.futures.process as p\n"
        "assert '_replace_retired_worker' in vars(p._ExecutorManagerThread)\n"
        "s = backport_gh115634.status()\n"
        "print(json.dumps([s.affected, s.applied, s.shape, s.reason, dict(s.fixes)]))\n"
    )
    done = run(["-c", code], child_env(refactored_stdlib, enabled=True), deadline=60)
    assert done.returncode == 0 and done.stderr == "", done.describe()
    affected, applied, shape, reason, _fixes = json.loads(done.stdout)
    assert (affected, applied, shape) == (False, False, _detect.FIXED_RELEASE), reason
    assert "was released with the fix" in reason and "does not recognise" in reason


def test_refactored_fixed_stdlib_doctor_exits_0(refactored_stdlib):
    done = run(
        ["-m", "backport_gh115634", "--json"],
        child_env(refactored_stdlib, enabled=True),
        deadline=180,
    )
    assert not done.timed_out, done.describe()
    report = json.loads(done.stdout)
    assert done.returncode == 0, done.describe()
    assert report["affected"] is False and report["applied"] is False
    assert report["live_check"]["outcome"] == "passed", report["live_check"]
    assert report["shape"] == _detect.FIXED_RELEASE
