"""Subclasses of ProcessPoolExecutor keep what they built beside the shim: their own
_spawn_process starts every worker, replacements included, and their own workarounds for
gh-115634 (overriding _adjust_process_count) still resolve every future with never more than
max_workers processes. Each scenario (scenarios/subclass.py) in a child under a hard deadline,
with the shim and on the stock stdlib, as shipped and (3.14+) as its pre-fix overlay."""

import json
import os

import pytest

from _backport_gh115634 import detect
from childproc import HERE, child_env, run

SCRIPT = os.path.join(HERE, "scenarios", "subclass.py")
PREFIX = "SUBCLASS-RESULT: "


@pytest.fixture(autouse=True)
def _recycling(stdlib):
    """Every test here needs max_tasks_per_child (the stdlib fixture skips before 3.11)."""


def scenario(name, mode, overlay):
    done = run(["-S", SCRIPT, name, mode], child_env(overlay), deadline=150)
    lines = [line for line in done.stdout.splitlines() if line.startswith(PREFIX)]
    assert lines and not done.timed_out, done.describe()
    return json.loads(lines[-1][len(PREFIX) :])


@pytest.mark.parametrize("mode", ["shim", "stock"])
def test_a_subclass_spawn_process_starts_every_worker(mode, stdlib, shipped_detection):
    if not stdlib and shipped_detection.shape in (detect.UPSTREAM, detect.FIXED_RELEASE):
        pytest.skip("upstream 3.14.7+ starts replacements from the manager's state itself")
    result = scenario("own_loop", mode, stdlib)
    assert result["outcomes"] == [["ok"]] * 12, result
    assert result["on_own_loop"] == 12, result
    assert result["most"] <= 2, result


def test_after_shutdown_nowait_the_queued_work_still_runs(stdlib):
    # The executor's queues and process table are gone: replacements are stock workers started
    # from the manager's state, and every future resolves.
    result = scenario("own_loop_after_shutdown_nowait", "shim", stdlib)
    assert result["outcomes"] == [["ok"]] * 4, result


@pytest.mark.parametrize("shape", ["replacing", "delegating"])
@pytest.mark.parametrize("mode", ["shim", "stock"])
def test_a_subclass_own_workaround_keeps_working(shape, mode, stdlib):
    result = scenario(shape, mode, stdlib)
    assert result["ok"] is True, result
    assert result["most"] <= result["max_workers"], result
