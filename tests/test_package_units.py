"""The public package's own few paths, and the warning helper's, in this process: the warning
for a BACKPORT_GH115634 value nobody understands, a warning with no frame outside the package to
point at, and ``backport_gh115634.__main__`` imported rather than run. What users see of these
end to end (a real import with the variable set, ``python -m``) is in test_api.py and
test_doctor.py."""

import importlib
import sys
import warnings

import pytest

import backport_gh115634
import backport_gh115634_startup as _startup
from _backport_gh115634 import warning


def test_a_value_nobody_understands_is_warned_about_on_import(monkeypatch):
    activated = []
    monkeypatch.setattr(_startup, "activate", lambda source: activated.append(source) or True)
    monkeypatch.setattr(_startup, "bad_env_value", "yes please")
    with pytest.warns(backport_gh115634.BackportWarning) as caught:
        backport_gh115634._activate_on_import()
    assert activated == ["import"]
    assert [str(w.message) for w in caught] == [
        "BACKPORT_GH115634='yes please' is not understood; use 1 (apply the fix, the default) "
        "or 0 (do not apply it on import). Applying it."
    ]
    assert caught[0].filename == __file__


def test_no_warning_where_the_variable_switched_the_fix_off(monkeypatch):
    monkeypatch.setattr(_startup, "activate", lambda source: False)
    monkeypatch.setattr(_startup, "bad_env_value", "yes please")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        backport_gh115634._activate_on_import()


def test_a_warning_with_no_frame_of_the_users_points_at_its_caller(monkeypatch):
    monkeypatch.setattr(warning, "caller_frame", lambda: None)
    with pytest.warns(warning.BackportWarning, match="every frame was ours") as caught:
        warning.warn("every frame was ours")
    assert caught[0].filename == __file__


def test_the_doctor_module_runs_nothing_when_imported(monkeypatch):
    name = "backport_gh115634.__main__"
    monkeypatch.setattr(sys, "exit", lambda code=None: pytest.fail("__main__ ran the doctor"))
    package = vars(backport_gh115634)
    saved = sys.modules.pop(name, None), package.pop("__main__", None)
    try:
        module = importlib.import_module(name)
    finally:
        # As found: an import also leaves the submodule on its package.
        for mapping, key, value in ((sys.modules, name, saved[0]), (package, "__main__", saved[1])):
            if value is None:
                mapping.pop(key, None)
            else:
                mapping[key] = value
    assert callable(module.main)
