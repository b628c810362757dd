"""status(): an immutable snapshot of what this interpreter needs and what we did about it."""

import collections
import sys
import types

import backport_gh115634_startup as _startup
from _backport_gh115634 import detect

TYPE_CHECKING = False
if TYPE_CHECKING:  # for the type checker only: status() does not import typing
    from typing import Mapping, NamedTuple, Optional, Sequence, Tuple

    from _backport_gh115634.detect import Detection

    class _Fields(NamedTuple):
        """The fields as the type checker sees them; keep in step with the namedtuple below."""

        affected: Optional[bool]
        applied: bool
        fixes: Mapping[str, str]
        reason: str
        shape: str
        python: str
        activation: Tuple[str, ...]
        error: Optional[str]
        interventions: Mapping[str, int]
else:
    _Fields = collections.namedtuple(
        "_Fields",
        [
            # True: the stdlib has the bug; False: it does not; None: unrecognised stdlib
            "affected",
            "applied",  # our seams are installed right now
            "fixes",  # read-only {fix: "native" | "patched" | "missing" | "not applicable"}
            "reason",  # one human-readable sentence or two
            "shape",  # which concurrent/futures/process.py we found (see detect)
            "python",  # e.g. "CPython 3.12.1"
            "activation",  # how the package was switched on: tuple of sources, or ("disabled",)
            "error",  # what went wrong while activating or applying, if anything
            # read-only {fix or "rescue": times, in this process, the shim did what the stock code
            # would not have}; last, so that status[i] keeps its meaning for the fields above
            "interventions",
        ],
    )


class Status(_Fields):
    """Immutable: a tuple with named fields; ``fixes`` is a read-only mapping."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "Status(affected=%r, applied=%r, fixes=%r, reason=%r)" % (
            self.affected,
            self.applied,
            dict(self.fixes),
            self.reason,
        )


def python_description() -> str:
    version = sys.version_info
    text = "%s %d.%d.%d" % (
        sys.implementation.name.replace("cpython", "CPython").replace("pypy", "PyPy"),
        version.major,
        version.minor,
        version.micro,
    )
    if version.releaselevel != "final":
        text += "%s%d" % (
            {"alpha": "a", "beta": "b", "candidate": "rc"}.get(
                version.releaselevel, version.releaselevel
            ),
            version.serial,
        )
    return text


def activation() -> "Tuple[str, ...]":
    if _startup.disabled_by_env and not _startup.requested_by:
        return ("disabled by %s=0" % _startup.ENV_VAR,)
    return tuple(_startup.requested_by)


def build(
    detection: "Detection",
    applied: bool,
    errors: "Sequence[Optional[str]]",
    interventions: "Mapping[str, int]",
) -> Status:
    """errors: what went wrong in this process (an apply, a manager thread), None where nothing
    did; the start-up module's own records are added here."""
    fixes = {}
    for fix in detect.FIXES:
        state = detection.fixes.get(fix, detect.NOT_APPLICABLE)
        if applied and state == detect.MISSING:
            state = detect.PATCHED
        fixes[fix] = state
    if detection.shape == detect.UNKNOWN:
        reason = "not patched: unrecognised stdlib: " + detection.reason
    elif detection.shape == detect.IMPORTING:
        reason = "not looked at yet: " + detection.reason
    elif not detection.affected:
        reason = "nothing to do: " + detection.reason
    elif applied:
        reason = "patched: " + detection.reason
    elif _startup.disabled_by_env:
        reason = "affected and not patched (%s=0): %s" % (_startup.ENV_VAR, detection.reason)
    else:
        reason = "affected and not patched: " + detection.reason
    found = [text for text in [_startup.hook_error, *errors] if text]
    if _startup.bad_env_value is not None:
        found.append(
            "%s=%r is not understood (use 0 or 1); treated as 1"
            % (_startup.ENV_VAR, _startup.bad_env_value)
        )
    return Status(
        affected=detection.affected,
        applied=applied,
        fixes=types.MappingProxyType(fixes),
        reason=reason,
        shape=detection.shape,
        python=python_description(),
        activation=activation(),
        error="; ".join(found) or None,
        interventions=interventions,
    )
