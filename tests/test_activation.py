"""Activation without code changes, checked in real virtual environments.

The wheel is built once per session from this checkout and installed (not editable) into fresh
venvs of the interpreter running the tests; tox runs the suite once per interpreter. Every
program runs in a child process of the venv's python under a hard deadline (childproc.run kills
its process group), from an empty working directory and with no PYTHON* variables, so nothing
but the installed wheel can be imported.
"""

import base64
import hashlib
import json
import os
import re
import subprocess
import sys
import zipfile

import pytest

from _backport_gh115634 import detect as _detect
from childproc import DEADLINE, run

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILD_TIMEOUT = 600
PREFIX = "ACTIVATION "
TASKS = 10
EXPECTED = [i * 2 for i in range(TASKS)]

# The line docs/activation.md gives for a sitecustomize.py, for when .pth files are not run.
SITECUSTOMIZE_LINE = (
    'import backport_gh115634_startup; backport_gh115634_startup.activate("sitecustomize")'
)

# Must not be imported at start-up by our hook (nor be imported by it in any way).
FORBIDDEN_AT_STARTUP = (
    "concurrent",
    "multiprocessing",
    "wrapt",
    "importlib.metadata",
    "backport_gh115634",
)

# How a program tells that its pool is stranded (work pending, no worker left, none coming):
# stranded.py's source, sent along with the program (stdlib only).
with open(os.path.join(HERE, "stranded.py")) as _file:
    STRANDED_SOURCE = _file.read()

# A user's program: the gh-115634 reproducer, never mentioning backport_gh115634. It reports
# what it sees through sys.modules and the stdlib classes only, imports nothing of ours. Where
# its pool is stranded, it says so (event "stranded") and exits with 3 at once, instead of
# hanging until the parent's deadline.
SEED_PROGRAM = r"""
import json, sys
def say(**fields):
    print(%(prefix)r + json.dumps(fields), flush=True)
at_start = sorted(name for name in sys.modules if "backport_gh115634" in name)
import multiprocessing, operator
import concurrent.futures.process as process
from concurrent.futures import ProcessPoolExecutor
startup = sys.modules.get("backport_gh115634_startup")
seams = sorted("%%s.%%s" %% (cls.__name__, name)
               for cls in (process.ProcessPoolExecutor,
                           getattr(process, "_ExecutorManagerThread", object))
               for name, value in vars(cls).items()
               if "backport_gh115634" in (getattr(value, "__module__", None) or ""))
say(event="start", at_start=at_start, seams=seams,
    calls=list(getattr(startup, "calls", [])),
    requested_by=list(getattr(startup, "requested_by", [])),
    disabled_by_env=getattr(startup, "disabled_by_env", None),
    hook_error=getattr(startup, "hook_error", None))
method = sys.argv[1] if len(sys.argv) > 1 else "default"
context = None if method == "default" else multiprocessing.get_context(method)
executor = ProcessPoolExecutor(1, mp_context=context, max_tasks_per_child=2)
futures = [executor.submit(operator.mul, i, 2) for i in range(%(tasks)d)]
# The parent's deadline is what stops a hang of any other form.
wait_done_or_stranded(futures, [executor._executor_manager_thread], 3600)
results = []
for future in futures:
    if not future.done():
        say(event="stranded", done=len(results))
        import os
        os._exit(3)
    results.append(future.result(timeout=0))
    say(event="result", done=len(results))
executor.shutdown(wait=True)
say(event="done", results=results)
""" % {"prefix": PREFIX, "tasks": TASKS}
SEED_PROGRAM = STRANDED_SOURCE + SEED_PROGRAM  # wait_done_or_stranded() defined first

# Is the hook installed exactly once, does it fire exactly once, and patch on top of the stdlib?
ONCE_PROGRAM = r"""
import json, sys
finders = lambda: sum(type(f).__name__ == "_PostImportFinder" for f in sys.meta_path)
before = finders()
import concurrent.futures.process as process
after = finders()
startup = sys.modules.get("backport_gh115634_startup")
originals = []
for cls in (process.ProcessPoolExecutor, process._ExecutorManagerThread):
    for name, value in vars(cls).items():
        if "backport_gh115634" in (getattr(value, "__module__", None) or ""):
            patch = sys.modules["_backport_gh115634.patch"]
            original = patch.originals()[(cls, name)]
            originals.append([cls.__name__ + "." + name, original.__module__])
print(%(prefix)r + json.dumps(dict(
    calls=list(getattr(startup, "calls", [])), finders_before=before, finders_after=after,
    fired=getattr(startup, "fired", None), originals=originals,
    hook_error=getattr(startup, "hook_error", None))), flush=True)
""" % {"prefix": PREFIX}


# --- building and installing ----------------------------------------------------------------


def _clean_env(enabled=True, overlay=None):
    """The environment of a child in a venv: no PYTHON* variables (no checkout on the path),
    BACKPORT_GH115634 unset (the default: on), "0" (enabled=False) or the string given; the
    pre-fix overlay (or any directory) first on the path if given. With the overlay, enabled=True
    means the opt-in BACKPORT_GH115634=1: on a release that shipped the fix the .pth line imports
    nothing without it, and the overlay stands for an older release of that line."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith("PYTHON") and name not in ("VIRTUAL_ENV", "BACKPORT_GH115634")
    }
    if enabled is False:
        env["BACKPORT_GH115634"] = "0"
    elif isinstance(enabled, str):
        env["BACKPORT_GH115634"] = enabled
    elif overlay:
        env["BACKPORT_GH115634"] = "1"
    if overlay:
        env["PYTHONPATH"] = overlay
    return env


def _check(args, what, timeout=BUILD_TIMEOUT, env=None):
    try:
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env if env is not None else _clean_env(),
        )
    except subprocess.TimeoutExpired:
        pytest.fail("%s did not finish within %ss: %s" % (what, timeout, args))
    return done


@pytest.fixture(scope="session")
def wheel(tmp_path_factory):
    """The wheel, built once per session from this checkout with pip (PEP 517, hatchling)."""
    if not os.path.isfile(os.path.join(ROOT, "pyproject.toml")):
        pytest.skip("no pyproject.toml next to tests/: not a source checkout")
    out = tmp_path_factory.mktemp("wheel")
    done = _check(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(out), ROOT],
        "building the wheel",
    )
    if done.returncode != 0:
        pytest.fail("pip wheel failed:\n%s\n%s" % (done.stdout[-3000:], done.stderr[-3000:]))
    wheels = sorted(out.glob("backport_gh115634-*.whl"))
    assert len(wheels) == 1, list(out.iterdir())
    return str(wheels[0])


class Venv:
    def __init__(self, root):
        self.root = root
        self.python = os.path.join(root, "bin", "python")
        self.site_packages = None

    def run(self, args, enabled=True, overlay=None, deadline=DEADLINE, cwd=None, measured=True):
        env = _clean_env(enabled, overlay)
        if not measured:
            env = {name: value for name, value in env.items() if not name.startswith("COVERAGE")}
        return run(list(args), env, deadline=deadline, executable=self.python, cwd=cwd)


def _make_venv(tmp_path_factory, wheel, name):
    root = str(tmp_path_factory.mktemp(name))
    done = _check([sys.executable, "-m", "venv", root], "python -m venv", timeout=300)
    if done.returncode != 0:
        pytest.skip(
            "this interpreter cannot create a venv with pip (%s): %s"
            % (sys.executable, done.stderr.strip()[-500:])
        )
    venv = Venv(root)
    done = _check(
        [venv.python, "-m", "pip", "install", "--no-deps", "--no-index", "-q", wheel],
        "pip install of the wheel",
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    if os.environ.get("COVERAGE_PROCESS_START"):
        # Where the test run is measured, so are the venv's programs: coverage's own start-up
        # file (a1_coverage.pth) runs before ours, which still runs as installed.
        done = _check(
            [venv.python, "-m", "pip", "install", "-q", "coverage[toml]>=7.10"],
            "pip install of coverage",
            timeout=600,
        )
        assert done.returncode == 0, done.stderr
    done = _check(
        [venv.python, "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        "sysconfig",
        timeout=60,
    )
    venv.site_packages = done.stdout.strip()
    assert os.path.isfile(os.path.join(venv.site_packages, "backport_gh115634.pth"))
    return venv


@pytest.fixture(scope="session")
def venv(tmp_path_factory, wheel):
    """A fresh venv of this interpreter with the wheel installed."""
    return _make_venv(tmp_path_factory, wheel, "venv")


@pytest.fixture(scope="session")
def sitecustomize_venv(tmp_path_factory, wheel):
    """A venv with the wheel installed, its .pth removed, and the documented line in
    a sitecustomize.py: the set-up for environments that ignore or forbid .pth import lines."""
    venv = _make_venv(tmp_path_factory, wheel, "sitecustomize-venv")
    os.remove(os.path.join(venv.site_packages, "backport_gh115634.pth"))
    with open(os.path.join(venv.site_packages, "sitecustomize.py"), "w") as handle:
        handle.write(SITECUSTOMIZE_LINE + "\n")
    done = venv.run(
        ["-c", "import sitecustomize; print(sitecustomize.__file__)"], deadline=60, cwd=venv.root
    )
    if os.path.dirname(done.stdout.strip()) != venv.site_packages:
        pytest.skip(
            "this interpreter imports its own sitecustomize (%s) before a venv's: add the "
            "line to that file instead" % done.stdout.strip()
        )
    return venv


@pytest.fixture
def workdir(tmp_path):
    """An empty working directory, so '' on sys.path finds nothing of this checkout."""
    return str(tmp_path)


# --- helpers ----------------------------------------------------------------------------------


def events(done):
    found = []
    for line in done.stdout.splitlines():
        if line.startswith(PREFIX):
            found.append(json.loads(line[len(PREFIX) :]))
    return found


def first(done, event):
    for item in events(done):
        if item.get("event") == event:
            return item
    pytest.fail("no %r event from the child: %s" % (event, done.describe()))


def results_done(done):
    return max([e["done"] for e in events(done) if e.get("event") == "result"] or [0])


def seed_hangs(overlay, shipped_detection):
    """Does the stock reproducer hang on this stdlib (the overlay is always pre-fix)?"""
    if overlay:
        return True
    return shipped_detection.fixes.get("gh-115634") == _detect.MISSING


def expect_patched(overlay, shipped_detection):
    return True if overlay else bool(shipped_detection.affected)


# Does the .pth line import the start-up module here (without the opt-in)?
GATE_OPEN = _detect.release_may_be_affected(sys.version_info)


def startup_at_start(overlay):
    """What a program sees of ours in sys.modules before it imports anything: the start-up
    module where the .pth gate is open (or opened by the overlay's BACKPORT_GH115634=1)."""
    return ["backport_gh115634_startup"] if GATE_OPEN or overlay else []


def needs_recycling(shipped_detection):
    if shipped_detection.shape == _detect.NO_RECYCLING:
        pytest.skip("no max_tasks_per_child before 3.11")


def imported_modules(stderr):
    """[(depth, module)] from `python -X importtime` output, in the order printed."""
    modules = []
    for line in stderr.splitlines():
        match = re.match(r"import time:\s*\d+ \|\s*\d+ \|( *)(\S+)", line)
        if match:
            modules.append((len(match.group(1)) // 2, match.group(2)))
    return modules


def forbidden(modules):
    return [
        name
        for _, name in modules
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN_AT_STARTUP)
    ]


def startup_imports(venv, enabled=True, cwd=None):
    """(modules, nested, trace): what `python -c pass` imports at start-up, as imported_modules()
    gives it. PyPy accepts -X importtime but prints nothing; there the names come from
    sys.modules as -c begins, all at depth 0 (nested is False: who imported what is unknown).
    Never measured by coverage, whose own start-up imports would be counted as ours."""
    done = venv.run(
        ["-X", "importtime", "-c", "pass"], enabled=enabled, cwd=cwd, deadline=60, measured=False
    )
    assert done.returncode == 0, done.describe()
    modules = imported_modules(done.stderr)
    if modules:
        return modules, True, done.stderr
    done = venv.run(
        ["-c", "import sys; print(' '.join(sorted(sys.modules)))"],
        enabled=enabled,
        cwd=cwd,
        deadline=60,
        measured=False,
    )
    assert done.returncode == 0, done.describe()
    return [(0, name) for name in done.stdout.split()], False, done.stdout


# --- the wheel --------------------------------------------------------------------------------


def test_wheel_record_puts_both_startup_files_at_the_root(wheel):
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        record_name = [n for n in names if n.endswith(".dist-info/RECORD")]
        assert len(record_name) == 1, names
        record = archive.read(record_name[0]).decode()
        rows = [line.split(",") for line in record.splitlines() if line]
        recorded = {row[0]: row[1] for row in rows}
        for path, digest in recorded.items():
            if path == record_name[0]:
                continue
            algorithm, _, expected = digest.partition("=")
            actual = (
                base64.urlsafe_b64encode(hashlib.new(algorithm, archive.read(path)).digest())
                .rstrip(b"=")
                .decode()
            )
            assert actual == expected, path
        pth = archive.read("backport_gh115634.pth").decode()
    assert not [n for n in names if n.endswith(".start")], names  # see docs/activation.md
    for path in (
        "backport_gh115634.pth",
        "backport_gh115634_startup.py",
        "backport_gh115634/__init__.py",
        "backport_gh115634/__main__.py",
        "backport_gh115634/_doctor.py",
        "backport_gh115634/_doctor_child.py",
    ):
        assert path in recorded, (path, sorted(recorded))
    assert set(recorded) == set(names)
    # One import line: the version gate (tests/test_release_gate.py), then our module only.
    code = [line for line in pth.splitlines() if line.strip() and not line.startswith("#")]
    assert len(code) == 1 and code[0].startswith("import os, sys;"), pth
    assert code[0].endswith('__import__("backport_gh115634_startup").activate("startup hook")')


# --- a program that never imports the package -------------------------------------------------


@pytest.mark.parametrize("method", ["default", "forkserver"])
def test_seed_completes_without_importing_the_package(
    venv, stdlib, shipped_detection, method, workdir
):
    done = venv.run(["-c", SEED_PROGRAM, method], overlay=stdlib, cwd=workdir)
    start = first(done, "start")
    assert start["at_start"] == startup_at_start(stdlib), start
    assert start["hook_error"] is None, start
    assert not done.timed_out and done.returncode == 0, done.describe()
    assert first(done, "done")["results"] == EXPECTED
    # Patched exactly where the stdlib lacks a fix; a fixed stdlib is left alone.
    assert bool(start["seams"]) is expect_patched(stdlib, shipped_detection), start


def test_kill_switch_leaves_the_stock_pool(venv, stdlib, shipped_detection, workdir):
    hangs = seed_hangs(stdlib, shipped_detection)
    done = venv.run(["-c", SEED_PROGRAM], enabled=False, overlay=stdlib, cwd=workdir)
    start = first(done, "start")
    # "0" shuts the gate on every release (and the one the overlay's opt-in would open): nothing
    # of ours is imported at start.
    assert start["at_start"] == [] and start["disabled_by_env"] is None, start
    assert start["seams"] == [], start
    if hangs:
        # Hung as gh-115634 strands a pool: told by its state, not by the parent's deadline.
        assert not done.timed_out and done.returncode == 3, (
            "the stock reproducer should hang here: " + done.describe()
        )
        assert first(done, "stranded")["done"] == results_done(done) < TASKS
    else:
        assert not done.timed_out and done.returncode == 0, done.describe()
        assert first(done, "done")["results"] == EXPECTED


# --- the start-up cost ------------------------------------------------------------------------


@pytest.mark.parametrize("enabled", [True, False], ids=["on", "off"])
def test_startup_imports_nothing_heavy(venv, enabled, workdir):
    modules, nested, trace = startup_imports(venv, enabled, workdir)
    assert forbidden(modules) == [], trace
    names = [name for _, name in modules]
    if not GATE_OPEN or not enabled:
        # A release that cannot need the fix, or the kill switch: nothing of ours, and nothing
        # on our behalf.
        assert not [name for name in names if "backport" in name], trace
        assert "pkgutil" not in names, trace
        return
    assert "backport_gh115634_startup" in names, trace
    if not nested:
        return  # no -X importtime output (PyPy): sys.modules cannot tell who imported what
    # Nothing is imported under our module: the line before it is not one of its children.
    index = names.index("backport_gh115634_startup")
    assert index == 0 or modules[index - 1][0] <= modules[index][0], trace


@pytest.mark.parametrize("value", [None, "0", "1", "bogus"])
def test_startup_and_hook_are_silent(venv, value, workdir):
    # Start-up, and the hook firing when the pool module is imported, print nothing, whatever
    # BACKPORT_GH115634 says (a bad value is recorded for status() and the doctor instead).
    code = (
        "import concurrent.futures.process, backport_gh115634_startup as s; "
        "assert s.hook_error is None, s.hook_error; "
        "assert s.bad_env_value == %r, s.bad_env_value"
        # Recorded by the start-up hook, which runs only where the gate is open.
        % (value if value == "bogus" and GATE_OPEN else None)
    )
    for args in (["-c", "pass"], ["-c", code]):
        done = venv.run(args, enabled=True if value is None else value, cwd=workdir, deadline=60)
        assert (done.returncode, done.stdout, done.stderr) == (0, "", ""), done.describe()


def test_meta_path_finders_of_ours_look_like_any_other(venv, workdir):
    # Tools list sys.meta_path by type(finder).__module__ / __qualname__ and repr(); our hook
    # must answer like any finder, be there once, and be gone once the pool module is imported.
    code = (
        "import sys, json\n"
        "def names(): return [type(f).__module__ + '.' + type(f).__qualname__ + repr(f)[:0]"
        " for f in sys.meta_path]\n"
        "before = names()\n"
        "import concurrent.futures.process\n"
        "print(json.dumps([before, names()]))\n"
    )
    if not GATE_OPEN:
        done = venv.run(["-c", code], cwd=workdir, deadline=60)
        before, _ = json.loads(done.stdout)
        assert not [name for name in before if name.startswith("backport_gh115634")], before
    done = venv.run(["-c", code], enabled=True if GATE_OPEN else "1", cwd=workdir, deadline=60)
    assert done.returncode == 0 and done.stderr == "", done.describe()
    before, after = json.loads(done.stdout)
    ours = [name for name in before if name.startswith("backport_gh115634")]
    assert len(ours) == 1, before
    assert not [name for name in after if name.startswith("backport_gh115634")], after


def test_a_failing_hook_is_recorded_not_raised(venv, tmp_path, shipped_detection, workdir):
    # An implementation that cannot be imported (shadowed here by a broken one on PYTHONPATH)
    # makes the hook fail when the pool module is imported: the import still succeeds, silently,
    # and the failure is kept for status() and the doctor. Where the stdlib can never need the patch
    # (fixed upstream, or before 3.11) the hook does not import the package at all.
    if not shipped_detection.patchable:
        pytest.skip(
            "the hook leaves the package unimported on a %s stdlib" % shipped_detection.shape
        )
    broken = tmp_path / "broken" / "_backport_gh115634"
    broken.mkdir(parents=True)
    (broken / "__init__.py").write_text("raise RuntimeError('injected failure')\n")
    code = (
        "import concurrent.futures.process as p, backport_gh115634_startup as s; "
        "print(s.hook_error); print(p.ProcessPoolExecutor.__module__)"
    )
    done = venv.run(["-c", code], overlay=str(broken.parent), cwd=workdir, deadline=60)
    assert done.returncode == 0 and done.stderr == "", done.describe()
    assert done.stdout.splitlines() == [
        "RuntimeError: injected failure",
        "concurrent.futures.process",
    ], done.describe()


def test_hook_installed_once_and_fires_once(venv, workdir):
    # Where the gate is shut, the opt-in opens it (the hook then goes by the stdlib's shape).
    done = venv.run(
        ["-c", ONCE_PROGRAM], enabled=True if GATE_OPEN else "1", cwd=workdir, deadline=60
    )
    assert done.returncode == 0, done.describe()
    report = next(iter(events(done)))
    assert report["hook_error"] is None, report
    # The .pth may run twice before 3.15: site.py reads a venv's site-packages twice
    # (gh-75723). 3.15 reads it once.
    assert set(report["calls"]) == {"startup hook"}, report
    if sys.version_info >= (3, 15):
        assert report["calls"] == ["startup hook"], report
    else:
        assert 1 <= len(report["calls"]) <= 2, report
    assert report["finders_before"] == 1 and report["finders_after"] == 0, report
    assert report["fired"] is True, report
    # Patched once, over the stdlib's own functions (a second patch would wrap our own).
    for _name, module in report["originals"]:
        assert module == "concurrent.futures.process", report


# A pool worker imports the pool module while it unpickles its task (under spawn, or in the fork
# server that preloads __main__). There the hook defers: it imports nothing of ours beyond the
# start-up module the .pth loaded until the worker constructs a pool of its own, which then gets
# the fix (this nested pool is the reproducer). A stdlib that can never need the patch never sees
# the package imported at all.
WORKER_PROGRAM = r"""
import json, operator, sys
import multiprocessing
from concurrent.futures import ProcessPoolExecutor

def ours():
    return sorted(name for name in sys.modules if "backport_gh115634" in name)

def init_module():
    import concurrent.futures.process as process
    return process.ProcessPoolExecutor.__dict__["__init__"].__module__

def seams():
    import concurrent.futures.process as process
    return sorted(cls.__name__ + "." + name
                  for cls in (process.ProcessPoolExecutor, process._ExecutorManagerThread)
                  for name, value in vars(cls).items()
                  if "backport_gh115634" in (getattr(value, "__module__", None) or "")
                  and name != "__init__")

def inside_worker():
    before = dict(modules=ours(), init=init_module())
    with ProcessPoolExecutor(1, max_tasks_per_child=2) as nested:
        futures = [nested.submit(operator.mul, i, 2) for i in range(10)]
        results = [future.result(timeout=3600) for future in futures]
    return dict(before=before, results=results, seams=seams(), init_after=init_module())

if __name__ == "__main__":
    context = multiprocessing.get_context(sys.argv[1])
    with ProcessPoolExecutor(1, mp_context=context) as executor:
        report = executor.submit(inside_worker).result(timeout=3600)
    report["main_modules"] = ours()
    print(%(prefix)r + json.dumps(report), flush=True)
""" % {"prefix": PREFIX}


@pytest.mark.parametrize("method", ["spawn", "forkserver"])
def test_pool_workers_defer_the_patch_until_they_make_a_pool(
    venv, stdlib, shipped_detection, method, tmp_path
):
    needs_recycling(shipped_detection)
    script = tmp_path / "worker_program.py"
    script.write_text(WORKER_PROGRAM)
    done = venv.run([str(script), method], overlay=stdlib, cwd=str(tmp_path))
    assert not done.timed_out and done.returncode == 0, done.describe()
    report = events(done)[0]
    assert report["results"] == [i * 2 for i in range(10)], report
    if expect_patched(stdlib, shipped_detection):
        # Deferred: a worker that has made no pool of its own has imported nothing of ours but
        # the start-up module, which holds the stand-in (issue 19).
        assert report["before"]["modules"] == ["backport_gh115634_startup"], report
        assert report["before"]["init"] == "backport_gh115634_startup", report
        assert report["seams"] != [], report
        assert "_backport_gh115634.patch" in report["main_modules"], report
        assert "backport_gh115634" not in report["main_modules"], report  # not the user's import
    else:
        assert report["before"]["init"] == "concurrent.futures.process", report
        assert report["seams"] == [], report
        # Where the gate is open but the stdlib needs nothing the package looks and leaves it.
        assert "_backport_gh115634.patch" not in report["before"]["modules"], report
        assert report["before"]["modules"][-1:] == startup_at_start(stdlib), report
    assert report["init_after"] == "concurrent.futures.process", report


# --- sitecustomize instead of the start-up files ----------------------------------------------


def test_sitecustomize_line_activates(sitecustomize_venv, shipped_detection, workdir):
    needs_recycling(shipped_detection)
    done = sitecustomize_venv.run(["-c", SEED_PROGRAM], cwd=workdir)
    start = first(done, "start")
    assert start["requested_by"] == ["sitecustomize"], start
    assert start["at_start"] == ["backport_gh115634_startup"], start
    assert not done.timed_out and done.returncode == 0, done.describe()
    assert first(done, "done")["results"] == EXPECTED


def test_sitecustomize_line_is_light_and_obeys_the_kill_switch(sitecustomize_venv, workdir):
    modules, _, trace = startup_imports(sitecustomize_venv, cwd=workdir)
    assert "backport_gh115634_startup" in [name for _, name in modules], trace
    assert forbidden(modules) == [], trace  # sitecustomize imports with the import statement
    done = sitecustomize_venv.run(["-c", ONCE_PROGRAM], enabled=False, cwd=workdir, deadline=60)
    report = events(done)[0]
    assert report["calls"] == ["sitecustomize"] and report["finders_before"] == 0, report
    assert report["originals"] == [], report


# --- the doctor, in the venv ------------------------------------------------------------------


def test_doctor_reports_truthfully(venv, stdlib, shipped_detection, workdir):
    hangs = seed_hangs(stdlib, shipped_detection)
    affected = expect_patched(stdlib, shipped_detection)
    on = venv.run(["-m", "backport_gh115634", "--json"], overlay=stdlib, cwd=workdir)
    assert not on.timed_out, on.describe()
    report = json.loads(on.stdout)
    assert on.returncode == 0, on.describe()
    assert report["affected"] is affected
    assert report["applied"] is bool(affected)
    assert report["activation"]["automatic"] is True
    assert report["live_check"]["outcome"] == "passed", report["live_check"]
    assert report["live_check"]["child"]["patched"] is bool(affected)

    off = venv.run(
        ["-m", "backport_gh115634", "--json"], enabled=False, overlay=stdlib, cwd=workdir
    )
    assert not off.timed_out, off.describe()
    report = json.loads(off.stdout)
    assert report["affected"] is affected and report["applied"] is False
    assert report["activation"]["disabled_by_env"] is True
    assert off.returncode == (1 if affected else 0), off.describe()
    if hangs:
        assert report["live_check"]["outcome"] == "skipped"
    else:
        assert report["live_check"]["outcome"] == "passed"
