"""The doctor behind ``python -m backport_gh115634``.

It reports what ``status()`` knows (is this stdlib affected, which fixes are native, patched or
missing, how the package was activated), then proves it live: the gh-115634 reproducer runs in a
child process of this same interpreter, started the way the user's own programs start, under a
hard deadline. So the doctor never hangs, even on an interpreter where the reproducer does.

The child is a program of its own, _doctor_child.py, run by path (see there). It ends a hang
two ways. It watches its pool's state: work pending and no worker left, for a moment, is a state
no pool leaves by itself (the stock pool's gh-115634 hang), so it reports the pool stranded at
once and exits (CHILD_STRANDED). It also keeps the deadline: a watchdog thread kills its pool's
worker processes and exits (CHILD_TIMED_OUT). Either way it ends the workers itself, which is
what ends them where there is no process group to kill (Windows). The doctor keeps a later
deadline in case the child cannot: it kills the child's process group where os.killpg exists,
the child alone elsewhere.

Not on the start-up path: this module may import what it likes.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time

import backport_gh115634
import backport_gh115634_startup as _startup
from _backport_gh115634 import detect as _detect
from backport_gh115634 import _doctor_child as _child

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any, Callable, Dict, List, Mapping, NoReturn, Optional, Sequence, Tuple

EXIT_SAFE = 0
EXIT_AFFECTED = 1
EXIT_LIVE_CHECK_FAILED = 2
EXIT_USAGE = 3

DEFAULT_DEADLINE = 60.0
DEFAULT_COMPARE_DEADLINE = 20.0
# The child's own deadline is the one asked for; the doctor waits this much longer before it kills
# the child itself (only a child whose watchdog could not act costs it).
PARENT_GRACE = 10.0
# The child program (the reproducer and its watchdog), run by path: it is no module of the
# package when it runs. Its line prefix, exit statuses and task count are named there.
CHILD_PROGRAM = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_doctor_child.py")
LINE_PREFIX = _child.LINE_PREFIX
CHILD_TIMED_OUT = _child.CHILD_TIMED_OUT
CHILD_STRANDED = _child.CHILD_STRANDED
WORKER_END_WAIT = _child.WORKER_END_WAIT
STRANDED_AFTER = _child.STRANDED_AFTER
TASKS = _child.TASKS
ISSUE_URL = "https://github.com/python/cpython/issues/"
# status().reason's prefix where this process patched the stdlib's classes.
PATCHED_PREFIX = "patched: "
REPRODUCER = "ProcessPoolExecutor(1, max_tasks_per_child=2), %d tasks of operator.mul" % TASKS
# The keys of status().interventions (the doctor may not import _interventions: it pulls in
# logging, which the doctor does not otherwise need).
INTERVENTION_NAMES = _detect.FIXES + ("rescue",)

# Outcomes of one live run.
PASSED = "passed"
HUNG = "hung"
FAILED = "failed"
SKIPPED = "skipped"


class _Parser(argparse.ArgumentParser):
    """argparse's own message for a bad command line, but exit 3: 2 means a failed live check."""

    def error(self, message: str) -> "NoReturn":
        self.print_usage(sys.stderr)
        self.exit(EXIT_USAGE, "%s: error: %s\n" % (self.prog, message))


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError("not a number of seconds: %r" % text) from None
    if not 0 < value <= 3600:
        raise argparse.ArgumentTypeError("must be more than 0 and at most 3600 seconds: %r" % text)
    return value


def build_parser() -> _Parser:
    parser = _Parser(
        prog="python -m backport_gh115634",
        allow_abbrev=False,
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description=(
            "Doctor for backport-gh115634: is this interpreter affected by gh-115634 (a\n"
            "ProcessPoolExecutor with max_tasks_per_child hangs when a worker retires with work\n"
            "still queued), is it protected, and how. Then it proves it: the reproducer\n"
            "(%s) runs in a child process\n"
            "of this interpreter, started as your programs start (they need not import this\n"
            "package), under a hard deadline." % REPRODUCER
        ),
        epilog=(
            "exit status:\n"
            "  0  safe: the stdlib has the fix natively, or this package patched it, and the\n"
            "     live check passed\n"
            "  1  affected and not patched (BACKPORT_GH115634=0, an unrecognised stdlib, or a\n"
            "     failure shown in the report)\n"
            "  2  the live check failed: the reproducer hung past the deadline or went wrong\n"
            "     although the interpreter looked protected\n"
            "  3  bad command line\n"
            "  130  interrupted\n"
            "\n"
            "BACKPORT_GH115634=0 in the environment switches the automatic activation off."
        ),
    )
    parser.add_argument(
        "--json", action="store_true", help="print one JSON object instead of the report"
    )
    parser.add_argument(
        "--compare",
        action="store_true",
        help="also run the reproducer with the fix disabled (BACKPORT_GH115634=0), "
        "to see the stock interpreter hang next to the fixed run; when the "
        "fix is disabled, run it with the fix switched on instead",
    )
    parser.add_argument(
        "--deadline",
        type=_seconds,
        default=DEFAULT_DEADLINE,
        metavar="SECONDS",
        help="kill the live check after this long and call it hung (default %(default)g)",
    )
    parser.add_argument(
        "--compare-deadline",
        type=_seconds,
        default=DEFAULT_COMPARE_DEADLINE,
        metavar="SECONDS",
        help="the same for the run without the fix, which hangs on an affected "
        "interpreter (default %(default)g)",
    )
    parser.add_argument(
        "--version",
        action="version",
        version="backport-gh115634 %s" % backport_gh115634.__version__,
    )
    return parser


# --- what this process knows ----------------------------------------------------------------


def _startup_files() -> "Dict[str, Optional[str]]":
    """The start-up file next to backport_gh115634_startup.py: {"pth": path or None}."""
    where = os.path.dirname(os.path.abspath(_startup.__file__))
    path = os.path.join(where, "backport_gh115634.pth")
    return {"pth": path if os.path.isfile(path) else None}


def _in_site_directory(path: str) -> "Optional[bool]":
    try:
        import site

        directories = list(site.getsitepackages()) + [site.getusersitepackages()]
    except Exception:
        return None
    here = os.path.normcase(os.path.realpath(path))
    return any(os.path.normcase(os.path.realpath(d)) == here for d in directories if d)


def _pth_stands_down(files: "Dict[str, Optional[str]]") -> bool:
    """True where the installed .pth line imports nothing by design: a release that shipped the
    fix, and BACKPORT_GH115634 is not 1 (the line's own test; tests check the two agree)."""
    if not files["pth"] or sys.flags.no_site:
        return False
    if _detect.release_may_be_affected(sys.version_info):
        return False
    return os.environ.get(_startup.ENV_VAR, "").strip() not in ("1", "0")


def describe_activation() -> "Dict[str, Any]":
    """How the package was switched on in this process, and whether that is automatic.

    "import" among the sources is this doctor's own import of the package, so it only counts
    when nothing else activated the package: then programs must import it to be patched.
    """
    files = _startup_files()
    sources = list(_startup.requested_by)
    calls = list(_startup.calls)
    standing_down = "startup hook" not in calls and _pth_stands_down(files)
    automatic = standing_down or "startup hook" in sources or "sitecustomize" in sources
    shown = []
    for source in sources:
        if source == "startup hook":
            shown.append("startup hook (backport_gh115634.pth)")
        elif source != "import" or not automatic:
            shown.append(source)
    if _startup.disabled_by_env and not sources:
        ran = sorted({c for c in calls if c != "import"})
        text = "disabled by %s=0" % _startup.ENV_VAR
        if ran:
            text += " (the %s ran and stood down)" % " and the ".join(ran)
        text += ": programs are not patched"
    elif standing_down:
        text = (
            "startup hook (backport_gh115634.pth) installed; it imports nothing on this "
            "release, which shipped the fix (%s=1 makes it look at the stdlib anyway)"
            % _startup.ENV_VAR
        )
    elif automatic:
        text = (
            " + ".join(shown) + ": automatic, every program this interpreter runs here is "
            "covered without importing anything"
        )
    elif sources:
        text = (
            " + ".join(shown) + " only: programs that import backport_gh115634 are "
            "patched, others are not; no start-up hook ran because " + _why_no_hook(files)
        )
    else:
        text = "not activated: " + _why_no_hook(files)
    return {
        "sources": sources,
        "calls": calls,
        "automatic": automatic,
        "standing_down": standing_down,
        "disabled_by_env": bool(_startup.disabled_by_env),
        "startup_files": files,
        "description": text,
        "notes": [],
    }


def _why_no_hook(files: "Dict[str, Optional[str]]") -> str:
    if sys.flags.no_site:
        return "python ran with -S (no site, so no .pth files)"
    if not files["pth"]:
        return (
            "backport_gh115634.pth is not installed next to "
            "backport_gh115634_startup.py (package used from a source tree or PYTHONPATH; "
            "install the wheel, or add the sitecustomize line)"
        )
    where = os.path.dirname(os.path.abspath(_startup.__file__))
    if _in_site_directory(where) is False:
        return (
            "%s is not a site-packages directory of this interpreter, so its .pth files "
            "are not read" % where
        )
    return "the start-up files were not processed (is something skipping .pth files?)"


def gil_state() -> "Optional[str]":
    """On a free-threaded build, "off" or "on" for this process (which has imported the
    package, and patched if it would); None on a build that always has the GIL."""
    import sysconfig

    if not sysconfig.get_config_var("Py_GIL_DISABLED"):
        return None
    is_enabled = getattr(sys, "_is_gil_enabled", None)
    return None if is_enabled is None else ("on" if is_enabled() else "off")


def collect() -> "Dict[str, Any]":
    """Everything the doctor reports before the live check, as plain data."""
    report: "Dict[str, Any]" = {
        "version": backport_gh115634.__version__,
        "python": None,
        "implementation": sys.implementation.name,
        "executable": sys.executable,
        "python_build": " ".join(sys.version.split()),
        "gil": None,
        "affected": None,
        "applied": False,
        "shape": None,
        "reason": None,
        "fixes": {},
        "activation": describe_activation(),
        "error": None,
    }
    try:
        status = backport_gh115634.status()
    except Exception as exc:  # report it rather than die with a traceback
        from _backport_gh115634 import status as _status

        report["python"] = _status.python_description()
        report["error"] = "status() failed: %s: %s" % (type(exc).__name__, exc)
        report["reason"] = "could not inspect concurrent.futures.process"
        report["fixes"] = dict.fromkeys(_detect.FIXES, _detect.MISSING)
        report["gil"] = gil_state()
        return report
    report.update(
        python=status.python,
        affected=status.affected,
        applied=status.applied,
        shape=status.shape,
        reason=status.reason,
        fixes=dict(status.fixes),
        error=status.error,
        gil=gil_state(),  # after status(), which imports (and so may patch) the pool
    )
    return report


def protected(report: "Dict[str, Any]") -> bool:
    """True when this interpreter's programs get a pool without the bug: natively, or patched."""
    return report["affected"] is False or (report["affected"] is True and report["applied"])


# --- live runs --------------------------------------------------------------------------------


def _interpreter_flags() -> "List[str]":
    """The command-line flags this interpreter runs with (-I, -S, -E, -X ...), so the child
    starts as this process did. The stdlib's helper for exactly that (multiprocessing uses it)."""
    flags = getattr(subprocess, "_args_from_interpreter_flags", None)
    try:
        return list(flags()) if flags is not None else []
    except Exception:
        return []


def _group_kill() -> "Optional[Callable[[int], None]]":
    """Where the platform has process groups (os.killpg and SIGKILL): a function that kills the
    group led by a pid. None elsewhere (Windows)."""
    killpg = getattr(os, "killpg", None)
    sigkill = getattr(signal, "SIGKILL", None)
    if killpg is None or sigkill is None:
        return None
    return lambda pid: killpg(pid, sigkill)


def _kill_child(proc: "subprocess.Popen[bytes]") -> None:
    """Kill the child's process group, or the child alone where there are no process groups (its
    watchdog has ended its pool's workers by then, unless it could not run)."""
    kill_group = _group_kill()
    try:
        if kill_group is not None:
            kill_group(proc.pid)
        else:
            proc.kill()
    except OSError:
        pass


def child_command(deadline: float, import_package: bool = False) -> "List[str]":
    """The child program's path and arguments: the reproducer, with its own deadline of
    `deadline` seconds, importing backport_gh115634 first if import_package."""
    return [
        CHILD_PROGRAM,
        "deadline=%r" % deadline,
        "wait=%r" % (deadline + PARENT_GRACE + 60.0),  # both deadlines come first
        "import_package=%d" % import_package,
    ]


def run_reproducer(
    label: str,
    deadline: float,
    env_changes: "Optional[Mapping[str, Optional[str]]]" = None,
    import_package: bool = False,
) -> "Dict[str, Any]":
    """Run the reproducer in a child process, which stops itself when its pool is stranded
    (CHILD_STRANDED) or at the deadline (CHILD_TIMED_OUT), killing its pool's workers first; kill
    the child if it has not done so PARENT_GRACE seconds later.

    Returns a dict: outcome (passed / hung / failed), seconds, results done, what the child saw.
    """
    env = dict(os.environ)
    for name, value in (env_changes or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    argv = [sys.executable] + _interpreter_flags() + child_command(deadline, import_package)
    run: "Dict[str, Any]" = {
        "label": label,
        "ran": True,
        "deadline": deadline,
        "program": "import backport_gh115634, then the reproducer"
        if import_package
        else "the reproducer alone (no import of backport_gh115634)",
        "env": dict(env_changes or {}),
        "tasks": TASKS,
    }
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        started = time.monotonic()
        try:
            proc = subprocess.Popen(
                argv,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=err,
                env=env,
                start_new_session=_group_kill() is not None,
            )
        except OSError as exc:
            run.update(
                outcome=FAILED,
                seconds=0.0,
                done=0,
                detail="could not start %s: %s" % (sys.executable, exc),
            )
            return run
        timed_out = False
        try:
            proc.wait(timeout=deadline + PARENT_GRACE)
        except subprocess.TimeoutExpired:
            timed_out = True
        finally:
            # At the parent's deadline; and for any worker that a crashed child left behind, where
            # there is a process group to find it by.
            _kill_child(proc)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        # The child's watchdog stopped it at its deadline: hung, as when this process stops it.
        timed_out = timed_out or proc.returncode == CHILD_TIMED_OUT
        wall = time.monotonic() - started
        out.seek(0)
        err.seek(0)
        stdout = out.read().decode("utf-8", "replace")
        stderr = err.read().decode("utf-8", "replace")
    return _judge(run, stdout, stderr, timed_out, proc.returncode, wall)


def _judge(
    run: "Dict[str, Any]",
    stdout: str,
    stderr: str,
    timed_out: bool,
    returncode: "Optional[int]",
    wall: float,
) -> "Dict[str, Any]":
    events = []
    for line in stdout.splitlines():
        if line.startswith(LINE_PREFIX):
            try:
                events.append(json.loads(line[len(LINE_PREFIX) :]))
            except ValueError:
                pass
    start: "Dict[str, Any]" = next((e for e in events if e.get("event") == "start"), {})
    done = [e for e in events if e.get("event") == "done"]
    results = max([e.get("done", 0) for e in events if e.get("event") == "result"] or [0])
    run.update(seconds=round(wall, 3), done=results, child=start)
    run.update(_interventions(done[-1] if done else None))
    tail = stderr.strip().splitlines()[-5:]
    stranded = [e for e in events if e.get("event") == "stranded"]
    if stranded and not timed_out and returncode == CHILD_STRANDED:
        # The child saw its pool stranded and stopped itself, long before the deadline.
        run.update(
            outcome=HUNG,
            detail="%d of %d results, then nothing: stranded, no worker left with %s tasks "
            "pending for %.1fs; stopped after %.1fs, before the %gs deadline"
            % (
                results,
                TASKS,
                stranded[-1].get("pending", "?"),
                stranded[-1].get("stranded_for") or 0.0,
                wall,
                run["deadline"],
            ),
        )
    elif timed_out and results == TASKS:
        run.update(
            outcome=HUNG,
            detail="all %d results, but the pool did not shut down: "
            "stopped at the %gs deadline" % (TASKS, run["deadline"]),
        )
    elif timed_out:
        run.update(
            outcome=HUNG,
            detail="%d of %d results, then nothing: stopped at the %gs "
            "deadline" % (results, TASKS, run["deadline"]),
        )
    elif returncode != 0 or not done:
        run.update(
            outcome=FAILED,
            detail="the child exited with status %s after %d of %d "
            "results: %s" % (returncode, results, TASKS, " | ".join(tail) or "no output"),
        )
    elif done[-1].get("results") != [i * 2 for i in range(TASKS)]:
        run.update(outcome=FAILED, detail="wrong results: %r" % (done[-1].get("results"),))
    else:
        run.update(
            outcome=PASSED,
            seconds=round(done[-1].get("seconds", wall), 3),
            detail="%d of %d results in %.2fs" % (TASKS, TASKS, done[-1].get("seconds", wall)),
        )
    return run


def _interventions(done: "Optional[Dict[str, Any]]") -> "Dict[str, Any]":
    """What the child's status().interventions said at its end: "interventions" (counts per fix
    and "rescue"; zeros when the package was not loaded there, or the child never finished) and
    "interventions_source" ("status()", "not loaded", "not reached" or the error)."""
    zeros = dict.fromkeys(INTERVENTION_NAMES, 0)
    if done is None:
        return {"interventions": zeros, "interventions_source": "not reached"}
    reported = done.get("interventions")
    if reported is None:
        return {"interventions": zeros, "interventions_source": "not loaded"}
    if not isinstance(reported, dict):
        return {"interventions": zeros, "interventions_source": "status() failed: %s" % reported}
    zeros.update(reported)
    return {"interventions": zeros, "interventions_source": "status()"}


def _spec(
    role: str,
    label: str,
    deadline: float,
    env_changes: "Optional[Mapping[str, Optional[str]]]" = None,
    import_package: bool = False,
    skip: "Optional[str]" = None,
) -> "Dict[str, Any]":
    return {
        "role": role,
        "label": label,
        "deadline": deadline,
        "env_changes": env_changes,
        "import_package": import_package,
        "skip": skip,
    }


def plan(
    report: "Dict[str, Any]", deadline: float, compare: bool, compare_deadline: float
) -> "List[Dict[str, Any]]":
    """The live runs to make: first the one that shows what the user's programs get ("main"),
    then with --compare its counterpart ("compare")."""
    activation = report["activation"]
    off = {_startup.ENV_VAR: "0"}
    on = {_startup.ENV_VAR: "1"}
    if report["shape"] == _detect.NO_RECYCLING:
        why = "this Python has no max_tasks_per_child, so the reproducer cannot run"
        return [_spec("main", "as your programs run", deadline, skip=why)]
    if report["affected"] and not report["applied"]:
        # Programs get the stock pool. Where it is known to hang, only --compare runs it.
        label = "as your programs run, unpatched"
        if activation["disabled_by_env"] and not activation["sources"]:
            label = "as your programs run, with the fix disabled (%s=0)" % _startup.ENV_VAR
        skip = None
        if report["fixes"].get("gh-115634") == _detect.MISSING and not compare:
            skip = (
                "this stdlib is affected and the fix is not active, so the reproducer would "
                "hang; --compare runs it (under a deadline) next to a run with the fix on"
            )
        runs = [_spec("main", label, compare_deadline if compare else deadline, skip=skip)]
        if compare:
            runs.append(
                _spec(
                    "compare",
                    "with the fix switched on (%s=1 and import "
                    "backport_gh115634)" % _startup.ENV_VAR,
                    deadline,
                    on,
                    True,
                )
            )
        return runs
    # Protected (or an unrecognised stdlib): the child starts as this process did. With a
    # start-up hook (or the fix disabled) it imports nothing of ours; activated by import only,
    # it imports the package as such programs must.
    label = "as your programs run"
    if activation["disabled_by_env"] and not activation["sources"]:
        label += ", with the fix disabled (%s=0)" % _startup.ENV_VAR
    import_only = bool(activation["sources"]) and not activation["automatic"]
    runs = [_spec("main", label, deadline, import_package=import_only)]
    if compare:
        runs.append(
            _spec(
                "compare", "with the fix disabled (%s=0)" % _startup.ENV_VAR, compare_deadline, off
            )
        )
    return runs


def execute(spec: "Dict[str, Any]", report: "Dict[str, Any]") -> "Dict[str, Any]":
    """Make one planned run; for the main run of a patched interpreter, also check that the
    child was patched as this process is."""
    if spec["skip"]:
        return {
            "label": spec["label"],
            "ran": False,
            "outcome": SKIPPED,
            "detail": spec["skip"],
            "deadline": spec["deadline"],
            "seconds": None,
            "done": 0,
        }
    run = run_reproducer(
        spec["label"], spec["deadline"], spec["env_changes"], spec["import_package"]
    )
    if (
        spec["role"] == "main"
        and report["applied"]
        and run["outcome"] == PASSED
        and not run["child"].get("patched")
    ):
        run.update(
            outcome=FAILED,
            detail="the reproducer completed, but the child process was "
            "not patched although this one is (activation in the child: %s)"
            % (", ".join(run["child"].get("requested_by") or []) or "none"),
        )
    return run


def decide(report: "Dict[str, Any]", main: "Dict[str, Any]") -> "Tuple[int, str]":
    """(exit code, verdict) from the status report and the main live run."""
    if not protected(report):
        if report["affected"] is None:
            why = "not patched: this stdlib is not one the backport recognises"
        elif report["activation"]["disabled_by_env"] and not report["activation"]["sources"]:
            why = "affected and not patched: the fix is disabled by %s=0" % _startup.ENV_VAR
        else:
            why = "affected and not patched"
        if main["ran"] and main["outcome"] != PASSED:
            why += "; the live check %s" % main["outcome"]
        return EXIT_AFFECTED, why
    if not main["ran"]:
        return EXIT_SAFE, "safe: %s" % main["detail"]
    if main["outcome"] != PASSED:
        return EXIT_LIVE_CHECK_FAILED, "the live check %s: %s" % (main["outcome"], main["detail"])
    how = "fixed natively" if report["affected"] is False else "patched"
    verdict = "safe: %s, and the live check passed" % how
    if report["affected"] and not report["activation"]["automatic"]:
        verdict += " (only in programs that import backport_gh115634)"
    return EXIT_SAFE, verdict


# --- output ---------------------------------------------------------------------------------

_INDENT = " " * 12


def _field(title: str, text: str) -> "List[str]":
    """One report field: the title in a 12-column margin, the text wrapped beside it."""
    import textwrap

    return textwrap.wrap(
        text,
        width=100,
        initial_indent="%-12s" % title,
        subsequent_indent=_INDENT,
        break_on_hyphens=False,
    ) or [title]


def _text_header(report: "Dict[str, Any]") -> "List[str]":
    lines = ["backport-gh115634 %s doctor" % report["version"], ""]
    lines += _field("Python", "%s, %s" % (report["python"], report["executable"]))
    lines += _field("", report["python_build"])
    if report.get("gil") == "off":
        lines += _field(
            "GIL", "off in this process (free-threaded build), with this package imported"
        )
    elif report.get("gil") == "on":
        lines += _field(
            "GIL",
            "on in this process although the build is free-threaded (set by "
            "PYTHON_GIL=1 or -X gil=1, or re-enabled by an extension module "
            "that needs it)",
        )
    lines += _field("Stdlib", _stdlib_text(report["reason"]))
    lines += _fix_lines(report["fixes"])
    activation = report["activation"]
    lines += _field("Activation", activation["description"])
    for note in activation["notes"]:
        lines += _field("", "note: " + note)
    if report["error"]:
        lines += _field("Error", report["error"])
    return lines


def _stdlib_text(reason: "Optional[str]") -> str:
    """status()'s reason; its "patched:" says what this process did to the classes it loaded,
    which the text says, lest it read as files changed on disk."""
    if not reason:
        return "?"
    if reason.startswith(PATCHED_PREFIX):
        return "patched in this process (no file changed): " + reason[len(PATCHED_PREFIX) :]
    return reason


def not_needed(fixes: "Mapping[str, str]") -> "List[str]":
    """The fixes this stdlib has no use for: not applicable to its code (forced shutdown without
    terminate_workers(); all of them before max_tasks_per_child), and 3.11's break-path fixes
    where its own break path has them, as 3.12 and later do."""
    return [
        fix
        for fix in _detect.FIXES
        if fixes.get(fix) == _detect.NOT_APPLICABLE
        or (fix in _detect.BREAK_FIXES and fixes.get(fix) == _detect.NATIVE)
    ]


def _fix_lines(fixes: "Mapping[str, str]") -> "List[str]":
    """One line a fix this stdlib needs (its state and what it fixes), then one field naming
    the fixes it does not need, instead of rows saying "not applicable" or "(3.11)"."""
    import textwrap

    skipped = not_needed(fixes)
    shown = [fix for fix in _detect.FIXES if fix not in skipped]
    lines: "List[str]" = []
    for fix in shown:
        head = "%-12s%-17s%-9s" % ("Fixes" if not lines else "", fix, fixes.get(fix, "?"))
        lines += textwrap.wrap(
            _detect.FIX_TITLES[fix],
            width=100,
            initial_indent=head,
            subsequent_indent=" " * len(head),
            break_on_hyphens=False,
        )
    if skipped:
        reasons = []
        inapplicable = [fix for fix in skipped if fix not in _detect.BREAK_FIXES]
        if inapplicable:
            reasons.append("%s (this stdlib lacks what it fixes)" % ", ".join(inapplicable))
        broken = [fix for fix in skipped if fix in _detect.BREAK_FIXES]
        if broken:
            reasons.append(
                "%s (3.11's break path; fixed in this stdlib's own, as in 3.12+)"
                % " and ".join(broken)
            )
        lines += _field("Fixes" if not lines else "", "not needed here: " + "; ".join(reasons))
    return lines


def issue_links(report: "Dict[str, Any]") -> "List[str]":
    """The CPython issues behind the fixes the report lists as needed here, gh-115634 first."""
    skipped = not_needed(report["fixes"])
    return [
        "%s %s%s" % (fix, ISSUE_URL, fix[len("gh-") :])
        for fix in _detect.FIXES
        if fix.startswith("gh-") and (fix == "gh-115634" or fix not in skipped)
    ]


def _run_intro(spec: "Dict[str, Any]") -> "List[str]":
    title = "Live check" if spec["role"] == "main" else "Compare"
    if spec["skip"]:
        return _field(title, spec["label"])
    what = (
        "import backport_gh115634, then the reproducer"
        if spec["import_package"]
        else "the reproducer alone (no import of backport_gh115634)"
    )
    return _field(
        title, "%s: %s in a child process, deadline %gs" % (spec["label"], what, spec["deadline"])
    )


def _run_outcome(run: "Dict[str, Any]", spec: "Optional[Dict[str, Any]]" = None) -> "List[str]":
    lines = _field("", "%s: %s" % (run["outcome"].upper(), run["detail"]))
    if (
        spec is not None
        and spec["role"] == "compare"
        and (spec["env_changes"] or {}).get(_startup.ENV_VAR) == "0"
        and run["outcome"] == HUNG
    ):
        lines += _field(
            "", "(the stock pool's hang, shown on purpose: what the fix prevents, not a failure)"
        )
    if run.get("interventions_source") in (None, "not reached"):
        return lines
    return lines + _field("", "interventions: " + describe_interventions(run))


def describe_interventions(run: "Dict[str, Any]") -> str:
    """The child's intervention counts in a line: the non-zero ones, or why there are none."""
    counts = run["interventions"]
    source = run["interventions_source"]
    if source == "not loaded":
        return "none (the child never loaded backport_gh115634: nothing to patch there)"
    if source != "status()":
        return "unknown (%s)" % source
    shown = []
    for name, count in counts.items():
        if name == "gh-115634" and count:
            shown.append(
                "gh-115634 %d (retired workers replaced where the stock pool would "
                "have started none)" % count
            )
        elif count:
            shown.append("%s %d" % (name, count))
    return ", ".join(shown) or "none (the stock pool would have done the same)"


def _emit(lines: "List[str]") -> None:
    sys.stdout.write("\n".join(lines) + "\n")
    sys.stdout.flush()


def main(argv: "Optional[Sequence[str]]" = None) -> int:
    args = build_parser().parse_args(argv)
    report = collect()
    text = not args.json
    if text:
        _emit(_text_header(report) + _field("Reproducer", REPRODUCER))
    runs = {}
    try:
        for spec in plan(report, args.deadline, args.compare, args.compare_deadline):
            if text:
                _emit(_run_intro(spec))
            runs[spec["role"]] = execute(spec, report)
            if text:
                _emit(_run_outcome(runs[spec["role"]], spec))
    except KeyboardInterrupt:  # the child is gone already (run_reproducer)
        sys.stderr.write("interrupted\n")
        return 130
    code, verdict = decide(report, runs["main"])
    report.update(
        live_check=runs["main"], compare=runs.get("compare"), exit_code=code, verdict=verdict
    )
    if text:
        _emit(_field("Verdict", "%s (exit %d)" % (verdict, code)))
        links = issue_links(report)
        _emit(_field("See", links[0]) + [_INDENT + link for link in links[1:]])
    else:
        _emit([json.dumps(report, indent=2, sort_keys=True)])
    return code
