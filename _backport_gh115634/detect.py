"""Which of the upstream fixes does this stdlib's process pool already carry?

Decided from the stdlib's own classes (which methods exist, what the manager loop calls), never
from the version number alone; the version only cross-checks that the shape we found is one we
know for that release line. Everything here reads code objects; nothing runs stdlib code, and
nothing here holds state. A function of ours found on a class (a seam, the deferral's stand-in)
is seen through to the stdlib's own that it wraps, so detection gives the same answer whether or
not we patched. Callers must pass a module that has finished executing (``patch.complete``).
"""

import sys

TYPE_CHECKING = False
if TYPE_CHECKING:  # for the type checker only: importing typing costs the start-up hook
    from collections.abc import Sequence
    from types import CodeType, ModuleType
    from typing import Any, Optional

    # A sys.version_info-like tuple: (major, minor, micro[, releaselevel, serial]).
    Version = Sequence[Any]

# The fixes we track, in the order the doctor prints them.
FIXES = (
    "gh-115634",
    "gh-119592",
    "gh-152967",
    "failed-spawn",
    "forced-shutdown",
    "gh-109047",
    "cancelled-future",
)
FIX_TITLES = {
    "gh-115634": "retired worker replaced while work is pending",
    "gh-119592": "replacement after shutdown(wait=False)",
    "gh-152967": "pending work fails if the executor was garbage collected",
    "failed-spawn": "pool breaks cleanly when a replacement cannot start",
    "forced-shutdown": "no replacement during terminate_workers()/kill_workers()",
    "gh-109047": "no submit() slips past a pool that is breaking (3.11)",
    "cancelled-future": "a cancelled future does not stop a broken pool's teardown (3.11)",
}
# The two fixes of the break path (terminate_broken()), which 3.12 carries and 3.11 lacks.
BREAK_FIXES = ("gh-109047", "cancelled-future")

NATIVE = "native"
PATCHED = "patched"
MISSING = "missing"
NOT_APPLICABLE = "not applicable"

# Shapes of concurrent/futures/process.py.
PRE_FIX = "pre-fix"  # manager loop calls executor._adjust_process_count() after a worker exit
FIX_1_ONLY = "fix-1-only"  # late 3.13.x: executor._replace_dead_worker(), none of the hardening
UPSTREAM = "upstream"  # the manager thread owns _replace_dead_worker (3.14.7+, 3.15)
NO_RECYCLING = "no-recycling"  # before 3.11: no max_tasks_per_child, nothing to fix
# A release that shipped the fix (3.14.7+, 3.15.0, every later one) with a process.py we do not
# recognise: a refactor, not the bug. Nothing to patch and nothing to warn about.
FIXED_RELEASE = "fixed-release"
UNKNOWN = "unknown"
# Not a shape: the module has not finished executing (this thread is still importing it, or waits
# on a thread that is), so nothing was looked at. Never cached.
IMPORTING = "importing"

# The releases that may ship the bug, for cross-checks: 3.11.0 up to 3.14.6, and 3.15's
# pre-releases (the fix landed in 3.15.0b4; rc and b4 are checked by shape, like any other).
# The .pth line (startup/backport_gh115634.pth) has its own copy, since it may import nothing;
# tests check the two agree on every row. That file holds the line alone, no comment: site reads
# it at every start of every interpreter it is installed for.
FIRST_AFFECTED = (3, 11)
FIXED_IN = ((3, 14, 7), (3, 15, 0, "final"))

# What the patch relies on, checked before anything is replaced.
_MANAGER_METHODS = ("run", "wait_result_broken_or_wakeup", "is_shutting_down", "terminate_broken")
_MANAGER_STATE = (
    "processes",
    "pending_work_items",
    "call_queue",
    "result_queue",
    "executor_reference",
    "max_tasks_per_child",
    "shutdown_lock",
)
_RUN_NAMES = (
    "processes",
    "pending_work_items",
    "executor_reference",
    "shutdown_lock",
    "wait_result_broken_or_wakeup",
    "is_shutting_down",
)
_EXECUTOR_STATE = (
    "_mp_context",
    "_initializer",
    "_initargs",
    "_max_workers",
    "_processes",
    "_shutdown_lock",
)
_WORKER_ARGS = ("call_queue", "result_queue", "initializer", "initargs", "max_tasks")
_SPAWN_WORKER_ARGS = (
    "mp_context",
    "call_queue",
    "result_queue",
    "initializer",
    "initargs",
    "max_tasks_per_child",
    "processes",
)


class Detection:
    """The shape found, each fix's native state (before any patch of ours), and why."""

    def __init__(self, shape: str, fixes: "dict[str, str]", reason: str) -> None:
        self.shape = shape
        self.fixes = fixes
        self.reason = reason

    @property
    def affected(self) -> "bool | None":
        """True: some fix is missing; False: nothing to fix; None: unrecognised, cannot tell."""
        if self.shape in (UNKNOWN, IMPORTING):
            return None
        return MISSING in self.fixes.values()

    @property
    def patchable(self) -> bool:
        return self.shape in (PRE_FIX, FIX_1_ONLY)


# The modules whose functions we put on the stdlib's classes.
_OUR_MODULES = ("_backport_gh115634.seams", "backport_gh115634_startup")


def stdlib_function(obj: object) -> object:
    """obj, or the stdlib function it wraps if it is one of ours."""
    while getattr(obj, "__module__", None) in _OUR_MODULES and hasattr(obj, "__wrapped__"):
        obj = obj.__wrapped__
    return obj


def _code(obj: object) -> "CodeType | None":
    code: "Optional[CodeType]" = getattr(stdlib_function(obj), "__code__", None)
    return code


def _names(cls: object, method: str) -> "set[str]":
    code = _code(getattr(cls, method, None))
    return set(code.co_names) if code is not None else set()


def _args(function: object) -> "tuple[str, ...]":
    code = _code(function)
    if code is None:
        return ()
    return code.co_varnames[: code.co_argcount]


def release_may_be_affected(version: "Version") -> bool:
    """True for the releases the start-up hook must look at (and the .pth line imports us on)."""
    version = tuple(version)
    return version[:2] >= FIRST_AFFECTED and not release_has_fix(version)


def release_has_fix(version: "Version") -> bool:
    """3.14.7 and later 3.14.x, 3.15.0 final and later, and every release after 3.15."""
    version = tuple(version)
    release_level = version[3] if len(version) > 3 else "final"
    if version[:2] == (3, 14):
        return version[:3] >= FIXED_IN[0][:3]
    if version[:2] == (3, 15):
        return release_level == "final"
    return version[:2] > (3, 15)


def _unknown(reason: str, version: "Version", has_forced: bool = False) -> Detection:
    """An unrecognised shape: a warning where the release may have the bug; where it shipped the
    fix, the release carries it by definition and the shape is a refactor we do not know."""
    if release_has_fix(version):
        fixes = dict.fromkeys(FIXES, NATIVE)
        fixes["forced-shutdown"] = NATIVE if has_forced else NOT_APPLICABLE
        return Detection(
            FIXED_RELEASE,
            fixes,
            (
                "Python %d.%d.%d was released with the fix, so this stdlib carries it; its "
                "concurrent.futures.process is a shape this package does not recognise (%s), so it "
                "was left as it is" % (tuple(version[:3]) + (reason,))
            ),
        )
    return Detection(UNKNOWN, dict.fromkeys(FIXES, MISSING), reason)


def importing() -> Detection:
    return Detection(
        IMPORTING,
        dict.fromkeys(FIXES, MISSING),
        "concurrent.futures.process is still being imported (by this thread, or by "
        "one this thread waits for); ask again once the import has finished",
    )


def _missing_seams(process: "ModuleType", executor_cls: type, manager_cls: type) -> "list[str]":
    """Name what the patch needs and this module lacks; empty when all is there."""
    lacking = [name for name in _MANAGER_METHODS if not callable(getattr(manager_cls, name, None))]
    init_names = _names(manager_cls, "__init__")
    lacking += [
        "_ExecutorManagerThread." + name for name in _MANAGER_STATE if name not in init_names
    ]
    run_names = _names(manager_cls, "run")
    lacking += ["run() use of " + name for name in _RUN_NAMES if name not in run_names]
    executor_names = _names(executor_cls, "__init__")
    lacking += [
        "ProcessPoolExecutor." + name for name in _EXECUTOR_STATE if name not in executor_names
    ]
    if _args(getattr(process, "_process_worker", None))[:5] != _WORKER_ARGS:
        lacking.append("_process_worker(call_queue, result_queue, initializer, initargs, ...)")
    spawn_worker = getattr(process, "_spawn_worker", None)
    if spawn_worker is not None and _args(spawn_worker) != _SPAWN_WORKER_ARGS:
        lacking.append("_spawn_worker(...) with the 3.14 arguments")
    for name in ("BrokenProcessPool", "_RemoteTraceback", "_base"):
        if not hasattr(process, name):
            lacking.append(name)
    return lacking


def detect(process: "ModuleType", version: "Version | None" = None) -> Detection:
    """Inspect the concurrent.futures.process module and return a Detection.

    version: a sys.version_info-like tuple, for tests; defaults to the running interpreter's.
    """
    version = tuple(version or sys.version_info)
    executor_cls = getattr(process, "ProcessPoolExecutor", None)
    manager_cls = getattr(process, "_ExecutorManagerThread", None)
    if executor_cls is None or manager_cls is None:
        return _unknown(
            "concurrent.futures.process has no ProcessPoolExecutor or _ExecutorManagerThread",
            version,
        )
    has_forced = callable(getattr(executor_cls, "_force_shutdown", None))
    forced_state = MISSING if has_forced else NOT_APPLICABLE

    init_code = _code(executor_cls.__init__)
    if init_code is None or "max_tasks_per_child" not in init_code.co_varnames:
        if version[:2] < FIRST_AFFECTED:
            return Detection(
                NO_RECYCLING,
                dict.fromkeys(FIXES, NOT_APPLICABLE),
                "this stdlib has no max_tasks_per_child, so it cannot have the bug",
            )
        return _unknown(
            "Python %d.%d has no max_tasks_per_child, which 3.11+ should have" % version[:2],
            version,
            has_forced,
        )

    run_names = _names(manager_cls, "run")
    if callable(getattr(manager_cls, "_replace_dead_worker", None)):
        detection = _detect_upstream(manager_cls, executor_cls, has_forced)
        if detection.shape == UNKNOWN:
            return _unknown(detection.reason, version, has_forced)
        return detection

    if (
        callable(getattr(executor_cls, "_replace_dead_worker", None))
        and "_replace_dead_worker" in run_names
    ):
        shape, fixes = FIX_1_ONLY, {"gh-115634": NATIVE}
        expected = version[:2] == (3, 13)
        found = "the gh-115634 fix without its later hardening (as in late 3.13.x)"
    elif "_adjust_process_count" in run_names and "_idle_worker_semaphore" in run_names:
        # Patched by its code on any release from 3.11 on: a pre-fix stdlib on a release that
        # shipped the fix was replaced or overlaid, and still has the bug.
        shape, fixes = PRE_FIX, {"gh-115634": MISSING}
        expected = version[:2] >= FIRST_AFFECTED
        found = "the pre-fix worker replacement (gh-115634 and its follow-ups all missing)"
    else:
        return _unknown(
            "the manager thread's worker-exit path is neither the pre-fix one nor "
            "a fixed one we know",
            version,
            has_forced,
        )
    if not expected:
        return _unknown(
            "found %s, which Python %d.%d never shipped" % ((found,) + version[:2]),
            version,
            has_forced,
        )
    lacking = _missing_seams(process, executor_cls, manager_cls)
    if lacking:
        return _unknown(
            "found %s, but not what the patch relies on: %s" % (found, ", ".join(lacking)),
            version,
            has_forced,
        )
    fixes.update(
        {
            "gh-119592": MISSING,
            "gh-152967": MISSING,
            "failed-spawn": MISSING,
            "forced-shutdown": forced_state,
        }
    )
    fixes.update(_break_fixes(manager_cls))
    reason = "this stdlib has %s" % found
    if release_has_fix(version):
        reason += (
            "; Python %d.%d.%d was released with the fix, so this stdlib was replaced or "
            "overlaid: going by its code" % version[:3]
        )
    return Detection(shape, fixes, reason)


def _break_fixes(manager_cls: type) -> "dict[str, str]":
    """gh-109047: terminate_broken() holds the shutdown lock that submit() holds (3.12+);
    cancelled-future: it tolerates a cancelled future among the pending ones (3.12+)."""
    names = _names(manager_cls, "terminate_broken")
    names |= _names(manager_cls, "_terminate_broken")  # 3.12+ splits it in two
    return {
        "gh-109047": NATIVE if "shutdown_lock" in names else MISSING,
        "cancelled-future": NATIVE if "InvalidStateError" in names else MISSING,
    }


def _detect_upstream(manager_cls: type, executor_cls: type, has_forced: bool) -> Detection:
    names = _names(manager_cls, "_replace_dead_worker")
    fixes = {
        **_break_fixes(manager_cls),
        "gh-115634": NATIVE,
        "gh-119592": NATIVE if {"call_queue", "result_queue"} <= names else MISSING,
        "gh-152967": NATIVE if "executor_reference" in names else MISSING,
        "failed-spawn": NATIVE if "Exception" in names else MISSING,
        "forced-shutdown": NOT_APPLICABLE,
    }
    if has_forced:
        forced = "_force_shutting_down" in names | _names(executor_cls, "_force_shutdown")
        fixes["forced-shutdown"] = NATIVE if forced else MISSING
    partial = [fix for fix, state in fixes.items() if state == MISSING]
    if partial:
        return Detection(
            UNKNOWN,
            fixes,
            "the manager thread replaces workers itself (upstream "
            "shape) but lacks %s; a shape we cannot patch" % ", ".join(partial),
        )
    return Detection(UPSTREAM, fixes, "this stdlib already has the upstream fix")
