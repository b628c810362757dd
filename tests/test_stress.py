"""Our own state under threads: the start-up hook's one-shot firing, apply() / revert() /
status() racing pools that recycle workers. Meaningful on a free-threaded build (no GIL), run on
every interpreter; each run is a child process under a hard deadline (scenarios/stress.py)."""

import json
import os
import sys

import pytest

from childproc import HERE, child_env, run

SCRIPT = os.path.join(HERE, "scenarios", "stress.py")
PREFIX = "STRESS-RESULT: "


def stress(args, overlay=None, deadline=180):
    # -S: no start-up files, so the child arms the hook itself (mode "import") or applies.
    done = run(["-S", SCRIPT] + args, child_env(overlay, enabled=True), deadline=deadline)
    lines = [line for line in done.stdout.splitlines() if line.startswith(PREFIX)]
    assert lines and not done.timed_out and done.returncode == 0, done.describe()
    result = json.loads(lines[-1][len(PREFIX) :])
    # Nothing of ours may turn the GIL back on (a free-threaded build re-enables it for an
    # extension module that does not declare support; we ship none, and must stay so).
    assert result["gil_at_end"] == result["gil_at_start"], result
    return result


def test_first_import_from_many_threads_fires_the_hook_once(stdlib, shipped_detection):
    result = stress(["import"], overlay=stdlib)
    assert result["errors"] == [] and result["alive"] == 0, result
    assert result["fired"] == 1 and result["handed"] == 1, result
    assert result["hook_error"] is None, result
    assert result["finders"] == 0, result
    patchable = bool(stdlib) or shipped_detection.patchable
    assert result["applied"] is patchable, result
    if patchable:
        # Applied once, over the stdlib's own functions, not over a first layer of ours.
        assert result["originals"] == ["function:concurrent.futures.process"], result


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_pools_with_apply_revert_status_racing(stdlib, method):
    result = stress(["pools", method], overlay=stdlib, deadline=240)
    assert result["errors"] == [] and result["alive"] == 0, result
    assert result["submitted"] == result["expected"], result
    assert result["wrong"] == [] and result["failed"] == [], result
    assert result["pending"] == 0, result
    assert result["error"] is None, result
    assert result["toggles"] > 0, result


def test_gil_state_is_reported():
    # On a free-threaded build the checks above are only meaningful with the GIL off.
    result = stress(["import"])
    if hasattr(sys, "_is_gil_enabled") and not sys._is_gil_enabled():
        assert result["gil_at_start"] is False, result
