"""apply() / revert() / status(), the warning class, the env switch and detection, tested
in-process where the stdlib is only patched and restored, and in child processes where a test
must start from a fresh interpreter or break the stdlib on purpose."""

import concurrent.futures.process as process
import json
import sys
import threading
import types

import pytest

import backport_gh115634
from _backport_gh115634 import detect as _detect
from _backport_gh115634 import seams as _seams
from backport_gh115634 import _doctor
from childproc import child_env, run


def seam_keys(detection):
    if not detection.patchable:
        return []
    return _seams.seam_names(process, detection)


def snapshot():
    """Every attribute of the module and its two classes, by identity."""
    return {
        "module": dict(vars(process)),
        "executor": dict(vars(process.ProcessPoolExecutor)),
        "manager": dict(vars(process._ExecutorManagerThread)),
    }


@pytest.fixture
def pristine():
    """The stdlib as shipped before and after the test, whatever the test leaves."""
    backport_gh115634.revert()
    before = snapshot()
    yield before
    backport_gh115634.revert()
    assert snapshot() == before


def test_status_is_immutable(pristine):
    status = backport_gh115634.status()
    with pytest.raises(AttributeError):
        status.applied = True
    with pytest.raises(TypeError):
        status.fixes["gh-115634"] = "patched"
    assert tuple(status.fixes) == _detect.FIXES
    assert set(status.fixes.values()) <= {"native", "patched", "missing", "not applicable"}
    assert isinstance(status.reason, str) and status.reason


def test_interventions_are_a_read_only_count_per_fix(pristine):
    status = backport_gh115634.status()
    assert status._fields[-1] == "interventions"  # added last: positional users keep working
    counts = status.interventions
    assert isinstance(counts, types.MappingProxyType)
    assert tuple(counts) == _detect.FIXES + ("rescue",)
    assert all(isinstance(count, int) and count >= 0 for count in counts.values()), counts
    with pytest.raises(TypeError):
        counts["rescue"] = 1
    # A snapshot: a later intervention does not change a Status already handed out.
    assert backport_gh115634.status().interventions is not counts
    assert tuple(counts) == _doctor.INTERVENTION_NAMES  # the doctor's copy of the names


def test_apply_twice_then_revert_restores_the_exact_originals(pristine, shipped_detection):
    keys = seam_keys(shipped_detection)
    first = backport_gh115634.apply()
    patched = {key: vars(key[0])[key[1]] for key in keys}
    second = backport_gh115634.apply()
    assert first == second
    for (owner, name), function in patched.items():
        assert vars(owner)[name] is function  # not wrapped a second time
        assert (
            function.__wrapped__
            is pristine["executor" if owner is process.ProcessPoolExecutor else "manager"][name]
        )
    status = backport_gh115634.revert()
    assert status.applied is False
    assert snapshot() == pristine


def test_status_matches_detection(pristine, shipped_detection):
    status = backport_gh115634.apply()
    assert status.affected == shipped_detection.affected
    assert status.applied is shipped_detection.patchable
    for fix, state in shipped_detection.fixes.items():
        expected = "patched" if state == "missing" and status.applied else state
        assert status.fixes[fix] == expected


def test_unaffected_stdlib_is_left_exactly_as_it_is(pristine, shipped_detection):
    if shipped_detection.affected is not False:
        pytest.skip("this stdlib is affected")
    status = backport_gh115634.apply()
    assert status.applied is False
    assert set(status.fixes.values()) <= {"native", "not applicable"}
    assert snapshot() == pristine


def test_apply_and_revert_racing_from_threads(pristine, shipped_detection):
    keys = seam_keys(shipped_detection)
    barrier = threading.Barrier(8)
    errors = []

    def hammer(index):
        try:
            barrier.wait(10)
            for _ in range(50):
                (backport_gh115634.apply if index % 2 else backport_gh115634.revert)()
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=hammer, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors and not any(thread.is_alive() for thread in threads)
    status = backport_gh115634.apply()
    for owner, name in keys:
        function = vars(owner)[name]
        assert function.__module__ == _seams.__name__
        assert function.__wrapped__.__module__ == process.__name__  # one layer, over the stdlib
    assert status.applied is bool(keys)


class _Refuses(type):
    """A class that refuses new attributes, as a class made read-only by a C extension would."""

    def __setattr__(cls, name, value):
        raise TypeError("cannot set %r on %s" % (name, cls.__name__))


def test_a_failed_apply_puts_back_what_it_had_installed(pristine, shipped_detection, monkeypatch):
    if not shipped_detection.patchable:
        pytest.skip("needs a patchable stdlib")
    from _backport_gh115634 import patch as _patch

    class Accepts:
        def first(self):
            return "stdlib"

    class Refuses(metaclass=_Refuses):
        def second(self):
            return "stdlib"

    originals = Accepts.__dict__["first"], Refuses.__dict__["second"]
    keys = [(Accepts, "first"), (Refuses, "second")]
    monkeypatch.setattr(_patch.seams, "seam_names", lambda process, detection: keys)
    monkeypatch.setattr(
        _patch.seams,
        "build",
        lambda process, replacement, found: {key: (lambda self: "ours") for key in keys},
    )
    with pytest.raises(TypeError, match="cannot set 'second'"):
        backport_gh115634.apply()
    # All or none: the seam set before the failure is gone again, and nothing is recorded.
    assert (Accepts.__dict__["first"], Refuses.__dict__["second"]) == originals
    assert not set(keys) & set(_patch.originals())
    status = backport_gh115634.status()
    assert status.applied is False
    assert status.error.startswith("apply() failed: TypeError: cannot set 'second'"), status
    monkeypatch.undo()
    # A later apply() that succeeds clears the error.
    status = backport_gh115634.apply()
    assert status.applied is True and status.error is None, status


def test_detection_cross_checks_the_version(shipped_detection):
    if not shipped_detection.patchable:
        pytest.skip("needs a patchable stdlib")
    later = _detect.detect(process, version=(3, 16, 0, "final", 0))
    if shipped_detection.shape == _detect.PRE_FIX:
        # A pre-fix stdlib on a later release is patched by its code.
        assert later.shape == _detect.PRE_FIX and "going by its code" in later.reason
    else:
        # Fix 1 only is a 3.13 shape: elsewhere unrecognised, and on a release that shipped the
        # fix that means nothing to do, not an alarm.
        assert later.shape == _detect.FIXED_RELEASE and later.affected is False
        assert _detect.detect(process, version=(3, 12, 1, "final", 0)).shape == _detect.UNKNOWN
    overlaid = _detect.detect(process, version=(3, 14, 10, "final", 0))
    if shipped_detection.shape == _detect.PRE_FIX:
        assert overlaid.shape == _detect.PRE_FIX
        assert "going by its code" in overlaid.reason


# --- in fresh interpreters --------------------------------------------------------------------

CHILD = r"""
import json, sys, warnings
warnings.simplefilter("always")
caught = []
warnings.showwarning = lambda message, category, *rest: caught.append(
    [category.__name__, str(message)])
%s
import backport_gh115634
lazy = "concurrent.futures.process" not in sys.modules
import concurrent.futures.process
status = backport_gh115634.status()
again = backport_gh115634.apply()
print("RESULT", json.dumps({"lazy": lazy, "applied": status.applied,
      "affected": status.affected, "reason": status.reason, "error": status.error,
      "activation": list(status.activation), "warnings": caught,
      "applied_after_explicit_apply": again.applied}))
"""


def run_child(prelude="", env_value=None):
    """A fresh interpreter without start-up hooks (-S: no .pth even where the wheel is
    installed; the package comes from PYTHONPATH), so activation is the import's alone."""
    env = child_env(enabled=True)
    if env_value is None:
        env.pop("BACKPORT_GH115634", None)
    else:
        env["BACKPORT_GH115634"] = env_value
    done = run(["-S", "-c", CHILD % prelude], env, deadline=60)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    assert done.returncode == 0 and lines, done.describe()
    return json.loads(lines[-1][len("RESULT ") :])


def test_import_activates_lazily(shipped_detection):
    result = run_child()
    if sys.version_info < (3, 11):
        assert result["affected"] is False and result["warnings"] == []
    assert result["lazy"] is True  # importing the package does not import the process pool
    assert result["applied"] is shipped_detection.patchable
    assert result["activation"] == ["import"]
    assert result["warnings"] == []


def test_env_zero_disables_import_activation_but_not_apply(shipped_detection):
    result = run_child(env_value="0")
    assert result["applied"] is False
    assert result["activation"] == ["disabled by BACKPORT_GH115634=0"]
    assert result["applied_after_explicit_apply"] is shipped_detection.patchable


@pytest.mark.parametrize("value", ["yes", "2", "off"])
def test_bad_env_value_warns_and_applies(value, shipped_detection):
    result = run_child(env_value=value)
    assert [w[0] for w in result["warnings"]] == ["BackportWarning"]
    assert "BACKPORT_GH115634" in result["warnings"][0][1]
    assert repr(value) in result["warnings"][0][1]
    assert result["applied"] is shipped_detection.patchable
    assert "not understood" in result["error"]


# Gives the manager loop a shape nobody ships (before anything of ours is imported).
UNRECOGNISABLE = r"""
import concurrent.futures.process as p
p._ExecutorManagerThread.run = lambda self: None
vars(p._ExecutorManagerThread).get("_replace_dead_worker") and \
    delattr(p._ExecutorManagerThread, "_replace_dead_worker")
before = dict(vars(p.ProcessPoolExecutor)), dict(vars(p._ExecutorManagerThread))
"""

needs_recycling = pytest.mark.skipif(
    sys.version_info < (3, 11), reason="before 3.11 every stdlib shape is a silent no-op"
)


@needs_recycling
def test_unrecognised_stdlib_warns_once_and_is_left_alone():
    # The shim must refuse, warn once, and leave every attribute where it was; importing must
    # still not raise.
    result = run_child(UNRECOGNISABLE)
    if _detect.release_has_fix(sys.version_info):
        # A release that shipped the fix carries it by definition: no alarm (tests/
        # test_release_gate.py checks this against a refactored stdlib and the doctor).
        assert result["affected"] is False and result["applied"] is False
        assert "does not recognise" in result["reason"], result
        assert result["warnings"] == []
        return
    assert result["affected"] is None and result["applied"] is False
    assert "unrecognised" in result["reason"]
    assert [w[0] for w in result["warnings"]] == ["BackportWarning"]
    assert "left concurrent.futures.process untouched" in result["warnings"][0][1]


@needs_recycling
def test_unrecognised_stdlib_changes_nothing():
    code = (
        UNRECOGNISABLE
        + r"""
import warnings; warnings.simplefilter("ignore")
import backport_gh115634
backport_gh115634.apply(); backport_gh115634.apply()
after = dict(vars(p.ProcessPoolExecutor)), dict(vars(p._ExecutorManagerThread))
print("SAME" if before == after else "CHANGED")
"""
    )
    done = run(["-S", "-c", code], child_env(enabled=True), deadline=60)
    assert done.stdout.strip().splitlines()[-1] == "SAME", done.describe()
