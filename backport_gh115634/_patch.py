"""apply() / revert(): install and remove the seams, idempotently and under one lock.

The originals are recorded once, the first time we replace them (a second apply() after a revert
records them again, so a revert always restores exactly what it found). A revert puts an original
back only where our function is still in place: whoever replaced it after us keeps theirs, and
we say so with a warning.
"""
import sys
import threading

from backport_gh115634 import _detect, _interventions, _seams

TYPE_CHECKING = False
if TYPE_CHECKING:  # annotations only: the pool module does not load typing on 3.12+
    from types import ModuleType
    from typing import Any, Callable, Dict, List, Optional

    from backport_gh115634._detect import Detection
    from backport_gh115634._seams import Key
    from backport_gh115634._status import Status

TARGET = "concurrent.futures.process"

_lock = threading.RLock()
# (class, name) -> the stdlib object we replaced
_originals: "Dict[Key, Any]" = {}
# (class, name) -> our function now on the class
_installed: "Dict[Key, Callable[..., Any]]" = {}
# Detection of the stdlib as shipped, made once per process
_detection: "Optional[Detection]" = None
_process: "Optional[ModuleType]" = None
_warned = False
_last_error: "Optional[str]" = None


def _load_process(process: "Optional[ModuleType]") -> "ModuleType":
    global _process
    if process is None:
        process = sys.modules.get(TARGET)
        if process is None:
            import concurrent.futures.process as process
    _process = process
    return process  # type: ignore[return-value]  # mypy does not narrow on import-as (#12965)


def _detect_once(process: "ModuleType") -> "Detection":
    global _detection
    if _detection is None:
        _detection = _detect.detect(process)
    return _detection


def apply(process: "Optional[ModuleType]" = None, quiet: bool = False) -> None:
    """Install the seams this stdlib needs; quiet=True (start-up hook) records instead of warning.

    Once installed, wake every live executor's manager thread, so that a pool the stock code
    already stranded is seen by the new seams now rather than at its next submit() (_wakeup).

    Returns nothing: building a status() is left to those who ask, since the start-up hook runs
    this in every worker process and needs no report.
    """
    global _last_error
    with _lock:
        process = _load_process(process)
        detection = _detect_once(process)
        if detection.shape == _detect.UNKNOWN:
            if not quiet:
                _warn_unrecognised(detection)
            return
        if not detection.patchable or _installed:
            return
        try:
            _install(process, detection)
        except Exception as exc:  # leave the stdlib exactly as it was
            _uninstall()
            _last_error = "apply() failed: %s: %s" % (type(exc).__name__, exc)
            if not quiet:
                raise
            return
    # Outside our lock: waking may wait for a pool's shutdown lock, whose holder may be a
    # callback calling status() or revert().
    _wake(process)


def _wake(process: "ModuleType") -> None:
    global _last_error
    if not getattr(process, "_threads_wakeups", None):
        return  # no executor yet, as when the start-up hook applies: nothing to import either
    from backport_gh115634 import _wakeup

    try:
        _wakeup.wake_managers(process)
    except Exception as exc:  # the fix is in place; only the rescue of stuck pools waits
        _last_error = "apply() could not wake the running executors: %s: %s" % (
            type(exc).__name__, exc)


def applied() -> bool:
    return bool(_installed)


def _install(process: "ModuleType", detection: "Detection") -> None:
    from backport_gh115634._replacement import WorkerReplacement

    names = _seams.seam_names(process, detection.shape)
    originals = {(owner, name): owner.__dict__[name] for owner, name in names}
    # Only the pre-fix exit path trusts the idle-worker token; late 3.13's replaces regardless.
    replacement = WorkerReplacement(
        process, stock_trusts_idle_token=detection.shape == _detect.PRE_FIX)
    seams = _seams.build(process, replacement, originals)
    for key, function in seams.items():
        owner, name = key
        _originals[key] = originals[key]
        setattr(owner, name, function)
        _installed[key] = function


def _uninstall() -> "List[str]":
    """Put the originals back where ours still stand; return the keys someone else took over."""
    taken_over = []
    for key, function in list(_installed.items()):
        owner, name = key
        if owner.__dict__.get(name) is function:
            setattr(owner, name, _originals[key])
        else:
            taken_over.append("%s.%s" % (owner.__name__, name))
        del _installed[key]
        del _originals[key]
    return taken_over


def revert() -> "Status":
    """Remove the seams; executors already running follow the stdlib again from their next call."""
    with _lock:
        taken_over = _uninstall()
        if taken_over:
            _warn("revert() left %s as it found them: something replaced our patch after "
                  "apply(), and restoring the stdlib original would throw that away"
                  % ", ".join(taken_over))
        return status()


def status() -> "Status":
    from backport_gh115634 import _status

    with _lock:
        process = _load_process(None)
        return _status.build(_detect_once(process), bool(_installed), _last_error,
                             _interventions.snapshot())


def _warn_unrecognised(detection: "Detection") -> None:
    global _warned
    if _warned:
        return
    _warned = True
    _warn("backport_gh115634 left concurrent.futures.process untouched: %s. If this interpreter "
          "has the gh-115634 bug, ProcessPoolExecutor(max_tasks_per_child=...) can still hang; "
          "please report this Python build." % detection.reason)


def _warn(message: str) -> None:
    import warnings

    from backport_gh115634 import BackportWarning

    warnings.warn(message, BackportWarning, stacklevel=4)
