"""detect() on stdlib shapes nobody ships, built in this process from the shipped module.

Each case copies concurrent.futures.process into a new module object and changes one thing (a
class replaced by a subclass with one method changed, a name removed), then checks what detect()
concludes on a release that may have the bug and on one that shipped the fix: refuse (unknown,
with the reason naming what is missing) or, on a fixed release, leave it alone without an alarm.
Nothing here patches or imports anything; the shapes a real stdlib has are covered by
test_api.py and the scenario tests.
"""

import concurrent.futures.process as process
import sys
import types

import pytest

from _backport_gh115634 import detect as _detect

AFFECTED = (3, 12, 1, "final", 0)
FIXED = (3, 14, 7, "final", 0)
HAS_RECYCLING = "max_tasks_per_child" in process.ProcessPoolExecutor.__init__.__code__.co_varnames
needs_recycling = pytest.mark.skipif(
    not HAS_RECYCLING, reason="the stdlib of this interpreter has no max_tasks_per_child"
)


def variant(manager=None, executor=None, drop=(), **names):
    """A copy of the process module: the manager and executor classes replaced by subclasses
    with the given attributes, `drop` names removed, `names` set."""
    module = types.ModuleType("variant_of_" + process.__name__)
    module.__dict__.update(vars(process))
    if manager is not None:
        module._ExecutorManagerThread = type(
            "_ExecutorManagerThread", (process._ExecutorManagerThread,), manager
        )
    if executor is not None:
        module.ProcessPoolExecutor = type(
            "ProcessPoolExecutor", (process.ProcessPoolExecutor,), executor
        )
    for name in drop:
        del module.__dict__[name]
    module.__dict__.update(names)
    return module


def assert_refused(module, *words):
    """Unknown where the release may have the bug (every fix counted missing, nothing
    patchable); on a release that shipped the fix: fixed-release, not affected, no alarm."""
    found = _detect.detect(module, version=AFFECTED)
    assert found.shape == _detect.UNKNOWN, found
    assert found.patchable is False and found.affected is None, found
    assert set(found.fixes.values()) == {_detect.MISSING}, found
    for word in words:
        assert word in found.reason, found.reason
    on_fixed = _detect.detect(module, version=FIXED)
    assert on_fixed.shape == _detect.FIXED_RELEASE, on_fixed
    assert on_fixed.affected is False and on_fixed.patchable is False, on_fixed
    assert "does not recognise" in on_fixed.reason, on_fixed.reason
    for word in words:
        assert word in on_fixed.reason, on_fixed.reason
    return found


def test_a_module_without_the_pool_classes_is_refused():
    assert_refused(variant(drop=["_ExecutorManagerThread"]), "_ExecutorManagerThread")
    assert_refused(variant(drop=["ProcessPoolExecutor"]), "no ProcessPoolExecutor")


def test_no_max_tasks_per_child_is_nothing_to_fix_before_3_11_and_unknown_after():
    module = variant(executor={"__init__": lambda self, max_workers=None: None})
    before = _detect.detect(module, version=(3, 10, 13, "final", 0))
    assert before.shape == _detect.NO_RECYCLING and before.affected is False, before
    assert set(before.fixes.values()) == {_detect.NOT_APPLICABLE}, before
    assert_refused(module, "has no max_tasks_per_child")


@needs_recycling
def test_an_exit_path_of_no_known_shape_is_refused():
    module = variant(manager={"run": lambda self: None, "_replace_dead_worker": None})
    assert_refused(module, "neither the pre-fix one nor a fixed one")


@needs_recycling
def test_a_manager_that_replaces_workers_but_lacks_the_hardening_is_refused():
    # The upstream method is there, but its body uses none of what the hardening needs.
    module = variant(manager={"_replace_dead_worker": lambda self, executor: None})
    found = assert_refused(module, "upstream shape", "gh-119592", "gh-152967", "failed-spawn")
    assert "a shape we cannot patch" in found.reason


@needs_recycling
def test_a_known_exit_path_on_a_release_that_never_had_it_is_refused(shipped_detection):
    if shipped_detection.shape not in (_detect.PRE_FIX, _detect.FIX_1_ONLY):
        pytest.skip("needs the pre-fix or fix-1-only shape as shipped")
    found = _detect.detect(process, version=(3, 10, 13, "final", 0))
    assert found.shape == _detect.UNKNOWN and "never shipped" in found.reason, found


def pre_fix_only(shipped_detection):
    if shipped_detection.shape != _detect.PRE_FIX:
        pytest.skip("needs the pre-fix shape as shipped (the seams are what it lacks)")


@pytest.mark.parametrize(
    ("change", "named"),
    [
        ({"manager": {"terminate_broken": None}}, "terminate_broken"),
        ({"_process_worker": lambda call_queue, result_queue: None}, "_process_worker("),
        ({"drop": ["_process_worker"]}, "_process_worker("),
        ({"_spawn_worker": lambda executor: None}, "_spawn_worker("),
        ({"drop": ["BrokenProcessPool"]}, "BrokenProcessPool"),
        ({"drop": ["_RemoteTraceback", "_base"]}, "_RemoteTraceback, _base"),
    ],
)
def test_a_pre_fix_module_missing_a_seam_is_refused(change, named, shipped_detection):
    pre_fix_only(shipped_detection)
    found = assert_refused(variant(**change), "not what the patch relies on", named)
    assert "pre-fix worker replacement" in found.reason


def test_release_gate_boundaries():
    # 3.14.7 and 3.15.0 final shipped the fix; 3.15's pre-releases and 3.14.6 did not.
    assert _detect.release_has_fix((3, 14, 7, "final", 0))
    assert not _detect.release_has_fix((3, 14, 6, "final", 0))
    assert not _detect.release_has_fix((3, 15, 0, "beta", 3))
    assert _detect.release_has_fix((3, 15, 0, "final", 0))
    assert _detect.release_has_fix((3, 16, 0))  # no release level given: final
    assert not _detect.release_may_be_affected((3, 10, 13, "final", 0))
    assert _detect.release_may_be_affected((3, 11, 0, "final", 0))
    assert not _detect.release_may_be_affected(sys.version_info) or not _detect.release_has_fix(
        sys.version_info
    )
