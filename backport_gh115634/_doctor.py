"""The doctor behind ``python -m backport_gh115634``.

It reports what ``status()`` knows (is this stdlib affected, which fixes are native, patched or
missing, how the package was activated), then proves it live: the gh-115634 reproducer runs in a
child process of this same interpreter, started the way the user's own programs start, under a
hard deadline. So the doctor never hangs, even on an interpreter where the reproducer does.

The deadline is kept twice. The child keeps its own: a watchdog thread kills its pool's worker
processes and exits (CHILD_TIMED_OUT). That is what ends the workers where there is no process
group to kill (Windows): a spawned worker holds both ends of its call queue, so it would never see
end-of-file and would wait forever. The doctor keeps a later one in case the child cannot: it kills
the child's process group where os.killpg exists, the child alone elsewhere.

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
# How long the child's watchdog waits to see the workers it killed end, before it exits anyway.
WORKER_END_WAIT = 2.0
# The child's exit status when its watchdog stopped it (as timeout(1) exits): not a crash.
CHILD_TIMED_OUT = 124
TASKS = 10
REPRODUCER = "ProcessPoolExecutor(1, max_tasks_per_child=2), %d tasks of operator.mul" % TASKS
LINE_PREFIX = "BACKPORT-DOCTOR "
# The keys of status().interventions (the doctor may not import _interventions: it pulls in
# logging, which the doctor does not otherwise need).
INTERVENTION_NAMES = _detect.FIXES + ("rescue",)

# Outcomes of one live run.
PASSED = "passed"
HUNG = "hung"
FAILED = "failed"
SKIPPED = "skipped"

# The child's watchdog, part of its program (tests run it on its own too). It uses the program's
# say() and started, and its globals executor and results; it imports nothing, as the main thread
# may be inside an import when it fires. The main thread calls finish() once the reproducer is
# done, settle() when it raised. watch_lock makes them and expire() exclusive: a child that
# finished is never stopped, and one being stopped neither reports "done" nor exits on the error
# its killing the workers raised in the main thread (both wait there for the os._exit()).
_WATCHDOG = r'''
watch_lock = threading.Lock()
finished = []

def finish():
    with watch_lock:
        finished.append(True)

def settle():
    """Wait while the watchdog is stopping this process (the pool it breaks raises here)."""
    with watch_lock:
        pass

def pool_workers(executor):
    """The executor's worker processes, then this process's other multiprocessing children.
    executor._processes is None after shutdown(), and changes while the manager thread starts or
    reaps a worker: copied whole, again if it changed meanwhile."""
    workers = []
    for attempt in range(50):
        try:
            table = getattr(executor, "_processes", None)
            workers = list(table.values()) if table else []
            break
        except RuntimeError:  # changed size during iteration
            time.sleep(0.001)
    mp = sys.modules.get("multiprocessing")
    try:
        workers += mp.active_children() if mp is not None else []
    except Exception:
        pass
    found = {}
    for worker in workers:
        found.setdefault(getattr(worker, "pid", None) or id(worker), worker)
    return list(found.values())

def stop_workers(executor, wait):
    """Kill the pool's workers, then wait up to `wait` seconds to see them end.
    Returns (the pids killed, the pids not seen to end)."""
    workers = pool_workers(executor)
    for worker in workers:
        try:
            worker.kill()  # SIGKILL on POSIX, TerminateProcess on Windows
        except Exception:
            pass
    pending = {}
    for worker in workers:
        try:
            pending[worker.sentinel] = worker  # ready once the process has ended
        except Exception:  # never started, or closed already
            pass
    connection = sys.modules.get("multiprocessing.connection")
    give_up = time.monotonic() + wait
    while pending and connection is not None and time.monotonic() < give_up:
        try:
            ready = connection.wait(list(pending), max(0.0, give_up - time.monotonic()))
        except Exception:
            break
        for sentinel in ready:
            pending.pop(sentinel, None)
    return ([getattr(worker, "pid", None) for worker in workers],
            [worker.pid for worker in pending.values()])

def expire(end_wait, exit_code):
    with watch_lock:
        if finished:
            return
        killed, alive = stop_workers(globals().get("executor"), end_wait)
        say(event="deadline", seconds=time.monotonic() - started,
            done=len(globals().get("results") or ()), killed=killed, alive=alive)
        os._exit(exit_code)

def watch(seconds, end_wait, exit_code):
    timer = threading.Timer(seconds, expire, (end_wait, exit_code))
    timer.daemon = True
    timer.start()
    return timer
'''

# The reproducer as the child runs it (python -c). {prelude} is "" (the program never mentions
# backport_gh115634, as the user's own programs need not) or "import backport_gh115634".
_CHILD_PROGRAM = r"""
import json, os, sys, threading, time
def say(**fields):
    sys.stdout.write(%(prefix)r + json.dumps(fields) + "\n")
    sys.stdout.flush()
started = time.monotonic()
%(watchdog)s
watch(%(deadline)r, %(end_wait)r, %(exit_code)d)
%(prelude)s
import operator
import concurrent.futures.process as process
from concurrent.futures import ProcessPoolExecutor
startup = sys.modules.get("backport_gh115634_startup")
seams = sorted("%%s.%%s" %% (cls.__name__, name)
               for cls in (ProcessPoolExecutor, getattr(process, "_ExecutorManagerThread", object))
               for name, value in vars(cls).items()
               if "backport_gh115634" in (getattr(value, "__module__", None) or ""))
say(event="start", patched=bool(seams), seams=seams,
    calls=list(getattr(startup, "calls", [])),
    requested_by=list(getattr(startup, "requested_by", [])),
    disabled_by_env=bool(getattr(startup, "disabled_by_env", False)),
    hook_error=getattr(startup, "hook_error", None))
results = []
try:
    executor = ProcessPoolExecutor(1, max_tasks_per_child=2)
    futures = [executor.submit(operator.mul, i, 2) for i in range(%(tasks)d)]
    for future in futures:
        results.append(future.result(timeout=%(wait)r))
        say(event="result", done=len(results))
    executor.shutdown(wait=True)
except BaseException:
    settle()  # the watchdog's killing the workers broke the pool: let it finish
    raise
finish()
seconds = time.monotonic() - started
# What the shim did here that the stock pool would not have. A start-up hook may have applied it
# without this program importing the package (it loads the implementation alone): read it only if
# something loaded that.
implementation = sys.modules.get("_backport_gh115634.patch")
try:
    interventions = dict(implementation.status().interventions) \
        if implementation is not None else None
except Exception as exc:
    interventions = "%%s: %%s" %% (type(exc).__name__, exc)
say(event="done", results=results, seconds=seconds, interventions=interventions)
"""


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


def child_program(deadline: float, import_package: bool = False) -> str:
    """The reproducer as the child runs it, with its own deadline of `deadline` seconds."""
    return _CHILD_PROGRAM % {
        "prefix": LINE_PREFIX,
        "watchdog": _WATCHDOG,
        "deadline": deadline,
        "end_wait": WORKER_END_WAIT,
        "exit_code": CHILD_TIMED_OUT,
        "prelude": "import backport_gh115634" if import_package else "",
        "tasks": TASKS,
        "wait": deadline + PARENT_GRACE + 60.0,  # both deadlines come first
    }


def run_reproducer(
    label: str,
    deadline: float,
    env_changes: "Optional[Mapping[str, Optional[str]]]" = None,
    import_package: bool = False,
) -> "Dict[str, Any]":
    """Run the reproducer in a child process, which stops itself at the deadline (its watchdog
    kills its pool's workers and exits CHILD_TIMED_OUT); kill the child if it has not done so
    PARENT_GRACE seconds later.

    Returns a dict: outcome (passed / hung / failed), seconds, results done, what the child saw.
    """
    program = child_program(deadline, import_package)
    env = dict(os.environ)
    for name, value in (env_changes or {}).items():
        if value is None:
            env.pop(name, None)
        else:
            env[name] = value
    argv = [sys.executable] + _interpreter_flags() + ["-c", program]
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
    if timed_out and results == TASKS:
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
    lines += _field("Stdlib", report["reason"] or "?")
    for index, fix in enumerate(_detect.FIXES):
        lines.append(
            "%-12s%-16s %-15s %s"
            % (
                "Fixes" if index == 0 else "",
                fix,
                report["fixes"].get(fix, "?"),
                _detect.FIX_TITLES[fix],
            )
        )
    activation = report["activation"]
    lines += _field("Activation", activation["description"])
    for note in activation["notes"]:
        lines += _field("", "note: " + note)
    if report["error"]:
        lines += _field("Error", report["error"])
    return lines


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


def _run_outcome(run: "Dict[str, Any]") -> "List[str]":
    lines = _field("", "%s: %s" % (run["outcome"].upper(), run["detail"]))
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
                _emit(_run_outcome(runs[spec["role"]]))
    except KeyboardInterrupt:  # the child is gone already (run_reproducer)
        sys.stderr.write("interrupted\n")
        return 130
    code, verdict = decide(report, runs["main"])
    report.update(
        live_check=runs["main"], compare=runs.get("compare"), exit_code=code, verdict=verdict
    )
    if text:
        _emit(_field("Verdict", "%s (exit %d)" % (verdict, code)))
    else:
        _emit([json.dumps(report, indent=2, sort_keys=True)])
    return code
