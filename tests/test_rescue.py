"""apply() rescues pools the stock code already stranded (work pending, no worker alive), and
status().interventions counts what the shim did.

Each scenario runs in a child process under a hard deadline (childproc.run_scenario), under both
start methods, against the stdlib as shipped and (on 3.14+) its pre-fix overlay. The pool starts
on the stock code, either after revert() ("reverted") or never patched (BACKPORT_GH115634=0 and
no apply(): "stock"); then the scenario calls apply() in the same process. On a stdlib that has
the fix a scenario's pool never hangs, and the same assertions check that it simply completes.
"""

import pytest

from childproc import run_scenario

# apply() wakes a stuck manager at once; the rest is starting workers on a busy 2-core machine.
RESUME_LIMIT = 10.0
RESUME_WINDOW = 15.0  # scenarios/pool_scenario.py: beyond this the futures count as pending
RACING_LIMIT = 45.0  # scenarios/pool_scenario.py: the racing scenario's bound
PRE_APPLY_MODES = ["reverted", "stock"]


def stranded_by_stock(result, fix="gh-115634"):
    """Whether the stock code of this child's stdlib strands the scenario's pool."""
    return result["status"]["fixes"][fix] == "missing"


def assert_resumed(result, limit=RESUME_LIMIT):
    assert not result.get("hung"), result
    assert result["thread_errors"] == [], result
    assert result["resumed_in"] < limit, result
    assert_logged(result)


def assert_logged(result):
    """One record on the backport_gh115634 logger per intervention, named by its fix: for a
    routine replacement INFO the first time in the process and DEBUG after, WARNING for
    everything else (rescues, failed futures)."""
    counts = {}
    routine_levels = []
    for level, message in result["log"]:
        fix = message.split(":", 1)[0]
        if fix in ("gh-115634", "gh-119592"):
            routine_levels.append(level)
            assert ("further ones are logged at DEBUG" in message) is (level == "INFO"), message
        else:
            assert level == "WARNING", (level, message)
        counts[fix] = counts.get(fix, 0) + 1
        assert "ProcessPoolExecutor" in message, message
    assert counts == {fix: n for fix, n in result["interventions"].items() if n}, result["log"]
    assert routine_levels[:1] in ([], ["INFO"]) and "INFO" not in routine_levels[1:], result["log"]


def only(interventions, **expected):
    """Every count is as expected (the ones not named: 0)."""
    wanted = dict.fromkeys(interventions, 0)
    wanted.update({name.replace("_", "-"): count for name, count in expected.items()})
    return interventions == wanted


@pytest.mark.parametrize("mode", PRE_APPLY_MODES)
def test_apply_resumes_a_stuck_pool(stdlib, start_method, mode):
    result = run_scenario("rescue_stuck", start_method, shim=False, overlay=stdlib, mode=mode)
    assert result["status"]["applied"] is False
    assert_resumed(result)
    assert result["futures"] == result["expected"]
    counts = result["interventions"]
    if stranded_by_stock(result):
        # Two results, then nothing: the worker retired and no replacement came.
        assert result["done_before_apply"] == 2, result
        assert result["workers_before_apply"] == [0], result
        assert counts["rescue"] == 1, counts
        # The rescued worker's successors: 2 that the stock code would have skipped (3 when the
        # last exit beat shutdown()).
        assert counts["gh-115634"] in (2, 3), counts
        assert only(counts, rescue=1, gh_115634=counts["gh-115634"]), counts
    else:
        assert result["done_before_apply"] == 8, result
        assert only(counts), counts


def test_apply_resumes_several_stuck_pools(stdlib, start_method):
    result = run_scenario(
        "rescue_several", start_method, shim=False, overlay=stdlib, mode="reverted"
    )
    assert_resumed(result)
    assert result["futures"] == result["expected"]
    if stranded_by_stock(result):
        assert result["done_before_apply"] == 6, result
        assert result["workers_before_apply"] == [0, 0, 0], result
        assert result["interventions"]["rescue"] == 3, result["interventions"]
    else:
        assert result["done_before_apply"] == 24, result
        assert only(result["interventions"]), result["interventions"]


def test_apply_fails_the_work_of_a_stuck_pool_that_was_dropped(stdlib, start_method):
    result = run_scenario(
        "rescue_dropped", start_method, shim=False, overlay=stdlib, mode="reverted"
    )
    assert_resumed(result)
    assert result["collected"] is True
    assert result["manager_thread_alive"] is False, result
    if stranded_by_stock(result):
        assert result["done_before_apply"] == 2, result
        assert result["futures"][:2] == [["ok", 0], ["ok", 2]]
        for item in result["futures"][2:]:
            assert item[:2] == ["error", "BrokenProcessPool"] and "garbage collected" in item[2]
        # status() counts the intervention before the first failed future wakes anyone.
        assert result["counted_when_failed"] == [1] * 6, result
        assert only(result["interventions"], gh_152967=1), result["interventions"]
    else:
        assert result["futures"] == [["ok", i * 2] for i in range(8)], result


def test_apply_resumes_a_pool_stranded_after_shutdown_without_wait(stdlib, start_method):
    # gh-119592: late 3.13's stock code (gh-115634 fixed) strands this one too.
    result = run_scenario(
        "rescue_shutdown_nowait", start_method, shim=False, overlay=stdlib, mode="reverted"
    )
    assert_resumed(result)
    assert result["futures"] == result["expected"]
    if stranded_by_stock(result, "gh-119592"):
        assert result["done_before_apply"] == 2, result
        # The rescued worker's successor is started from the manager's own state.
        assert only(result["interventions"], rescue=1, gh_119592=1), result["interventions"]
    else:
        assert result["done_before_apply"] == 6, result
        assert only(result["interventions"]), result["interventions"]


def test_apply_racing_the_managers_own_wake_ups_leaves_no_pool_stranded(stdlib, start_method):
    # revert()/apply() from a thread while tasks complete and more are submitted; whatever the
    # reverted windows stranded, the last apply() resumes.
    result = run_scenario(
        "rescue_racing", start_method, shim=False, overlay=stdlib, mode="reverted"
    )
    assert result["racer_alive"] is False
    # Not a stuck pool woken once: the tail of the work still recycles a worker every 2 tasks,
    # which under spawn takes seconds (more than RESUME_WINDOW under coverage on a loaded
    # machine). Not hung is the point: no pool stranded while work was pending.
    assert result["stranded"] is False, result
    assert_resumed(result, limit=RACING_LIMIT)
    assert result["futures"] == result["expected"]
    assert result["toggles"] > 0
    assert all(count <= limit for count, limit in zip(result["workers"], (1, 2))), result
    if not result["status"]["affected"]:
        assert only(result["interventions"]), result["interventions"]
