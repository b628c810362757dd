"""The machinery around the fix (activation, detection, apply/revert, deferral, logging) under
threads, reloads and odd configurations: one test per defect of issue 17, each a scenario of
scenarios/machinery.py in its own child process under a hard deadline, against the stdlib as
shipped and (on 3.14+) its pre-fix overlay."""

import json
import os

import pytest

from _backport_gh115634 import detect
from childproc import HERE, child_env, run

SCRIPT = os.path.join(HERE, "scenarios", "machinery.py")
PREFIX = "MACHINERY-RESULT: "


def scenario(name, overlay, deadline=120):
    # -S: no start-up files; a scenario arms the hook itself where it needs one.
    done = run(["-S", SCRIPT, name], child_env(overlay, enabled=True), deadline=deadline)
    lines = [line for line in done.stdout.splitlines() if line.startswith(PREFIX)]
    assert lines and not done.timed_out, done.describe()
    result = json.loads(lines[-1][len(PREFIX) :])
    result["stderr"] = done.stderr
    return result


@pytest.fixture
def expected(stdlib, shipped_detection):
    """What status() must say once the pool module has been looked at: (shape, patchable)."""
    if stdlib:
        return detect.PRE_FIX, True
    return shipped_detection.shape, shipped_detection.patchable


def ok(out):
    return out == [["ok", i * 2] for i in range(len(out))]


def test_status_during_the_first_import_waits_for_it(stdlib, expected):
    result = scenario("status_during_first_import", stdlib)
    shape, patchable = expected
    assert result["hung"] == [], result
    # Asked while the module was still empty, status() describes it once executed: it never
    # looks at (or caches) a module that has not finished executing.
    assert result["during"]["shape"] == shape, result
    assert result["during"]["applied"] is patchable, result
    assert result["after"]["shape"] == shape and result["after"]["applied"] is patchable, result
    assert result["seams"] is patchable, result
    assert ok(result["pool"]), result
    assert result["thread_errors"] == [], result


def test_status_and_apply_racing_the_first_import_do_not_deadlock(stdlib, expected):
    result = scenario("status_and_apply_before_import", stdlib)
    assert result["hung"] == [], result
    shape, patchable = expected
    assert result["status"]["shape"] == shape and result["apply"]["shape"] == shape, result
    assert result["apply"]["applied"] is patchable and result["seams"] is patchable, result
    assert ok(result["pool"]), result


def test_a_raising_log_filter_costs_a_record_not_the_pool(stdlib):
    result = scenario("raising_log_filter", stdlib)
    assert ok(result["pool"]), result
    assert result["thread_errors"] == [], result
    assert result["status"]["error"] is None, result


def test_log_handlers_run_under_no_pool_lock(stdlib, expected):
    result = scenario("slow_log_handler", stdlib)
    assert ok(result["pool"]), result
    assert result["thread_errors"] == [], result
    if expected[0] == detect.PRE_FIX:
        assert result["records"], result  # the reproducer's replacements are logged
    # On the pool's own manager thread (no thread of ours), where it holds no lock; or on the
    # main thread, which drains what is left.
    assert [r for r in result["records"] if r["lock_free"] is False] == [], result
    threads = {r["thread"] for r in result["records"] if not r["manager"]}
    assert threads <= {"MainThread"}, result


def test_routine_replacements_log_one_info_record_per_process(stdlib, expected):
    result = scenario("log_volume", stdlib)
    assert ok(result["pool"]), result
    ours = [r for r in result["records"] if r["message"].startswith(("gh-115634", "gh-119592"))]
    if not expected[1] or not result["interventions"]["gh-115634"]:
        assert ours == [], result
        return
    # Several replacements counted; the application (root at INFO) saw the first one only.
    assert result["interventions"]["gh-115634"] >= 2, result
    assert [r["level"] for r in ours] == ["INFO"], result
    assert "further ones are logged at DEBUG" in ours[0]["message"], result


def test_reload_is_seen_and_apply_patches_the_new_classes(stdlib, expected):
    result = scenario("reload", stdlib)
    shape, patchable = expected
    # The reload made new, unpatched classes: status() says so.
    assert result["after_reload"]["applied"] is False, result
    assert result["seams_after_reload"] is False, result
    assert result["after_reload"]["shape"] == shape, result
    assert result["reapplied"]["applied"] is patchable and result["seams"] is patchable, result
    assert ok(result["pool"]), result


def test_revert_undoes_a_deferral_and_apply_still_works(stdlib, expected):
    shape, patchable = expected
    if shape == detect.NO_RECYCLING:
        pytest.skip("no max_tasks_per_child before 3.11")
    result = scenario("revert_deferred", stdlib)
    assert result["init_deferred"] == "backport_gh115634_startup", result
    assert result["init_reverted"] == "concurrent.futures.process", result
    assert result["reverted"]["applied"] is False, result
    assert result["reverted"]["shape"] == shape, result
    assert result["reapplied"]["shape"] == shape, result
    assert result["reapplied"]["applied"] is patchable and result["seams"] is patchable, result
    assert ok(result["pool"]), result


def test_a_successful_apply_clears_the_last_apply_error(stdlib, expected):
    if not expected[1]:
        pytest.skip("nothing to apply on a %s stdlib" % expected[0])
    result = scenario("error_cleared", stdlib)
    assert result["raised"] == "injected failure", result
    assert "apply() failed: RuntimeError: injected failure" in result["failed"]["error"], result
    assert result["failed"]["applied"] is False, result
    assert result["succeeded"]["applied"] is True, result
    assert result["succeeded"]["error"] is None, result


def test_an_explicit_import_after_the_hook_is_recorded_and_warns_at_its_line(
    stdlib, shipped_detection
):
    if shipped_detection.shape == detect.NO_RECYCLING and not stdlib:
        pytest.skip("before 3.11 every stdlib shape is a silent no-op")
    result = scenario("import_after_hook", stdlib)
    assert result["status"]["activation"] == ["startup hook", "import"], result
    if result["status"]["shape"] == detect.FIXED_RELEASE:
        assert result["warnings"] == [], result  # a release that shipped the fix: no alarm
        return
    assert result["status"]["shape"] == detect.UNKNOWN, result
    assert len(result["warnings"]) == 1, result
    category, message, filename, lineno = result["warnings"][0]
    assert category == "BackportWarning" and "untouched" in message, result
    assert (filename, lineno) == (result["expected_file"], result["expected_line"]), result


def test_a_verdict_from_before_revert_is_void_after_apply(stdlib, expected):
    if not expected[1]:
        pytest.skip("no seams on a %s stdlib" % expected[0])
    result = scenario("stale_verdict", stdlib)
    assert result["first"] == 2, result
    assert ok(result["pool"]), result


def test_revert_warning_points_at_the_caller(stdlib, expected):
    if not expected[1]:
        pytest.skip("no seams on a %s stdlib" % expected[0])
    result = scenario("revert_warning_location", stdlib)
    assert len(result["warnings"]) == 1, result
    category, message, filename, lineno = result["warnings"][0]
    assert category == "BackportWarning" and "revert() left" in message, result
    assert (filename, lineno) == (result["expected_file"], result["expected_line"]), result


def test_an_error_of_ours_on_the_manager_thread_costs_the_fix_not_the_pool(stdlib, expected):
    if not expected[1]:
        pytest.skip("no seams on a %s stdlib" % expected[0])
    result = scenario("internal_error", stdlib)
    assert ok(result["pool"]), result
    assert result["thread_errors"] == [], result
    error = result["status"]["error"] or ""
    assert "while replacing a retired worker: RuntimeError: injected failure" in error, result
    assert [r for r in result["records"] if r["message"].startswith("internal-error")], result


def test_an_import_during_the_hand_over_is_recorded(stdlib, expected):
    result = scenario("import_during_hand_over", stdlib)
    assert result["hung"] == [], result
    assert sorted(result["status"]["activation"]) == ["import", "startup hook"], result
    assert result["status"]["applied"] is expected[1] and result["seams"] is expected[1], result
    assert ok(result["pool"]), result
