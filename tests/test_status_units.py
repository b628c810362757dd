"""status()'s report, built in this process from detections nobody's stdlib gives at this point
(a release candidate, the pool module still importing, an error of the start-up module)."""

import types

import pytest

import backport_gh115634_startup as _startup
from _backport_gh115634 import detect as _detect
from _backport_gh115634 import status as _status

NO_INTERVENTIONS = dict.fromkeys(_detect.FIXES + ("rescue",), 0)


def test_repr_names_the_fields_that_matter():
    status = _status.build(_detect.importing(), False, [], NO_INTERVENTIONS)
    text = repr(status)
    assert text.startswith("Status(affected=None, applied=False, fixes={"), text
    assert "still being imported" in text, text


@pytest.mark.parametrize(
    ("name", "version", "shown"),
    [
        ("cpython", (3, 15, 0, "candidate", 2), "CPython 3.15.0rc2"),
        ("cpython", (3, 15, 0, "beta", 3), "CPython 3.15.0b3"),
        ("pypy", (3, 11, 13, "final", 0), "PyPy 3.11.13"),
        ("graalpy", (3, 12, 0, "dev", 1), "graalpy 3.12.0dev1"),
    ],
)
def test_python_description(monkeypatch, name, version, shown):
    info = types.SimpleNamespace(
        major=version[0],
        minor=version[1],
        micro=version[2],
        releaselevel=version[3],
        serial=version[4],
    )
    fake = types.SimpleNamespace(version_info=info, implementation=types.SimpleNamespace(name=name))
    monkeypatch.setattr(_status, "sys", fake)
    assert _status.python_description() == shown


def test_while_the_pool_module_imports_and_with_start_up_errors(monkeypatch):
    monkeypatch.setattr(_startup, "hook_error", "RuntimeError: from the hook")
    monkeypatch.setattr(_startup, "bad_env_value", "yes")
    status = _status.build(_detect.importing(), False, [None, "an error of ours"], NO_INTERVENTIONS)
    assert status.shape == _detect.IMPORTING and status.affected is None
    assert status.reason.startswith("not looked at yet: "), status.reason
    assert set(status.fixes.values()) == {_detect.MISSING}
    assert status.error == (
        "RuntimeError: from the hook; an error of ours; "
        "BACKPORT_GH115634='yes' is not understood (use 0 or 1); treated as 1"
    ), status.error
