"""The fault suite's judge excuses a stock bug only by its exact signature (faults/fault_run.py).

Synthetic verdicts, no pool: the forms of 3.11's submit() / terminate_broken() race that
tests/faults/stock_submit_race.py reproduces on stock CPython 3.11.7 and PyPy 3.11, against
near misses that must still fail a run.
"""

import os
import sys

import pytest

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "faults"))
import fault_run


def plan():
    return {
        "faults": {"sigkill_worker": {"at": 2, "delay": 0.0, "victim": 1}},
        "task_actions": ["ok", "victim", "ok", "ok"],
    }


def verdict(
    python="PyPy 3.11.17", pending=(3,), submitted_as_broke=(3,), manager_alive=False, applied=False
):
    outcomes = {
        0: ["ok", fault_run.expected_value(0)],
        1: ["error", "BrokenProcessPool", "A child process terminated abruptly"],
        2: ["error", "BrokenProcessPool", "A process in the process pool was"],
        3: ["error", "BrokenProcessPool", "A process in the process pool was"],
    }
    for index in pending:
        outcomes[index] = ["pending"]
    return {
        "status": {"python": python, "applied": applied},
        "faults_fired": ["sigkill_worker"],
        "outcomes": outcomes,
        "submit_errors": [],
        "submitted_as_broke": list(submitted_as_broke),
        "manager_alive": manager_alive,
        "children_alive": [],
        "thread_errors": [],
        "thread_tracebacks": [],
        "unraisable": [],
        "interventions": {"rescue": 0},
    }


@pytest.mark.parametrize("python", ["PyPy 3.11.17", "CPython 3.11.7"])
def test_a_future_submitted_as_the_pool_broke_is_excused_on_311(python):
    judged = verdict(python)
    assert fault_run.violations(plan(), judged) == []
    assert judged["stock_bug_forms"] == [fault_run.STRANDED_FORM]
    assert judged["known_stock_bugs"] == [
        "3.11 terminate_broken() races with submit() (no shutdown lock)"
    ]


def test_the_same_verdict_fails_where_the_shim_patched_the_break_path():
    # The package's terminate_broken() seam closes 3.11's window: only a run where the stock
    # code ran (--stock, or a revert() window of the apply/revert race) may show the race.
    found = fault_run.violations(plan(), verdict(applied=True))
    assert found == ["1 futures never resolved (tasks 3)"]
    racing = plan()
    racing["faults"]["race"] = {"stop_after": 1.0}
    assert fault_run.violations(racing, verdict(applied=True)) == []


def test_the_same_verdict_fails_where_terminate_broken_takes_the_lock():
    found = fault_run.violations(plan(), verdict("CPython 3.12.1"))
    assert found == ["1 futures never resolved (tasks 3)"]


def test_a_pending_future_submitted_before_the_break_still_fails():
    found = fault_run.violations(plan(), verdict(pending=(2, 3), submitted_as_broke=(3,)))
    assert found == ["2 futures never resolved (tasks 2, 3)"]


def test_a_stranded_future_with_the_manager_still_running_still_fails():
    judged = verdict(manager_alive=True)
    found = fault_run.violations(plan(), judged)
    assert "1 futures never resolved (tasks 3)" in found
    assert fault_run.STRANDED_FORM not in judged["stock_bug_forms"]
