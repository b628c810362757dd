"""More of the doctor's paths in this process, no child started: the live check's child that
outlasts both waits (a stand-in Popen), a child whose pool is patched here but not there, a
free-threaded build's GIL line, a site module that cannot list its directories, -S, an
interrupted run, and the report's lines a healthy machine does not print. The verdicts
themselves are in test_doctor_verdicts.py; the doctor as users run it in test_doctor.py."""

import json
import subprocess
import sys
import sysconfig
import types

import pytest

from _backport_gh115634 import detect as _detect
from backport_gh115634 import _doctor


class SlowChild:
    """A child process that says it started, then outlasts every wait the doctor gives it."""

    started = None  # a list, per test

    def __init__(self, argv, stdout, env, **kwargs):
        self.pid, self.returncode, self.waits = 2**22 + 7, None, []
        stdout.write((_doctor.LINE_PREFIX + json.dumps({"event": "start"}) + "\n").encode())
        SlowChild.started.append((argv, env, self))

    def wait(self, timeout=None):
        self.waits.append(timeout)
        raise subprocess.TimeoutExpired("child", timeout)


def test_a_child_that_outlasts_both_waits_is_a_hang(monkeypatch):
    monkeypatch.setattr(
        _doctor, "subprocess", types.SimpleNamespace(**dict(vars(subprocess), Popen=SlowChild))
    )
    killed = []
    monkeypatch.setattr(_doctor, "_kill_child", killed.append)
    monkeypatch.setenv("BACKPORT_TEST_UNSET_ME", "1")
    monkeypatch.setattr(SlowChild, "started", [])
    run = _doctor.run_reproducer("test", 3.0, {"BACKPORT_TEST_UNSET_ME": None, "X_SET": "1"})
    [(argv, env, child)] = SlowChild.started
    assert "BACKPORT_TEST_UNSET_ME" not in env and env["X_SET"] == "1"
    assert argv[0] == sys.executable and killed == [child]
    assert child.waits == [3.0 + _doctor.PARENT_GRACE, 10]
    assert run["outcome"] == _doctor.HUNG and run["done"] == 0, run
    assert run["env"] == {"BACKPORT_TEST_UNSET_ME": None, "X_SET": "1"}


def test_output_that_is_not_the_childs_lines_is_passed_over():
    output = "\n".join(
        ["a warning the interpreter printed"]
        + [_doctor.LINE_PREFIX + json.dumps({"event": "result", "done": 1})]
    )
    run = {"label": "test", "ran": True, "deadline": 8.0}
    run = _doctor._judge(run, output, "", True, 124, 8.5)
    assert run["done"] == 1 and run["outcome"] == _doctor.HUNG, run


def test_a_main_run_that_passed_unpatched_where_this_process_is_patched_fails(monkeypatch):
    passed = {"outcome": _doctor.PASSED, "child": {"patched": False, "requested_by": []}}
    monkeypatch.setattr(_doctor, "run_reproducer", lambda *args: dict(passed))
    spec = _doctor._spec("main", "as your programs run", 8.0)
    run = _doctor.execute(spec, {"applied": True})
    assert run["outcome"] == _doctor.FAILED, run
    assert run["detail"].endswith("(activation in the child: none)"), run


def test_plan_for_a_disabled_fix_that_something_activated_anyway():
    report = {
        "shape": _detect.PRE_FIX,
        "affected": True,
        "applied": False,
        "fixes": {"gh-115634": _detect.MISSING},
        "activation": {"disabled_by_env": True, "sources": ["import"], "automatic": False},
    }
    [main] = _doctor.plan(report, 8.0, False, 4.0)
    assert main["label"] == "as your programs run, unpatched" and main["skip"], main
    assert _doctor._run_intro(main) == _doctor._field("Live check", main["label"])


@pytest.mark.parametrize(("enabled", "state"), [(False, "off"), (True, "on"), (None, None)])
def test_gil_state_on_a_free_threaded_build(monkeypatch, enabled, state):
    real = sysconfig.get_config_var
    monkeypatch.setattr(
        sysconfig,
        "get_config_var",
        lambda name: 1 if name == "Py_GIL_DISABLED" else real(name),
    )
    if enabled is None:
        monkeypatch.delattr(sys, "_is_gil_enabled", raising=False)
    else:
        monkeypatch.setattr(sys, "_is_gil_enabled", lambda: enabled, raising=False)
    assert _doctor.gil_state() == state


def test_a_site_module_that_cannot_list_its_directories(monkeypatch):
    import site

    def broken():
        raise AttributeError("an old virtualenv's site.py")

    monkeypatch.setattr(site, "getsitepackages", broken, raising=False)
    assert _doctor._in_site_directory("/anywhere") is None


def test_no_hook_under_dash_s(monkeypatch):
    monkeypatch.setattr(
        _doctor, "sys", types.SimpleNamespace(flags=types.SimpleNamespace(no_site=1))
    )
    assert _doctor._why_no_hook({"pth": "/a/backport_gh115634.pth"}) == (
        "python ran with -S (no site, so no .pth files)"
    )


def header_report(gil):
    return {
        "version": "0.0.test",
        "python": "CPython 3.13.0",
        "executable": "/usr/bin/python3.13t",
        "python_build": "free-threaded",
        "gil": gil,
        "reason": "nothing to do: fixed",
        "fixes": dict.fromkeys(_detect.FIXES, _detect.PATCHED),
        "activation": {"description": "startup hook", "notes": ["a note to read"]},
        "error": None,
    }


@pytest.mark.parametrize(
    ("gil", "words"), [("off", "GIL         off in"), ("on", "GIL         on in")]
)
def test_the_header_names_the_gil_and_the_activation_notes(gil, words):
    text = "\n".join(_doctor._text_header(header_report(gil)))
    assert words in text, text
    assert "note: a note to read" in text, text
    # Every fix needed here: no "not needed here" field.
    assert "not needed here" not in text, text


def test_interventions_described():
    assert (
        _doctor.describe_interventions(
            {"interventions": {}, "interventions_source": "status() failed: RuntimeError: x"}
        )
        == "unknown (status() failed: RuntimeError: x)"
    )
    counts = dict.fromkeys(_doctor.INTERVENTION_NAMES, 0)
    counts.update({"gh-119592": 2, "rescue": 1})
    assert (
        _doctor.describe_interventions(
            {"interventions": counts, "interventions_source": "status()"}
        )
        == "gh-119592 2, rescue 1"
    )


def test_an_interrupted_run_exits_130(monkeypatch, capsys):
    def interrupted(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(_doctor, "collect", dict)
    monkeypatch.setattr(_doctor, "plan", interrupted)
    assert _doctor.main(["--json"]) == 130
    assert capsys.readouterr().err == "interrupted\n"
