"""The doctor, `python -m backport_gh115634`: its report, its live check and its exit codes.

Each doctor run is a child process under a hard deadline (childproc.run); the doctor's own live
checks run under the doctor's deadlines. The package comes from where this suite imports it (the
tox env's wheel, or the checkout). In a venv built from the wheel: test_activation.py.
"""
import json
import re

import pytest

from _backport_gh115634 import detect as _detect
from backport_gh115634 import _doctor
from childproc import GIL_DISABLED, child_env, run

# Short enough to keep the suite quick, long enough for 10 tasks on a busy 2-core machine.
COMPARE_DEADLINE = 8
JSON_KEYS = {"affected", "applied", "python", "fixes", "live_check", "gil"}


def doctor(args, cwd, enabled=True, overlay=None, deadline=180):
    """Run the doctor in a child process; returns (Completed, report or None)."""
    done = run(["-m", "backport_gh115634"] + list(args),
               child_env(overlay, enabled=enabled), deadline=deadline, cwd=cwd)
    assert not done.timed_out, "the doctor itself hung: " + done.describe()
    report = None
    if "--json" in args and done.stdout.strip().startswith("{"):
        report = json.loads(done.stdout)
    return done, report


def assert_interventions(live, stock_hangs):
    """The live check's child counted, per fix, what the shim did that the stock pool would not
    have: where the stock reproducer hangs, the replacements it would have skipped (one per
    retirement with work left: 4 of 10 tasks at 2 per worker; 5 if the last one beat
    shutdown()); elsewhere nothing."""
    counts = live["interventions"]
    assert set(counts) == set(_doctor.INTERVENTION_NAMES), counts
    skipped = counts.pop("gh-115634")
    assert skipped in ((4, 5) if stock_hangs else (0,)), live
    assert set(counts.values()) == {0}, live


def expected(stdlib, shipped_detection):
    """(affected, does the stock reproducer hang) for the shipped stdlib or its pre-fix overlay."""
    if stdlib:
        return True, True
    return shipped_detection.affected, shipped_detection.fixes.get("gh-115634") == _detect.MISSING


@pytest.fixture
def workdir(tmp_path):
    return str(tmp_path)


# --- command line -----------------------------------------------------------------------------

def test_help_explains_the_exit_codes(workdir):
    done, _ = doctor(["--help"], workdir)
    assert done.returncode == 0, done.describe()
    text = done.stdout
    assert "exit status" in text
    for line in ("0  safe", "1  affected and not patched", "2  the live check failed",
                 "3  bad command line", "--compare", "--json", "--deadline", "BACKPORT_GH115634=0"):
        assert line in text, text


@pytest.mark.parametrize("args, message", [
    (["--frobnicate"], "unrecognized arguments: --frobnicate"),
    (["--dead", "5"], "unrecognized arguments: --dead"),  # no abbreviations
    (["--deadline", "soon"], "not a number of seconds"),
    (["--deadline", "0"], "must be more than 0"),
    (["--compare-deadline"], "expected one argument"),
])
def test_bad_flags_get_a_clear_error(args, message, workdir):
    done, _ = doctor(args, workdir)
    assert done.returncode == _doctor.EXIT_USAGE, done.describe()
    assert message in done.stderr and "usage: python -m backport_gh115634" in done.stderr
    assert done.stdout == ""


def test_version(workdir):
    import backport_gh115634

    done, _ = doctor(["--version"], workdir)
    assert done.returncode == 0
    assert done.stdout.strip() == "backport-gh115634 " + backport_gh115634.__version__


# --- reports --------------------------------------------------------------------------------

def test_json_report_with_the_fix_on(shipped_detection, workdir):
    done, report = doctor(["--json"], workdir)
    assert report is not None, done.describe()
    assert JSON_KEYS <= set(report), sorted(report)
    assert set(report["fixes"]) == set(_detect.FIXES)
    assert report["python"].startswith(("CPython ", "PyPy "))
    assert report["exit_code"] == done.returncode == 0, done.describe()
    assert report["affected"] is shipped_detection.affected
    assert report["applied"] is bool(shipped_detection.affected)
    states = set(report["fixes"].values())
    assert _detect.MISSING not in states
    if shipped_detection.shape == _detect.NO_RECYCLING:
        assert report["live_check"]["outcome"] == "skipped"
    else:
        live = report["live_check"]
        assert live["outcome"] == "passed" and live["done"] == _doctor.TASKS, live
        assert 0 < live["seconds"] < live["deadline"]
        assert live["child"]["patched"] is bool(shipped_detection.affected), live
        assert live["interventions_source"] == "status()", live
        assert_interventions(live, expected(None, shipped_detection)[1])
    assert report["compare"] is None
    # A free-threaded build keeps its GIL off with the package imported and patching.
    assert report["gil"] == ("off" if GIL_DISABLED else None), report["gil"]


def test_json_report_with_the_fix_disabled(shipped_detection, workdir):
    done, report = doctor(["--json"], workdir, enabled=False)
    assert report is not None, done.describe()
    assert report["applied"] is False
    assert report["activation"]["disabled_by_env"] is True
    assert "disabled by BACKPORT_GH115634=0" in report["activation"]["description"]
    if shipped_detection.affected:
        assert done.returncode == _doctor.EXIT_AFFECTED, done.describe()
        assert _detect.MISSING in report["fixes"].values()
    else:
        assert done.returncode == _doctor.EXIT_SAFE, done.describe()
    if shipped_detection.fixes.get("gh-115634") == _detect.MISSING:
        # Known to hang: not run without --compare, and said so.
        assert report["live_check"]["outcome"] == "skipped"
        assert "--compare" in report["live_check"]["detail"]
    elif shipped_detection.shape != _detect.NO_RECYCLING:
        assert report["live_check"]["outcome"] == "passed"


def test_text_report(shipped_detection, workdir):
    done, _ = doctor([], workdir)
    assert done.returncode == 0, done.describe()
    text = done.stdout
    import backport_gh115634

    assert text.startswith("backport-gh115634 %s doctor" % backport_gh115634.__version__)
    for title in ("Python", "Stdlib", "Fixes", "Activation", "Live check", "Verdict"):
        assert "\n%s " % title in text, text
    for fix in _detect.FIXES:
        assert fix in text
    assert "(exit 0)" in text
    assert ("\nGIL         off in this process" in text) is GIL_DISABLED, text
    if shipped_detection.shape != _detect.NO_RECYCLING:
        assert "PASSED: 10 of 10 results in" in text, text
        if expected(None, shipped_detection)[1]:
            assert re.search(r"\n {12}interventions: gh-115634 [45] \(retired workers", text), text
        else:
            assert "\n            interventions: none (" in text, text


def test_a_start_up_failure_is_shown(workdir):
    # What the start-up hook records when it fails (it never raises): the doctor shows it.
    program = ("import sys, backport_gh115634_startup as s; "
               "s.hook_error = 'RuntimeError: injected failure'; "
               "from backport_gh115634._doctor import main; sys.exit(main(sys.argv[1:]))")
    for args in (["--json"], []):
        done = run(["-c", program] + args, child_env(enabled=True), deadline=180, cwd=workdir)
        assert not done.timed_out, done.describe()
        if args:
            assert "RuntimeError: injected failure" in json.loads(done.stdout)["error"]
        else:
            assert "\nError       RuntimeError: injected failure" in done.stdout, done.stdout


# --- --compare: the stock interpreter next to the fixed one -----------------------------------

def test_compare_shows_the_stock_hang(stdlib, shipped_detection, workdir):
    affected, hangs = expected(stdlib, shipped_detection)
    done, report = doctor(["--json", "--compare", "--compare-deadline", str(COMPARE_DEADLINE)],
                          workdir, overlay=stdlib)
    assert report is not None, done.describe()
    assert done.returncode == 0, done.describe()
    assert report["affected"] is affected
    assert report["live_check"]["outcome"] == "passed", report["live_check"]
    assert_interventions(report["live_check"], hangs)
    stock = report["compare"]
    assert stock["env"] == {"BACKPORT_GH115634": "0"}
    assert stock["child"]["patched"] is False, stock
    if hangs:
        assert stock["outcome"] == "hung", stock
        assert stock["done"] < _doctor.TASKS
        assert stock["seconds"] >= COMPARE_DEADLINE
    else:
        assert stock["outcome"] == "passed", stock


def test_compare_with_the_fix_disabled_runs_the_fix_too(stdlib, shipped_detection, workdir):
    affected, hangs = expected(stdlib, shipped_detection)
    done, text_report = doctor(["--compare", "--compare-deadline", str(COMPARE_DEADLINE)],
                               workdir, enabled=False, overlay=stdlib)
    assert done.returncode == (1 if affected else 0), done.describe()
    text = done.stdout
    assert "Compare     with the fix switched on" in text or not affected, text
    if hangs:
        assert "HUNG: " in text and "PASSED: 10 of 10" in text, text
        assert "affected and not patched: the fix is disabled by BACKPORT_GH115634=0" in text


def test_missed_deadline_is_a_failed_live_check(shipped_detection, workdir):
    if shipped_detection.shape == _detect.NO_RECYCLING:
        pytest.skip("no live check before 3.11")
    # No interpreter starts a pool and runs 10 tasks in 50 ms: the live check must say so.
    done, report = doctor(["--json", "--deadline", "0.05"], workdir)
    assert report is not None, done.describe()
    assert done.returncode == _doctor.EXIT_LIVE_CHECK_FAILED, done.describe()
    assert report["live_check"]["outcome"] == "hung"
    assert report["verdict"].startswith("the live check hung")


# --- the verdict, decided from the report -----------------------------------------------------

def _report(affected, applied, automatic=True, disabled=False):
    return {"affected": affected, "applied": applied,
            "activation": {"automatic": automatic, "disabled_by_env": disabled,
                           "sources": [] if disabled else ["startup hook"]}}


def _run(outcome):
    return {"ran": outcome != "skipped", "outcome": outcome, "detail": "detail"}


@pytest.mark.parametrize("affected, applied, disabled, outcome, code", [
    (False, False, False, "passed", 0),  # fixed natively
    (True, True, False, "passed", 0),  # patched
    (False, False, True, "passed", 0),  # fixed natively, the kill switch changes nothing
    (False, False, False, "skipped", 0),  # 3.9/3.10: no max_tasks_per_child
    (True, True, False, "hung", 2),
    (True, True, False, "failed", 2),
    (False, False, False, "hung", 2),
    (True, False, True, "skipped", 1),  # BACKPORT_GH115634=0
    (True, False, True, "hung", 1),  # ... with --compare
    (True, False, False, "passed", 1),  # late 3.13.x whose patch failed: fix 1 alone
    (None, False, False, "passed", 1),  # an unrecognised stdlib
    (None, False, False, "hung", 1),
])
def test_exit_codes(affected, applied, disabled, outcome, code):
    got, verdict = _doctor.decide(_report(affected, applied, disabled=disabled), _run(outcome))
    assert got == code, verdict


def test_import_only_activation_is_named_in_the_verdict():
    code, verdict = _doctor.decide(_report(True, True, automatic=False), _run("passed"))
    assert code == 0 and "only in programs that import backport_gh115634" in verdict


# --- which live runs, started how -------------------------------------------------------------

def _planned(affected, applied, sources, disabled=False, compare=False, gh115634="patched",
             shape=_detect.PRE_FIX):
    report = {"affected": affected, "applied": applied, "shape": shape,
              "fixes": {"gh-115634": gh115634},
              "activation": {"sources": sources, "disabled_by_env": disabled,
                             "automatic": "startup hook" in sources or "sitecustomize" in sources}}
    return [(spec["role"], spec["import_package"], bool(spec["skip"]), spec["env_changes"])
            for spec in _doctor.plan(report, 60, compare, 20)]


def test_plan_runs_the_users_own_way():
    off, on = {"BACKPORT_GH115634": "0"}, {"BACKPORT_GH115634": "1"}
    # The start-up hook: the child imports nothing of ours, like the user's programs.
    assert _planned(True, True, ["startup hook", "import"]) == [("main", False, False, None)]
    assert _planned(True, True, ["sitecustomize"], compare=True) == [
        ("main", False, False, None), ("compare", False, False, off)]
    # Activated by import only: the child imports the package, as such programs must.
    assert _planned(True, True, ["import"]) == [("main", True, False, None)]
    # Disabled on a fixed stdlib: the stock pool, no import.
    assert _planned(False, False, [], disabled=True, gh115634="native",
                    shape=_detect.UPSTREAM) == [("main", False, False, None)]
    # Disabled where it hangs: skipped, unless --compare, which also runs it with the fix on.
    assert _planned(True, False, [], disabled=True, gh115634="missing") == [
        ("main", False, True, None)]
    assert _planned(True, False, [], disabled=True, gh115634="missing", compare=True) == [
        ("main", False, False, None), ("compare", True, False, on)]
    # Disabled on late 3.13 (fix 1 native): the stock reproducer completes, so it runs.
    assert _planned(True, False, [], disabled=True, gh115634="native") == [
        ("main", False, False, None)]
    # 3.9 / 3.10: nothing to run.
    assert _planned(False, False, ["startup hook"], gh115634="not applicable",
                    shape=_detect.NO_RECYCLING) == [("main", False, True, None)]
