"""The doctor, `python -m backport_gh115634`: its report, its live check and its exit codes.

Each doctor run is a child process under a hard deadline (childproc.run); the doctor's own live
checks run under the doctor's deadlines. The package comes from where this suite imports it (the
tox env's wheel, or the checkout). In a venv built from the wheel: test_activation.py.
"""

import json
import os
import re
import subprocess
import sys
import time
import types
import uuid

import pytest

from _backport_gh115634 import detect as _detect
from backport_gh115634 import _doctor
from backport_gh115634 import _doctor_child as _child
from childproc import GIL_DISABLED, child_env, run
from procgroup import kill_group

# Short enough to keep the suite quick, long enough for 10 tasks on a busy 2-core machine.
COMPARE_DEADLINE = 8
# The stock run's deadline where the test checks that its hang is seen long before it (the
# child sees its pool stranded within seconds, and the test asserts half the deadline).
STRANDED_DEADLINE = 20
JSON_KEYS = {"affected", "applied", "python", "fixes", "live_check", "gil"}


def doctor(args, cwd, enabled=True, overlay=None, deadline=180):
    """Run the doctor in a child process; returns (Completed, report or None)."""
    done = run(
        ["-m", "backport_gh115634"] + list(args),
        child_env(overlay, enabled=enabled),
        deadline=deadline,
        cwd=cwd,
    )
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
    for line in (
        "0  safe",
        "1  affected and not patched",
        "2  the live check failed",
        "3  bad command line",
        "--compare",
        "--json",
        "--deadline",
        "BACKPORT_GH115634=0",
    ):
        assert line in text, text


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--frobnicate"], "unrecognized arguments: --frobnicate"),
        (["--dead", "5"], "unrecognized arguments: --dead"),  # no abbreviations
        (["--deadline", "soon"], "not a number of seconds"),
        (["--deadline", "0"], "must be more than 0"),
        (["--compare-deadline"], "expected one argument"),
    ],
)
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
    assert set(report) >= JSON_KEYS, sorted(report)
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
    assert all(len(line) <= 100 for line in text.splitlines()), text
    assert "\nSee         gh-115634 https://github.com/python/cpython/issues/115634\n" in text, text
    assert "Stdlib      patched:" not in text, text
    assert ("Stdlib      patched in this process" in text) is bool(shipped_detection.affected)
    # 3.11's break-path fixes are listed where this stdlib lacks them, else named as not needed.
    lacks = shipped_detection.fixes.get("gh-109047") == _detect.MISSING
    assert ("(3.11)" in text) is lacks, text
    # (First in its section where no fix applies at all, as before 3.11.)
    assert lacks or re.search(r"\n(Fixes)? +not needed here: ", text), text
    assert ("\nGIL         off in this process" in text) is GIL_DISABLED, text
    if shipped_detection.shape != _detect.NO_RECYCLING:
        assert "PASSED: 10 of 10 results in" in text, text
        if expected(None, shipped_detection)[1]:
            assert re.search(r"\n {12}interventions: gh-115634 [45] \(retired workers", text), text
        else:
            assert "\n            interventions: none (" in text, text


def test_a_start_up_failure_is_shown(workdir):
    # What the start-up hook records when it fails (it never raises): the doctor shows it.
    program = (
        "import sys, backport_gh115634_startup as s; "
        "s.hook_error = 'RuntimeError: injected failure'; "
        "from backport_gh115634._doctor import main; sys.exit(main(sys.argv[1:]))"
    )
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
    done, report = doctor(
        ["--json", "--compare", "--compare-deadline", str(STRANDED_DEADLINE)],
        workdir,
        overlay=stdlib,
    )
    assert report is not None, done.describe()
    assert done.returncode == 0, done.describe()
    assert report["affected"] is affected
    assert report["live_check"]["outcome"] == "passed", report["live_check"]
    assert_interventions(report["live_check"], hangs)
    stock = report["compare"]
    assert stock["env"] == {"BACKPORT_GH115634": "0"}
    assert stock["child"]["patched"] is False, stock
    if hangs:
        # Recognised by its state (no worker, work pending), not by waiting out the deadline.
        assert stock["outcome"] == "hung", stock
        assert stock["done"] < _doctor.TASKS
        assert re.match(
            r"\d of 10 results, then nothing: stranded, no worker left with \d+ tasks pending "
            r"for \d+\.\ds; stopped after \d+\.\ds, before the %ds deadline$" % STRANDED_DEADLINE,
            stock["detail"],
        ), stock
        assert stock["seconds"] < STRANDED_DEADLINE / 2, stock
    else:
        assert stock["outcome"] == "passed", stock


def test_compare_with_the_fix_disabled_runs_the_fix_too(stdlib, shipped_detection, workdir):
    affected, hangs = expected(stdlib, shipped_detection)
    done, _text_report = doctor(
        ["--compare", "--compare-deadline", str(COMPARE_DEADLINE)],
        workdir,
        enabled=False,
        overlay=stdlib,
    )
    assert done.returncode == (1 if affected else 0), done.describe()
    text = done.stdout
    assert "Compare     with the fix switched on" in text or not affected, text
    if hangs:
        assert "HUNG: " in text and "PASSED: 10 of 10" in text, text
        assert "affected and not patched: the fix is disabled by BACKPORT_GH115634=0" in text
        # The hang is the user's own here, not a demonstration.
        assert "shown on purpose" not in text, text


def test_compare_text_says_the_stock_hang_is_shown_on_purpose(stdlib, shipped_detection, workdir):
    _affected, hangs = expected(stdlib, shipped_detection)
    done, _text_report = doctor(
        ["--compare", "--compare-deadline", str(STRANDED_DEADLINE)], workdir, overlay=stdlib
    )
    assert done.returncode == 0, done.describe()
    text = done.stdout
    assert ("\n            (the stock pool's hang, shown on purpose" in text) is hangs, text
    assert ("\n            HUNG: " in text) is hangs, text
    assert "Verdict     safe: " in text, text
    assert all(len(line) <= 100 for line in text.splitlines()), text


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
    return {
        "affected": affected,
        "applied": applied,
        "activation": {
            "automatic": automatic,
            "disabled_by_env": disabled,
            "sources": [] if disabled else ["startup hook"],
        },
    }


def _run(outcome):
    return {"ran": outcome != "skipped", "outcome": outcome, "detail": "detail"}


@pytest.mark.parametrize(
    ("affected", "applied", "disabled", "outcome", "code"),
    [
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
    ],
)
def test_exit_codes(affected, applied, disabled, outcome, code):
    got, verdict = _doctor.decide(_report(affected, applied, disabled=disabled), _run(outcome))
    assert got == code, verdict


def test_import_only_activation_is_named_in_the_verdict():
    code, verdict = _doctor.decide(_report(True, True, automatic=False), _run("passed"))
    assert code == 0 and "only in programs that import backport_gh115634" in verdict


# --- which live runs, started how -------------------------------------------------------------


def _planned(
    affected,
    applied,
    sources,
    disabled=False,
    compare=False,
    gh115634="patched",
    shape=_detect.PRE_FIX,
):
    report = {
        "affected": affected,
        "applied": applied,
        "shape": shape,
        "fixes": {"gh-115634": gh115634},
        "activation": {
            "sources": sources,
            "disabled_by_env": disabled,
            "automatic": "startup hook" in sources or "sitecustomize" in sources,
        },
    }
    return [
        (spec["role"], spec["import_package"], bool(spec["skip"]), spec["env_changes"])
        for spec in _doctor.plan(report, 60, compare, 20)
    ]


def test_plan_runs_the_users_own_way():
    off, on = {"BACKPORT_GH115634": "0"}, {"BACKPORT_GH115634": "1"}
    # The start-up hook: the child imports nothing of ours, like the user's programs.
    assert _planned(True, True, ["startup hook", "import"]) == [("main", False, False, None)]
    assert _planned(True, True, ["sitecustomize"], compare=True) == [
        ("main", False, False, None),
        ("compare", False, False, off),
    ]
    # Activated by import only: the child imports the package, as such programs must.
    assert _planned(True, True, ["import"]) == [("main", True, False, None)]
    # Disabled on a fixed stdlib: the stock pool, no import.
    assert _planned(False, False, [], disabled=True, gh115634="native", shape=_detect.UPSTREAM) == [
        ("main", False, False, None)
    ]
    # Disabled where it hangs: skipped, unless --compare, which also runs it with the fix on.
    assert _planned(True, False, [], disabled=True, gh115634="missing") == [
        ("main", False, True, None)
    ]
    assert _planned(True, False, [], disabled=True, gh115634="missing", compare=True) == [
        ("main", False, False, None),
        ("compare", True, False, on),
    ]
    # Disabled on late 3.13 (fix 1 native): the stock reproducer completes, so it runs.
    assert _planned(True, False, [], disabled=True, gh115634="native") == [
        ("main", False, False, None)
    ]
    # 3.9 / 3.10: nothing to run.
    assert _planned(
        False, False, ["startup hook"], gh115634="not applicable", shape=_detect.NO_RECYCLING
    ) == [("main", False, True, None)]


# --- the child's own deadline: no worker outlives the live check ------------------------------

# Stands in for a platform without process groups: the doctor is run with os.killpg deleted.
NO_KILLPG = (
    "import os, sys; del os.killpg; "
    "from backport_gh115634._doctor import main; sys.exit(main(sys.argv[1:]))"
)
# A sitecustomize that makes every pool task hang in its worker (operator.mul, which the
# reproducer submits, never returns there), so the live check is stopped with a worker alive.
STUCK_TASKS = """\
import _operator, sys, time
def mul(a, b):
    import multiprocessing
    if multiprocessing.parent_process() is not None:
        time.sleep(3600)
    return a * b
_operator.mul = mul
if "operator" in sys.modules:  # imported already (coverage's start-up file does)
    sys.modules["operator"].mul = mul
"""
LEFTOVER_GRACE = 15.0


def carrying(name, value):
    """The pids of live processes whose environment has name=value (/proc/PID/environ)."""
    wanted = ("%s=%s" % (name, value)).encode()
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open("/proc/%s/environ" % entry, "rb") as handle:
                if wanted in handle.read().split(b"\0"):
                    pids.append(int(entry))
        except OSError:  # gone meanwhile, or not ours
            pass
    return sorted(pids)


def command_line(pid):
    try:
        with open("/proc/%d/cmdline" % pid, "rb") as handle:
            return handle.read().replace(b"\0", b" ").decode("utf-8", "replace")[:150]
    except OSError:
        return "?"


@pytest.mark.skipif(not os.path.isfile("/proc/self/environ"), reason="needs Linux /proc")
@pytest.mark.parametrize("hang", ["stock", "stuck task"])
def test_no_process_outlives_a_hung_live_check_without_killpg(hang, shipped_detection, tmp_path):
    """Without os.killpg the doctor can kill only its child: the child's own watchdog must end
    its pool's workers. "stock": the reproducer hangs with the fix disabled (no worker is alive
    then: the last one retired). "stuck task": a task never returns, so a worker is alive."""
    if shipped_detection.shape == _detect.NO_RECYCLING:
        pytest.skip("no live check before 3.11")
    marker = ("BACKPORT_TEST_DOCTOR_MARKER", uuid.uuid4().hex)
    if hang == "stock":
        if shipped_detection.fixes.get("gh-115634") != _detect.MISSING:
            pytest.skip("the stock reproducer does not hang on this stdlib")
        overlay, enabled = None, False
        args = ["--json", "--compare", "--compare-deadline", "3"]
    else:
        overlay, enabled = str(tmp_path), True
        (tmp_path / "sitecustomize.py").write_text(STUCK_TASKS)
        args = ["--json", "--deadline", "3"]
    env = child_env(overlay, enabled=enabled, extra=dict([marker]))
    # Its own session, so that whatever is left can be cleaned up; the doctor (without killpg)
    # starts its child in this same group, so leftovers are looked for before the group is killed.
    proc = subprocess.Popen(
        [sys.executable, "-c", NO_KILLPG] + args,
        env=env,
        cwd=str(tmp_path),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        stdout, stderr = proc.communicate(timeout=180)
    except subprocess.TimeoutExpired:
        kill_group(proc)
        proc.communicate(timeout=30)
        pytest.fail("the doctor itself hung")
    try:
        give_up = time.monotonic() + LEFTOVER_GRACE
        left = carrying(*marker)
        while left and time.monotonic() < give_up:
            time.sleep(0.2)
            left = carrying(*marker)
        described = ["%d: %s" % (pid, command_line(pid)) for pid in left]
    finally:
        kill_group(proc)
        for pid in carrying(*marker):  # started by this test, through the doctor
            try:
                os.kill(pid, 9)
            except OSError:
                pass
    assert not described, "left behind by the doctor: %s\n%s" % (described, stderr[-2000:])
    assert stdout.startswith("{"), "exit %s\n%s\n%s" % (proc.returncode, stdout, stderr)
    report = json.loads(stdout)
    live = report["live_check"]
    assert live["outcome"] == "hung", live
    if hang == "stock":  # no worker left with work pending: seen at once, no deadline needed
        assert re.match(r"\d+ of 10 results, then nothing: stranded, ", live["detail"]), live
    else:  # a worker is alive: only the deadline ends it
        assert re.match(
            r"\d+ of 10 results, then nothing: stopped at the 3s deadline$", live["detail"]
        ), live
        assert live["seconds"] >= 3, live
    if hang == "stock":
        assert proc.returncode == _doctor.EXIT_AFFECTED, report["verdict"]
        assert report["verdict"].endswith("; the live check hung"), report["verdict"]
        assert report["compare"]["outcome"] == "passed", report["compare"]
    else:
        assert live["done"] == 0, live
        assert proc.returncode == _doctor.EXIT_LIVE_CHECK_FAILED, report["verdict"]
        assert report["verdict"].startswith("the live check hung: "), report["verdict"]


class _Worker:
    def __init__(self, pid, sentinel=None):
        self.pid = pid
        self.killed = False
        self._sentinel = sentinel

    def kill(self):
        self.killed = True

    @property
    def sentinel(self):
        if self._sentinel is None:
            raise ValueError("process object is closed")
        return self._sentinel


class _Resizing(dict):
    """A process table that another thread changes during the first copies."""

    def __init__(self, *args, changes=2):
        super().__init__(*args)
        self.changes = changes

    def values(self):
        if self.changes:
            self.changes -= 1
            raise RuntimeError("dictionary changed size during iteration")
        return super().values()


def test_watchdog_finds_the_workers():
    assert _child.pool_workers(None, {}) == []
    assert _child.pool_workers(types.SimpleNamespace(_processes=None), {}) == []  # shut down
    first, second = _Worker(11, sentinel=101), _Worker(12, sentinel=102)
    table = _Resizing({11: first, 12: second})
    assert _child.pool_workers(types.SimpleNamespace(_processes=table), {}) == [first, second]
    assert table.changes == 0
    # multiprocessing's children are a second source; each process once.
    third = _Worker(13)
    modules = {"multiprocessing": types.SimpleNamespace(active_children=lambda: [second, third])}
    executor = types.SimpleNamespace(_processes={11: first, 12: second})
    assert _child.pool_workers(executor, modules) == [first, second, third]
    # Kills them all. With no multiprocessing.connection to wait with, none is seen to end:
    # reported alive, except the one whose sentinel is closed (joined and closed already).
    killed, alive = _child.stop_workers(executor, 0.1, modules)
    assert killed == [11, 12, 13] and alive == [11, 12]
    assert first.killed and second.killed and third.killed


_WATCHDOG_CHILD = """\
import multiprocessing.connection, sys, time  # as the pool imports it
from backport_gh115634 import _doctor_child as child
if __name__ == "__main__":
    worker = multiprocessing.get_context("spawn").Process(target=time.sleep, args=(3600,))
    worker.start()
    dog = child.Watchdog(time.monotonic())
    dog.executor = type("Executor", (), {"_processes": {worker.pid: worker}})()
    child.say(event="worker", pid=worker.pid)
    dog.watch(float(sys.argv[1]), 5.0, child.CHILD_TIMED_OUT)
    if sys.argv[2] == "finish":
        dog.finish()
        dog.stop("stranded", 5.0, child.CHILD_STRANDED)  # finished: not stopped either
        time.sleep(float(sys.argv[1]) + 1.0)  # past the deadline it was watched with
        worker.kill()
        worker.join()
        child.say(event="survived")
    elif sys.argv[2] == "stranded":
        dog.stop("stranded", 5.0, child.CHILD_STRANDED, pending=3)
    else:
        time.sleep(60)
"""


def events_of(stdout):
    prefix = _child.LINE_PREFIX
    return [
        json.loads(line[len(prefix) :]) for line in stdout.splitlines() if line.startswith(prefix)
    ]


@pytest.mark.parametrize("ending", ["deadline", "finish", "stranded"])
def test_watchdog_kills_the_workers_when_it_stops(ending, tmp_path):
    script = tmp_path / "watched.py"
    script.write_text(_WATCHDOG_CHILD)
    # finish() follows watch() at once; a deadline of 2 s leaves a loaded machine room for it.
    watched_for = "2.0" if ending == "finish" else "0.5"
    done = run([str(script), watched_for, ending], child_env(), deadline=60)
    assert not done.timed_out, done.describe()
    events = events_of(done.stdout)
    pid = events[0]["pid"]
    if ending == "finish":  # finished before the deadline: the watchdog leaves it alone
        assert done.returncode == 0, done.describe()
        assert [e["event"] for e in events] == ["worker", "survived"], events
        return
    code = {"deadline": _doctor.CHILD_TIMED_OUT, "stranded": _doctor.CHILD_STRANDED}[ending]
    assert done.returncode == code, done.describe()
    stop = events[-1]
    assert stop["event"] == ending, events
    assert stop["killed"] == [pid] and stop["alive"] == [], stop
    if ending == "deadline":
        assert stop["seconds"] >= 0.5, stop
    else:
        assert stop["pending"] == 3, stop


# --- the child program, run by path -----------------------------------------------------------


def test_stranded_clock():
    clock = _child.StrandedClock(1.5)
    assert clock.check(0, 8, 0.0) is None  # first look: the clock starts
    assert clock.check(0, 8, 1.0) is None
    assert clock.check(0, 8, 1.6) == pytest.approx(1.6)
    assert clock.check(1, 8, 1.7) is None  # a worker again: not stranded
    assert clock.check(0, 8, 1.8) is None
    assert clock.check(0, 7, 3.5) is None  # progress restarts the clock
    assert clock.check(0, 7, 4.9) is None
    assert clock.check(0, 7, 5.0) == pytest.approx(1.5)
    assert clock.check(0, 0, 9.0) is None  # nothing pending: never stranded
    assert clock.check(0, 0, 19.0) is None


def test_stranded_clock_waits_for_the_manager_to_be_in_its_wait():
    clock = _child.StrandedClock(1.5)
    assert clock.check(0, 8, 0.0, waiting=False) is None  # joining a retiring worker
    assert clock.check(0, 8, 1.6, waiting=False) is None
    assert clock.check(0, 8, 2.0) is None  # back in its wait: the clock starts now
    assert clock.check(0, 8, 3.4) is None
    assert clock.check(0, 8, 3.5) == pytest.approx(1.5)


def _blocked_thread(function_name):
    """A live thread blocked inside a function called function_name; returns (thread, release)."""
    import threading

    release = threading.Event()
    namespace = {}
    exec("def %s(event):\n    event.wait(30)\n" % function_name, namespace)
    thread = threading.Thread(target=namespace[function_name], args=(release,), daemon=True)
    thread.start()
    return thread, release


def test_manager_waiting_reads_the_manager_threads_stack(monkeypatch):
    def state(thread):
        return _child.manager_waiting(types.SimpleNamespace(_executor_manager_thread=thread))

    assert _child.manager_waiting(None)  # before the manager thread exists
    in_wait, release_wait = _blocked_thread(_child.MANAGER_WAIT)
    joining, release_join = _blocked_thread("join")
    try:
        deadline = time.monotonic() + 10
        while not (state(in_wait) and not state(joining)) and time.monotonic() < deadline:
            time.sleep(0.01)  # until both threads are inside their functions
        assert state(in_wait) and not state(joining)
        monkeypatch.delattr(sys, "_current_frames")  # an interpreter that cannot tell
        assert state(joining)
    finally:
        release_wait.set()
        release_join.set()
    in_wait.join(10)
    joining.join(10)
    assert state(joining)  # ended: it starts no worker


def test_pool_state_reads_the_manager_then_the_executor():
    assert _child.pool_state(None) == (0, 0)
    manager = types.SimpleNamespace(processes={}, pending_work_items={1: "a", 2: "b"})
    executor = types.SimpleNamespace(
        _executor_manager_thread=manager, _processes=None, _pending_work_items=None
    )
    assert _child.pool_state(executor) == (0, 2)  # after shutdown(): the manager's tables
    executor = types.SimpleNamespace(_processes={7: object()}, _pending_work_items={})
    assert _child.pool_state(executor) == (1, 0)  # before the manager thread starts


def test_child_arguments():
    options = _child.parse(["deadline=3", "import_package=1", "stranded_after=0"])
    assert options["deadline"] == 3.0 and options["import_package"] is True
    assert options["stranded_after"] == 0.0 and options["wait"] > 3.0
    for bad in (["deadline"], ["frobnicate=1"], ["deadline=soon"]):
        with pytest.raises((SystemExit, ValueError)):
            _child.parse(bad)
    assert _doctor.child_command(5.0)[0] == _doctor.CHILD_PROGRAM
    assert "import_package=1" in _doctor.child_command(5.0, import_package=True)


def test_child_puts_the_current_directory_where_python_put_its_own(monkeypatch):
    here = os.path.dirname(os.path.realpath(_child.__file__))
    monkeypatch.setattr(sys, "path", [here, "/elsewhere"])
    _child._drop_own_directory()
    assert sys.path == ["", "/elsewhere"]  # what python -c puts first
    monkeypatch.setattr(sys, "path", ["/elsewhere"])  # -P, -I: nothing was put there
    _child._drop_own_directory()
    assert sys.path == ["/elsewhere"]


def _imported(stderr):
    """The modules -X importtime saw imported (lines "import time: self | cumulative | name")."""
    names = set()
    for line in stderr.splitlines():
        if line.startswith("import time:") and line.count("|") == 2:
            names.add(line.rsplit("|", 1)[1].strip())
    return names


@pytest.mark.parametrize("import_package", [False, True])
def test_child_by_path_imports_the_package_only_when_asked(
    import_package, shipped_detection, workdir
):
    if shipped_detection.shape == _detect.NO_RECYCLING:
        pytest.skip("no reproducer before 3.11")
    if sys.implementation.name != "cpython":
        pytest.skip("-X importtime is CPython's: PyPy prints nothing to read")
    argv = ["-X", "importtime", _doctor.CHILD_PROGRAM, "deadline=60"]
    argv += ["import_package=1"] if import_package else []
    done = run(argv, child_env(enabled=True), deadline=120, cwd=workdir)
    assert not done.timed_out and done.returncode == 0, done.describe()
    events = events_of(done.stdout)
    assert [e["event"] for e in events][-1] == "done", events
    assert events[-1]["results"] == [i * 2 for i in range(_doctor.TASKS)], events
    ours = {name for name in _imported(done.stderr) if name.split(".")[0] == "backport_gh115634"}
    assert ours == ({"backport_gh115634"} if import_package else set()), sorted(ours)
    # Its own directory was not on the path: no module of the package by its bare name.
    assert not {"_doctor", "_doctor_child"} & _imported(done.stderr), done.stderr[-2000:]
