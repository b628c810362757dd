"""The doctor's judgements, in this process: what a live run's output means (_judge), what the
child's counts were (_interventions), why no start-up hook ran (_why_no_hook, through
describe_activation), and the exit code and verdict each combination gets (decide).

test_doctor.py runs the doctor as users do; these cover the outcomes a healthy machine does not
produce (a child that crashed, printed wrong results or garbage, a .pth outside site-packages).
"""

import json
import types

import pytest

import backport_gh115634_startup as _startup
from backport_gh115634 import _doctor

ALL = [i * 2 for i in range(_doctor.TASKS)]


def line(**fields):
    return _doctor.LINE_PREFIX + json.dumps(fields)


def judge(stdout="", stderr="", timed_out=False, returncode=0, wall=1.5):
    run = {"label": "test", "ran": True, "deadline": 8.0}
    return _doctor._judge(run, stdout, stderr, timed_out, returncode, wall)


def child_output(results=ALL, done=True, interventions=None, garbage=False):
    lines = [line(event="start", patched=True)]
    lines += [line(event="result", done=i + 1) for i in range(len(results))]
    if garbage:
        lines.append(_doctor.LINE_PREFIX + "{not json")
    if done:
        lines.append(line(event="done", results=results, seconds=0.5, interventions=interventions))
    return "\n".join(lines) + "\n"


def test_a_complete_run_passes_with_the_childs_own_time():
    run = judge(child_output(interventions={"gh-115634": 4}, garbage=True))
    assert run["outcome"] == _doctor.PASSED and run["seconds"] == 0.5, run
    assert run["done"] == _doctor.TASKS and run["child"]["patched"] is True, run
    assert run["interventions"]["gh-115634"] == 4 and run["interventions_source"] == "status()"
    assert set(run["interventions"]) == set(_doctor.INTERVENTION_NAMES)


def test_stopped_at_the_deadline_with_some_results_is_a_hang():
    run = judge(child_output(results=ALL[:2], done=False), timed_out=True, returncode=124)
    assert run["outcome"] == _doctor.HUNG and run["done"] == 2, run
    assert "2 of 10 results, then nothing" in run["detail"], run
    assert run["interventions_source"] == "not reached"
    assert set(run["interventions"].values()) == {0}


def test_every_result_but_no_shutdown_is_a_hang_too():
    run = judge(child_output(done=False), timed_out=True, returncode=124)
    assert run["outcome"] == _doctor.HUNG
    assert "did not shut down" in run["detail"], run


def test_a_crashed_child_fails_with_the_tail_of_its_stderr():
    stderr = "\n".join("line %d" % i for i in range(9)) + "\nRuntimeError: boom\n"
    run = judge(child_output(results=ALL[:3], done=False), stderr=stderr, returncode=1)
    assert run["outcome"] == _doctor.FAILED, run
    assert "status 1 after 3 of 10 results" in run["detail"], run
    assert "RuntimeError: boom" in run["detail"] and "line 4" not in run["detail"], run
    silent = judge("", returncode=-9)
    assert silent["outcome"] == _doctor.FAILED and "no output" in silent["detail"], silent


def test_wrong_results_fail():
    run = judge(child_output(results=[0] * _doctor.TASKS))
    assert run["outcome"] == _doctor.FAILED and "wrong results" in run["detail"], run


@pytest.mark.parametrize(
    ("reported", "source"),
    [(None, "not loaded"), ("RuntimeError: no", "status() failed: RuntimeError: no")],
)
def test_interventions_the_child_could_not_report(reported, source):
    run = judge(child_output(interventions=reported))
    assert run["interventions_source"] == source, run
    assert set(run["interventions"].values()) == {0}


@pytest.fixture
def no_activation(monkeypatch):
    """This process as if nothing had activated the package and no variable were set."""
    monkeypatch.setattr(_startup, "requested_by", [])
    monkeypatch.setattr(_startup, "calls", [])
    monkeypatch.setattr(_startup, "disabled_by_env", False)
    monkeypatch.delenv(_startup.ENV_VAR, raising=False)


def test_no_pth_next_to_the_start_up_module(no_activation, monkeypatch):
    monkeypatch.setattr(_doctor, "_startup_files", lambda: {"pth": None})
    activation = _doctor.describe_activation()
    assert activation["automatic"] is False and activation["sources"] == []
    assert activation["description"].startswith("not activated: ")
    assert "backport_gh115634.pth is not installed" in activation["description"]


def test_a_pth_outside_site_packages(no_activation, monkeypatch, tmp_path):
    pth = tmp_path / "backport_gh115634.pth"
    pth.write_text("")
    monkeypatch.setattr(_doctor, "_startup_files", lambda: {"pth": str(pth)})
    monkeypatch.setattr(_doctor, "_pth_stands_down", lambda files: False)
    monkeypatch.setattr(_doctor, "_in_site_directory", lambda path: False)
    text = _doctor.describe_activation()["description"]
    assert "is not a site-packages directory" in text, text
    monkeypatch.setattr(_doctor, "_in_site_directory", lambda path: True)
    text = _doctor.describe_activation()["description"]
    assert "were not processed" in text, text


def test_imported_only(no_activation, monkeypatch):
    monkeypatch.setattr(_doctor, "_startup_files", lambda: {"pth": None})
    monkeypatch.setattr(_startup, "requested_by", ["import"])
    activation = _doctor.describe_activation()
    assert activation["automatic"] is False
    assert activation["description"].startswith("import only: programs that import")


def test_disabled_by_the_variable_names_what_stood_down(no_activation, monkeypatch):
    monkeypatch.setattr(_doctor, "_startup_files", lambda: {"pth": None})
    monkeypatch.setattr(_startup, "disabled_by_env", True)
    monkeypatch.setattr(_startup, "calls", ["startup hook", "import"])
    text = _doctor.describe_activation()["description"]
    assert text == (
        "disabled by BACKPORT_GH115634=0 (the startup hook ran and stood down): "
        "programs are not patched"
    ), text


def test_in_site_directory_knows_this_interpreters_site_packages():
    import sysconfig

    assert _doctor._in_site_directory(sysconfig.get_paths()["purelib"]) in (True, None)
    assert _doctor._in_site_directory("/nonexistent/not-site-packages") in (False, None)


def report(affected, applied, disabled=False, sources=("startup hook",), automatic=True):
    return {
        "affected": affected,
        "applied": applied,
        "activation": {
            "disabled_by_env": disabled,
            "sources": list(sources),
            "automatic": automatic,
        },
    }


PASSED_RUN = {"ran": True, "outcome": _doctor.PASSED, "detail": "10 of 10 results"}
HUNG_RUN = {"ran": True, "outcome": _doctor.HUNG, "detail": "2 of 10 results, then nothing"}
SKIPPED_RUN = {"ran": False, "outcome": _doctor.SKIPPED, "detail": "no max_tasks_per_child"}


@pytest.mark.parametrize(
    ("status", "main", "code", "words"),
    [
        (report(None, False), SKIPPED_RUN, 1, "not one the backport recognises"),
        (report(True, False, True, ()), HUNG_RUN, 1, "disabled by BACKPORT_GH115634=0; the live"),
        (report(True, False), HUNG_RUN, 1, "affected and not patched; the live check hung"),
        (report(False, False), SKIPPED_RUN, 0, "safe: no max_tasks_per_child"),
        (report(True, True), HUNG_RUN, 2, "the live check hung: 2 of 10"),
        (report(False, False), PASSED_RUN, 0, "fixed natively, and the live check passed"),
        (
            report(True, True, sources=("import",), automatic=False),
            PASSED_RUN,
            0,
            "patched, and the live check passed (only in programs that import",
        ),
    ],
)
def test_decide(status, main, code, words):
    got_code, verdict = _doctor.decide(status, main)
    assert got_code == code and words in verdict, (got_code, verdict)


# --- the doctor's own failures: reported, never a traceback ----------------------------------


def test_a_status_that_raises_is_reported(monkeypatch):
    def broken():
        raise RuntimeError("cannot inspect")

    monkeypatch.setattr(_doctor.backport_gh115634, "status", broken)
    report = _doctor.collect()
    assert report["error"] == "status() failed: RuntimeError: cannot inspect", report
    assert report["reason"] == "could not inspect concurrent.futures.process"
    assert report["affected"] is None and report["python"], report
    assert set(report["fixes"].values()) == {"missing"}


def test_interpreter_flags_fall_back_to_none(monkeypatch):
    def broken():
        raise ValueError("odd flags")

    monkeypatch.setattr(_doctor.subprocess, "_args_from_interpreter_flags", broken, raising=False)
    assert _doctor._interpreter_flags() == []


def test_a_child_that_cannot_start_fails_the_live_check(monkeypatch, tmp_path):
    monkeypatch.setattr(_doctor.sys, "executable", str(tmp_path / "no-such-python"))
    run = _doctor.run_reproducer("test", deadline=5.0)
    assert run["outcome"] == _doctor.FAILED and run["done"] == 0, run
    assert run["detail"].startswith("could not start "), run


def test_killing_a_child_that_is_gone_already_is_not_an_error(monkeypatch):
    def gone(pid):
        raise ProcessLookupError(pid)

    monkeypatch.setattr(_doctor, "_group_kill", lambda: gone)
    _doctor._kill_child(types.SimpleNamespace(pid=2**22 + 1))  # does not raise


# --- a pool the child saw stranded; the report's text -----------------------------------------


def test_a_stranded_pool_is_a_hang_reported_before_the_deadline():
    stdout = child_output(results=ALL[:2], done=False) + line(
        event="stranded", seconds=1.9, done=2, killed=[], alive=[], pending=8, stranded_for=1.5
    )
    run = judge(stdout, returncode=_doctor.CHILD_STRANDED, wall=2.25)
    assert run["outcome"] == _doctor.HUNG and run["done"] == 2 and run["seconds"] == 2.25, run
    assert run["detail"] == (
        "2 of 10 results, then nothing: stranded, no worker left with 8 tasks pending for 1.5s; "
        "stopped after 2.2s, before the 8s deadline"
    ), run
    # The exit status without the event (or the event from a child that went on): not trusted.
    assert judge(child_output(done=False), returncode=125)["outcome"] == _doctor.FAILED


PRE_FIX_312 = {
    "gh-115634": "patched",
    "gh-119592": "patched",
    "gh-152967": "patched",
    "failed-spawn": "patched",
    "forced-shutdown": "not applicable",
    "gh-109047": "native",
    "cancelled-future": "native",
}


def test_fixes_this_release_does_not_need_are_named_not_listed():
    lines = _doctor._fix_lines(PRE_FIX_312)
    text = "\n".join(lines)
    assert all(len(row) <= 100 for row in lines), text
    assert lines[0].startswith("Fixes       gh-115634        patched  retired worker"), text
    assert "(3.11)" not in text and "native" not in text, text
    assert (
        "not needed here: forced-shutdown (this stdlib lacks what it fixes); gh-109047 and" in text
    )
    # 3.11: its break-path fixes are patched, so listed (wrapped within 100 columns).
    on_311 = dict(PRE_FIX_312, **{"gh-109047": "patched", "cancelled-future": "patched"})
    lines = _doctor._fix_lines(on_311)
    assert all(len(row) <= 100 for row in lines), lines
    assert sum(row.startswith("            cancelled-future patched") for row in lines) == 1
    assert _doctor.issue_links({"fixes": on_311})[-1].startswith("gh-109047 https://github.com/")
    assert [link.split()[0] for link in _doctor.issue_links({"fixes": PRE_FIX_312})] == [
        "gh-115634",
        "gh-119592",
        "gh-152967",
    ]


def test_patched_reads_as_in_this_process():
    assert _doctor._stdlib_text("patched: this stdlib has X") == (
        "patched in this process (no file changed): this stdlib has X"
    )
    assert _doctor._stdlib_text("nothing to do: fixed") == "nothing to do: fixed"
    assert _doctor._stdlib_text(None) == "?"


def test_a_stock_hang_under_compare_is_said_to_be_on_purpose():
    hung = dict(HUNG_RUN, interventions_source="not reached")
    off = {"role": "compare", "env_changes": {"BACKPORT_GH115634": "0"}}
    assert "shown on purpose" in "\n".join(_doctor._run_outcome(hung, off))
    on = {"role": "compare", "env_changes": {"BACKPORT_GH115634": "1"}}
    assert "shown on purpose" not in "\n".join(_doctor._run_outcome(hung, on))
    main = {"role": "main", "env_changes": None}
    assert "shown on purpose" not in "\n".join(_doctor._run_outcome(hung, main))
