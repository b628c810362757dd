"""A pool that breaks while work is queued: 3.11's terminate_broken() (and PyPy 3.11's, the same
code) races a submit() in its critical section (gh-109047, fixed in 3.12) and dies on a
cancelled future among the pending ones; with the shim every future resolves there too.

Both windows are made certain (scenarios/break_path.py), each run in a child process under a
hard deadline. The stock run must show the bug exactly where detection says the fix is missing.
"""

import json
import os

import pytest

from _backport_gh115634 import detect
from childproc import HERE, child_env, run

SCRIPT = os.path.join(HERE, "scenarios", "break_path.py")
PREFIX = "BREAK-RESULT: "


@pytest.fixture(autouse=True)
def _patched_releases(shipped_detection):
    if shipped_detection.shape == detect.NO_RECYCLING:
        pytest.skip("the package changes nothing before 3.11")


def scenario(name, mode):
    done = run(["-S", SCRIPT, name, mode], child_env(), deadline=120)
    lines = [line for line in done.stdout.splitlines() if line.startswith(PREFIX)]
    assert lines and not done.timed_out, done.describe()
    return json.loads(lines[-1][len(PREFIX) :])


@pytest.mark.parametrize("mode", ["shim", "stock"])
def test_a_submit_inside_the_break_window_is_failed_not_stranded(mode, shipped_detection):
    result = scenario("submit_during_break", mode)
    missing = shipped_detection.fixes.get("gh-109047") == "missing"
    if missing:  # as status() reports it
        assert result["status"]["fixes"]["gh-109047"] == (
            "patched" if mode == "shim" else "missing"
        )
    assert result["submitter_alive"] is False, result
    # The window is open where terminate_broken() marks the pool broken while a submit() holds
    # the lock (3.11 stock, and our seam); 3.12 takes the lock first and waits.
    window = result["marked_before_release"]
    assert window is missing, result
    if mode == "stock" and missing and window:
        # 3.11's manager marked the pool broken without the lock, cleared the pending work,
        # then the held submit() queued its item: a future nobody will resolve (or its worker
        # start failed on the closed queue).
        assert result["gated"] == ["pending"] or result["submit_error"], result
        return
    assert result["gated"] == ["error", "BrokenProcessPool"], result
    assert result["manager_alive"] is False and result["thread_errors"] == [], result
    if mode == "shim" and missing and window:
        assert result["interventions"]["gh-109047"] == 1, result


@pytest.mark.parametrize("mode", ["shim", "stock"])
def test_a_cancelled_future_does_not_stop_the_teardown(mode, shipped_detection):
    result = scenario("cancelled_in_queue", mode)
    missing = shipped_detection.fixes.get("cancelled-future") == "missing"
    if missing:  # as status() reports it
        assert result["status"]["fixes"]["cancelled-future"] == (
            "patched" if mode == "shim" else "missing"
        )
    assert result["cancelled"] is True, result
    expected = [["error", "BrokenProcessPool"]] * 7
    expected[5] = ["error", "CancelledError"]
    if mode == "stock" and missing:
        # The stock manager thread died on InvalidStateError: the futures after it never
        # resolve.
        assert result["outcomes"][-1] == ["pending"], result
        assert any("InvalidStateError" in error for error in result["thread_errors"]), result
        return
    assert result["outcomes"] == expected, result
    assert result["manager_alive"] is False and result["thread_errors"] == [], result
    if mode == "shim" and missing:
        assert result["interventions"]["cancelled-future"] == 1, result
