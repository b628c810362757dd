"""BackportWarning, and warnings that point at the user's line, not at ours."""

import sys
import warnings

TYPE_CHECKING = False
if TYPE_CHECKING:
    from types import FrameType
    from typing import Optional


class BackportWarning(RuntimeWarning):
    """Something the user can act on: an unrecognised stdlib left unpatched, a bad env value,
    a revert that could not restore an attribute someone else replaced after us."""


BackportWarning.__module__ = "backport_gh115634"  # where users import it from

# Frames of these modules are ours: a warning is attributed to the first frame outside them and
# outside the import machinery running them.
_PACKAGES = ("_backport_gh115634", "backport_gh115634")


def _is_ours(frame: "FrameType") -> bool:
    filename = frame.f_code.co_filename
    if "importlib" in filename and "_bootstrap" in filename:
        return True  # the import machinery, as warnings itself skips it
    name = frame.f_globals.get("__name__", "")
    return name == "backport_gh115634_startup" or name.split(".")[0] in _PACKAGES


def caller_frame() -> "Optional[FrameType]":
    """The innermost frame that is neither ours nor the import machinery's."""
    frame: "Optional[FrameType]" = sys._getframe(1)
    while frame is not None and _is_ours(frame):
        frame = frame.f_back
    return frame


def warn(message: str) -> None:
    """Issue a BackportWarning attributed to the user's line that led here (an import, an
    apply() or revert() call), under the user's warning filters. Call it holding no lock."""
    frame = caller_frame()
    if frame is None:
        warnings.warn(message, BackportWarning, stacklevel=2)
        return
    # As warnings.warn() itself does: the frame's module and registry (once-per-location
    # filters), and no module_globals (a -c program's loader cannot give its source).
    module_globals = frame.f_globals
    registry = module_globals.setdefault("__warningregistry__", {})
    warnings.warn_explicit(
        message,
        BackportWarning,
        frame.f_code.co_filename,
        frame.f_lineno,
        module=module_globals.get("__name__", "<string>"),
        registry=registry,
    )
