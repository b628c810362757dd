"""Behaviours 1-6 of the shim, each scenario in a child process under a hard deadline, under
both the spawn and forkserver start methods, against the stdlib as shipped and (on 3.14+) its
pre-fix overlay. On an upstream-fixed stdlib the shim does nothing, so the same assertions then
check upstream CPython itself: the reference behaviour."""

import pytest

from childproc import run_scenario

# The stock run ends as soon as its pool is stranded (stranded.py); this only bounds a hang of
# any other form.
STOCK_HANG_WINDOW = 8


def ok_values(result):
    return [item[1] for item in result["futures"] if item[0] == "ok"]


def errors(result):
    return [item for item in result["futures"] if item[0] == "error"]


def assert_clean(result):
    assert not result.get("hung"), result
    assert result["thread_errors"] == [], result
    assert result.get("manager_thread_alive") in (None, False), result


def assert_interventions(result, **counts):
    """status().interventions in the child: each named fix (underscores for dashes) has its
    count where the shim patched that fix, 0 where the stdlib has it natively; all others 0.
    A count may be a set of the values allowed."""
    fixes = result["status"]["fixes"]
    got = result["interventions"]
    for name in got:
        want = counts.get(name.replace("-", "_"), 0)
        if fixes.get(name) != "patched":
            want = 0
        allowed = want if isinstance(want, set) else {want}
        assert got[name] in allowed, (name, got, fixes)


def assert_broken(items, text):
    assert items, "expected failed futures"
    for item in items:
        assert item[:2] == ["error", "BrokenProcessPool"], item
        assert text in item[2], item


# --- 1. gh-115634 ---------------------------------------------------------------------------


@pytest.mark.parametrize("scenario", ["seed", "seed_two_workers"])
def test_backlog_completes_with_shim(stdlib, start_method, scenario):
    result = run_scenario(scenario, start_method, shim=True, overlay=stdlib)
    assert_clean(result)
    assert result["futures"] == result["expected"]
    assert result["status"]["fixes"]["gh-115634"] in ("native", "patched")
    # Every retirement with work left is one the stock pre-fix code would have skipped (its
    # idle token is stale); the last one too, if it beat shutdown().
    allowed = {4, 5} if scenario == "seed" else set(range(1, 5))
    assert_interventions(result, gh_115634=allowed)


def test_stock_hangs_exactly_when_detection_says_affected(stdlib, start_method):
    result = run_scenario(
        "seed", start_method, shim=False, overlay=stdlib, hang_window=STOCK_HANG_WINDOW
    )
    assert result["status"]["applied"] is False
    missing = result["status"]["fixes"]["gh-115634"] == "missing"
    assert result["hung"] is missing, result
    # Hung as gh-115634 strands a pool: work pending, no worker left, none coming.
    assert result["stranded"] is missing, result
    if not missing:
        assert result["futures"] == result["expected"]


def test_executor_created_before_apply_is_fixed_for_later_exits(stdlib, start_method):
    result = run_scenario("created_before_apply", start_method, shim=False, overlay=stdlib)
    assert_clean(result)
    assert result["futures"] == result["expected"]


def test_idle_worker_is_reused(stdlib, start_method):
    # bpo-39207: the submit path keeps the stdlib's reuse of idle workers.
    result = run_scenario("reuse", start_method, shim=True, overlay=stdlib)
    assert_clean(result)
    # The scenario waits for each result's idle token before the next submit(): the stdlib
    # releases it after setting the result, a window that a thread switch (no GIL, PyPy) hits.
    assert result["late_tokens"] == 0, result
    assert result["workers"] == 1, result
    assert ok_values(result) == [i * 2 for i in range(8)]
    assert_interventions(result)


# --- 2. gh-119592 / gh-132969 ---------------------------------------------------------------


def test_shutdown_without_wait_still_replaces_workers(stdlib, start_method):
    result = run_scenario("shutdown_nowait", start_method, shim=True, overlay=stdlib)
    assert_clean(result)
    assert ok_values(result) == [0, 1, 2]
    assert_interventions(result, gh_119592=2)  # two replacements; the last exit has none left


@pytest.mark.parametrize(
    "scenario",
    [
        "shutdown_nowait_dropped",  # gh-119592, then dropped
        "garbage_collected",  # 3. gh-152967: dropped without shutdown
    ],
)
def test_dropped_executor_fails_pending_work(stdlib, start_method, scenario):
    result = run_scenario(scenario, start_method, shim=True, overlay=stdlib)
    assert_clean(result)
    assert result["collected"] is True
    assert result["futures"][0] == ["ok", 0]
    assert_broken(result["futures"][1:], "garbage collected")
    assert_interventions(result, gh_152967=1)


# --- 4. a replacement that cannot start -----------------------------------------------------


def test_failed_replacement_of_last_worker_breaks_the_pool(stdlib, start_method):
    result = run_scenario("failed_spawn_last", start_method, shim=True, overlay=stdlib)
    assert_clean(result)
    assert result["futures"][0] == ["ok", 0]
    assert_broken(result["futures"][1:], "could not be started")
    assert result["submit_after"] == "BrokenProcessPool"
    assert_interventions(result, failed_spawn=1)


def test_failed_replacement_while_others_remain_keeps_draining(stdlib, start_method):
    result = run_scenario("failed_spawn_others_remain", start_method, shim=True, overlay=stdlib)
    assert_clean(result)
    # Two workers, two tasks each, no replacement: four results, then the pool breaks.
    assert len(ok_values(result)) == 4, result
    assert_broken(errors(result), "could not be started")
    assert len(errors(result)) == 2
    # The first failure: the manager lives on while the other worker drains; the second: the
    # queued futures fail.
    assert_interventions(result, failed_spawn=2)


# --- 5. terminate_workers() / kill_workers() ------------------------------------------------


def test_no_replacement_during_forced_shutdown(stdlib, start_method):
    result = run_scenario("forced_flag", start_method, shim=True, overlay=stdlib)
    if "skipped" in result:
        pytest.skip(result["skipped"])
    assert_clean(result)
    assert result["futures"][0] == ["ok", 0]
    assert_broken(result["futures"][1:], "forcefully shut down")
    assert_interventions(result, forced_shutdown=1)


def test_kill_workers_leaves_no_worker_and_no_pending_future(stdlib, start_method):
    result = run_scenario("forced_kill", start_method, shim=True, overlay=stdlib)
    if "skipped" in result:
        pytest.skip(result["skipped"])
    assert_clean(result)
    assert result["force_flag"] is True
    assert result["children_alive"] == 0
    for item in result["futures"]:
        assert item[0] in ("ok", "cancelled") or item[:2] == ["error", "BrokenProcessPool"], item


# --- 6. a retirement during shutdown with nothing pending -----------------------------------


def test_retirement_during_shutdown_spawns_nothing(stdlib, start_method):
    result = run_scenario("retire_during_shutdown", start_method, shim=True, overlay=stdlib)
    assert_clean(result)
    assert result["futures"] == [["ok", 7]]
    assert result["starts"] == 1
    assert_interventions(result)
