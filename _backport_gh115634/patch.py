"""apply(), revert(), status() and the start-up module's hand-over: install and remove the seams.

State, all of it guarded by ``_lock``, the package's state lock (re-entrant; the lock order is in
``_backport_gh115634``'s docstring):

- ``_installed``: {(class, name): (the stdlib object we replaced, our function)} for every seam of
  ours put on a class and not yet removed. A reload of the pool module makes new classes; the old
  ones keep our seams for the executors made from them, until revert() removes every one.
- ``_detection``: the last detection and the two classes it describes. A reload makes new
  classes, so it is detected afresh. Only a module that has finished executing is ever detected.
- ``_last_error``: why the last apply() failed; a successful apply() clears it.
- ``_warned``: whether the unrecognised-stdlib warning was given (once per process).

A forked child gets a new ``_lock`` (another thread may have held it at the fork); the rest is
the child's too, as the patched classes are.

``status().applied`` is computed, not remembered: are our seams on the classes of the pool module
in ``sys.modules`` now. Every public function first gets that module complete, holding no lock
(``complete()`` may wait for another thread's import, as any import statement does), then takes
``_lock`` for reads and assignments only; warnings, waking running pools and building the report
come after it is released.
"""

import os
import sys
import threading

import backport_gh115634_startup as _startup
from _backport_gh115634 import detect, interventions, seams, wakeup, warning
from _backport_gh115634 import status as _status
from _backport_gh115634.replacement import WorkerReplacement

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: the pool module does not load typing on 3.12+
    from types import ModuleType
    from typing import Any, Callable, Dict, List, Optional, Tuple

    from _backport_gh115634.detect import Detection
    from _backport_gh115634.seams import Key
    from _backport_gh115634.status import Status

TARGET = _startup.TARGET

_lock = threading.RLock()
_installed: "Dict[Key, Tuple[Any, Callable[..., Any]]]" = {}
_detection: "Optional[Tuple[Tuple[object, object], Detection]]" = None
_last_error: "Optional[str]" = None
_warned = False


def complete(module: "Optional[ModuleType]" = None) -> "Optional[ModuleType]":
    """The pool module once it has finished executing, importing it if nobody has; None while it
    is still executing in this thread (or in one this thread waits for). module: one the caller
    knows has executed (the start-up module's loader saw it). Call holding no lock of ours."""
    if module is not None:
        return module
    module = sys.modules.get(TARGET)
    if module is None or _executing(module):
        __import__(TARGET)  # waits for another thread's import of it, as any import does
        module = sys.modules.get(TARGET)
    if module is None or _executing(module):
        return None
    return module


def _executing(module: "ModuleType") -> bool:
    if module is _startup.delivered:
        return False  # our loader saw it finish; its import is merely still returning
    spec = getattr(module, "__spec__", None)
    return bool(getattr(spec, "_initializing", False))


def on_import(module: "Optional[ModuleType]" = None) -> None:
    """The start-up module's hand-over: apply, and warn about an unrecognised stdlib only where
    the user imported the package (the hook itself runs in every process and stays silent)."""
    apply(module, quiet="import" not in _startup.requested_by)


def apply(module: "Optional[ModuleType]" = None, quiet: bool = False) -> None:
    """Install the seams this stdlib needs on the classes of the pool module in sys.modules now;
    idempotent. quiet=True (the start-up hook) records a failure instead of raising it and gives
    no warning. Then wake every live executor's manager thread, so that a pool the stock code
    already stranded is seen by the new seams now rather than at its next submit() (wakeup).
    """
    global _last_error, _warned
    process = complete(module)
    if process is None:
        return  # our loader hands it over once it has executed
    unrecognised: "Optional[str]" = None
    failure: "Optional[Exception]" = None
    installed = False
    with _lock:
        _startup.undefer()  # the stand-in's job is done, or revert() wants the stdlib's back
        detection = _detect(process)
        if detection.shape == detect.UNKNOWN:
            if not quiet and not _warned:
                _warned = True
                unrecognised = detection.reason
        elif detection.patchable:
            try:
                installed = _install(process, detection)
            except Exception as exc:  # _install left the classes as they were
                _last_error = "apply() failed: %s: %s" % (type(exc).__name__, exc)
                failure = exc
            else:
                # This apply succeeded: an earlier apply failure is history. (The start-up hook's
                # own failure, _startup.hook_error, stays: programs that never call apply() got
                # no fix from it.)
                _last_error = None
    if unrecognised is not None:
        warning.warn(
            "backport_gh115634 left concurrent.futures.process untouched: %s. If this interpreter "
            "has the gh-115634 bug, ProcessPoolExecutor(max_tasks_per_child=...) can still hang; "
            "please report this Python build." % unrecognised
        )
    if failure is not None and not quiet:
        raise failure
    if installed:
        _wake(process)


def _detect(process: "ModuleType") -> "Detection":
    """The detection of this module's classes as they are now; _lock held."""
    global _detection
    classes = (
        getattr(process, "ProcessPoolExecutor", None),
        getattr(process, "_ExecutorManagerThread", None),
    )
    if (
        _detection is None
        or _detection[0][0] is not classes[0]
        or _detection[0][1] is not classes[1]
    ):
        _detection = (classes, detect.detect(process))
    return _detection[1]


def _ours(key: "Key") -> bool:
    entry = _installed.get(key)
    return entry is not None and key[0].__dict__.get(key[1]) is entry[1]


def _applied(process: "ModuleType", detection: "Detection") -> bool:
    """Are our seams on every attribute this shape needs, on the module's classes now?"""
    if not detection.patchable:
        return False
    return all(_ours(key) for key in seams.seam_names(process, detection))


def _install(process: "ModuleType", detection: "Detection") -> bool:
    """Put our seams where they are not yet; all or none. True if anything was installed."""
    keys = [key for key in seams.seam_names(process, detection) if not _ours(key)]
    if not keys:
        return False
    originals = {(owner, name): owner.__dict__[name] for owner, name in keys}
    # Only the pre-fix exit path trusts the idle-worker token; late 3.13's replaces regardless.
    replacement = WorkerReplacement(process, detection)
    built = seams.build(process, replacement, originals)
    done: "List[Key]" = []
    try:
        for key, function in built.items():
            owner, name = key
            setattr(owner, name, function)
            done.append(key)
            _installed[key] = (originals[key], function)
    except Exception:
        for key in done:
            owner, name = key
            setattr(owner, name, originals[key])
            del _installed[key]
        raise
    return True


def _uninstall() -> "List[str]":
    """Put the originals back where ours still stand; return the attributes someone else took
    over after us (left as they are). _lock held."""
    taken_over = []
    for key, (original, function) in list(_installed.items()):
        owner, name = key
        if owner.__dict__.get(name) is function:
            setattr(owner, name, original)
        else:
            taken_over.append("%s.%s" % (owner.__name__, name))
        del _installed[key]
    seams.void_verdicts()  # a verdict left before this revert must not act after an apply()
    return taken_over


def revert() -> "Status":
    """Remove every seam of ours and a pending deferral; executors already running follow the
    stdlib again from their next call. Returns status()."""
    with _lock:
        _startup.undefer()
        taken_over = _uninstall()
    if taken_over:
        warning.warn(
            "revert() left %s as it found them: something replaced our patch after "
            "apply(), and restoring the stdlib original would throw that away"
            % ", ".join(taken_over)
        )
    return status()


def status() -> "Status":
    """The report on the pool module in sys.modules now. Where a deferral is pending (a pool
    worker), it is applied first, so the report describes the stdlib as this process will use
    it."""
    process = complete()
    if process is None:
        return _status.build(detect.importing(), False, _errors(), interventions.snapshot())
    if _startup.deferred():
        apply(process, quiet=True)
    with _lock:
        detection = _detect(process)
        applied = _applied(process, detection)
        errors = _errors()
    return _status.build(detection, applied, errors, interventions.snapshot())


def _errors() -> "List[Optional[str]]":
    return [_last_error, interventions.last_internal_error]


def originals() -> "Dict[Key, Any]":
    """{(class, name): the stdlib object our seam there replaced}, for tests and the doctor."""
    with _lock:
        return {key: entry[0] for key, entry in _installed.items()}


def _after_fork_in_child() -> None:
    """Another thread may have held the state lock at the fork; in the child it never lets go.
    The rest of the state describes the classes, which the child shares with its parent."""
    global _lock
    _lock = threading.RLock()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _wake(process: "ModuleType") -> None:
    global _last_error
    try:
        wakeup.wake_managers(process)
    except Exception as exc:  # the fix is in place; only the rescue of stuck pools waits
        with _lock:
            _last_error = "apply() could not wake the running executors: %s: %s" % (
                type(exc).__name__,
                exc,
            )
