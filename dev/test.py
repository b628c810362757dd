"""README's second command: ``python3 dev/test.py``.

Installs the test runner (tox, into ``.venv-tox/`` in this checkout, made with the interpreter
that runs this script: no pip outside a venv needed) and runs tox. Arguments go to tox as they are:

    python3 dev/test.py                 # every env of tox.ini's envlist whose interpreter is here
    python3 dev/test.py -e py312,py311  # just these (a missing interpreter is skipped)
    python3 dev/test.py -e py312 -- -k doctor   # after --: pytest's arguments

tox finds each env's interpreter on PATH (``python3.12`` for py312, ...); the interpreter that
started this script always counts, so its env runs at least. Missing ones are skipped, and the
summary at the end says which envs ran, on what, in how long, and which were skipped.

Envs run two at a time (``tox -p 2``; each env's output is printed whole when it ends): the
tests spend about half their time waiting on child processes, so two envs share the machine
well. The coverage env runs last (it combines the test envs' data). ``-p N`` runs N at a time
in the given order, ``-p 0`` one after another, as tox's own option does; a single env always
runs alone, its output live.

Between full runs, the quick loop: the in-process unit tests and one interpreter's scenarios,
in a couple of minutes (py312 where python3.12 is on PATH, else the env of the interpreter
running this script, or the env named with -e); about two minutes on py312 here:

    python3 dev/test.py --quick
    python3 dev/test.py --quick -e py311 -- -x

CI: ``--require ENV,ENV,...`` (first argument) runs those envs with
``--skip-missing-interpreters false``, then the envs of ``-e``, if given, where their interpreter
exists; the exit code is non-zero unless every required env ran its commands and passed:

    python3 dev/test.py --require py311,py312,mypy -e py314t

Exit code: tox's (0: every env that ran passed); with --require, also 1 if a required env did
not pass; 2 for --quick with --require; 4 when tox itself could not be installed.
"""

import configparser
import glob
import json
import os
import shutil
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv-tox")
TOX_REQUIREMENT = "tox>=4.11"
SETUP_FAILED = 4
# A full run of every env is 20-50 minutes on 2 cores; a hung env must still end.
TOX_TIMEOUT = 4 * 3600
# Envs run this many at a time unless -p/--parallel says otherwise (see the docstring).
JOBS = "2"
# Run after the others, one after another: coverage combines the others' data.
LAST = ("coverage",)
# --quick: fast in-process unit tests, then one interpreter's behavioural scenarios (each in a
# child process under a hard deadline, as always). Left out: the model-based test, the fault
# seeds, CPython's own suite, the venv-based activation and doctor tests.
QUICK_TESTS = [
    "tests/test_api.py",
    "tests/test_detect_shapes.py",
    "tests/test_doctor_verdicts.py",
    "tests/test_release_gate.py",
    "tests/test_startup_units.py",
    "tests/test_interventions_units.py",
    "tests/test_status_units.py",
    "tests/test_package_units.py",
    "tests/test_patch_units.py",
    "tests/test_seams_units.py",
    "tests/test_replacement_units.py",
    "tests/test_wakeup_units.py",
    "tests/test_doctor_units.py",
    "tests/test_doctor_child_units.py",
    "tests/test_known_stock_bugs.py",
    "tests/test_behaviour.py",
    "tests/test_rescue.py",
    "tests/test_break_path.py",
    "tests/test_subclass.py",
    "tests/test_machinery.py",
    "tests/test_stress.py",
]
QUICK_ENV = "py312"


def say(text):
    print("test.py: " + text, flush=True)


def tox_ready(python):
    if not os.path.exists(python):
        return False
    check = (
        "import sys, tox.version as v; ok = sys.version == %r and "
        "tuple(int(p) for p in v.__version__.split('.')[:2]) >= (4, 11); "
        "sys.exit(0 if ok else 1)" % sys.version
    )
    try:
        return (
            subprocess.run([python, "-c", check], capture_output=True, timeout=120).returncode == 0
        )
    except (OSError, subprocess.TimeoutExpired):
        return False


def install_tox():
    """Return the venv's python, with tox in it; None if that failed."""
    python = os.path.join(VENV, "bin", "python")
    if tox_ready(python):
        say("reusing %s" % os.path.relpath(VENV, os.getcwd()))
        return python
    say(
        "installing %s into %s with %s (Python %s)"
        % (
            TOX_REQUIREMENT,
            os.path.relpath(VENV, os.getcwd()),
            sys.executable,
            sys.version.split()[0],
        )
    )
    steps = (
        [sys.executable, "-m", "venv", "--clear", VENV],
        [python, "-m", "pip", "install", "--quiet", "--disable-pip-version-check", TOX_REQUIREMENT],
    )
    for step in steps:
        try:
            if subprocess.run(step, timeout=900).returncode != 0:
                return None
        except subprocess.TimeoutExpired:
            say("timed out: " + " ".join(step))
            return None
    return python


def envlist():
    parser = configparser.ConfigParser(interpolation=None)
    parser.read(os.path.join(ROOT, "tox.ini"))
    return [
        name.strip()
        for name in parser.get("tox", "envlist").replace("\n", ",").split(",")
        if name.strip()
    ]


def tox(python, args, results):
    command = [python, "-m", "tox", "--result-json", results] + args
    say("$ tox " + " ".join(command[3:]))
    if os.path.exists(results):
        os.remove(results)
    try:
        return subprocess.run(command, cwd=ROOT, timeout=TOX_TIMEOUT).returncode
    except subprocess.TimeoutExpired:
        say("tox timed out after %ds" % TOX_TIMEOUT)
        return 1


def load(results):
    try:
        with open(results) as file:
            return json.load(file).get("testenvs", {})
    except (OSError, ValueError):
        return {}


def verdict(env):
    """ "passed", "FAILED", "FAILED: no interpreter", "skipped" (no interpreter, allowed) or
    "not run", from tox's result JSON."""
    result = env.get("result")
    if not result:
        return "not run"
    if result.get("skipped"):
        return "skipped"
    runs = env.get("test", [])
    if not runs and not env.get("python"):
        return "FAILED: no interpreter"
    ok = result.get("success") and runs and all(run.get("retcode") == 0 for run in runs)
    return "passed" if ok else "FAILED"


def seconds(env):
    """The env's wall time (set-up and commands), from tox's result JSON; None if not run."""
    duration = (env.get("result") or {}).get("duration")
    return None if duration is None else float(duration)


def summary(results, asked):
    """Print one line per env asked for, with its wall time; return {env: verdict}."""
    verdicts = {}
    say("summary")
    for name in asked:
        env = results.get(name, {})
        verdicts[name] = verdict(env)
        python = env.get("python") or {}
        version = (python.get("version") or "-").split()[0]
        where = python.get("executable") or ""
        note = {"skipped": "skipped: no interpreter for it here"}.get(
            verdicts[name], verdicts[name]
        )
        took = seconds(env) if verdicts[name] in ("passed", "FAILED") else None
        took = "" if took is None else "%.0fs" % took
        print("  %-12s %-10s %-36s %6s  %s" % (name, version, note, took, where), flush=True)
    return verdicts


def behaviour_table(names):
    paths = [
        path
        for name in names
        for path in glob.glob(os.path.join(ROOT, ".tox", name, "tmp", "junit.xml"))
    ]
    if not paths:
        return 0
    say("behaviours x interpreters")
    return subprocess.run(
        [sys.executable, os.path.join(ROOT, ".ci", "behaviour_table.py")] + paths, timeout=300
    ).returncode


def split_envs(args):
    """(the envs named by -e/--env, or None when tox picks; the other arguments)."""
    envs, rest, index = None, [], 0
    while index < len(args):
        arg = args[index]
        if arg == "--":
            rest += args[index:]
            break
        if arg in ("-e", "--env") and index + 1 < len(args):
            envs, index = (envs or []) + args[index + 1].split(","), index + 2
            continue
        if arg.startswith("--env="):
            envs = (envs or []) + arg[len("--env=") :].split(",")
        elif arg.startswith("-e") and len(arg) > 2 and not arg.startswith("--"):
            envs = (envs or []) + arg[2:].split(",")
        else:
            rest.append(arg)
        index += 1
    return (None if envs is None else [name for name in envs if name]), rest


def has_parallel(args):
    """Does tox's -p/--parallel appear among the arguments (before --)?"""
    for arg in args:
        if arg == "--":
            return False
        if arg in ("-p", "--parallel") or arg.startswith("--parallel="):
            return True
        if arg.startswith("-p") and not arg.startswith("--"):
            return True
    return False


def parallel(args, envs):
    """args with -p JOBS added where tox would otherwise run several envs one after another."""
    if has_parallel(args) or (envs is not None and len(envs) < 2):
        return args
    return ["-p", JOBS] + args


def run_envs(python, names, args, out):
    """tox over the envs `names`, with the rest of tox's arguments `args`. Where dev/test.py sets
    the parallelism (no -p given), the envs of LAST run one after another once the others are
    done. Returns (exit code, {env: result}). tox calls a run whose envs were
    all skipped a failure: such a group does not fail the run unless no env ran at all."""
    if has_parallel(args):
        groups = [(names, args)]
    else:
        together = [name for name in names if name not in LAST]
        after = [name for name in names if name in LAST]
        groups = [(together, parallel(args, together)), (after, args)]
    status, results, codes = 0, {}, []
    for index, (group, group_args) in enumerate(group for group in groups if group[0]):
        path = out if index == 0 else out.replace(".json", "-%d.json" % index)
        code = tox(python, ["-e", ",".join(group)] + group_args, path)
        found = load(path)
        results.update({name: env for name, env in found.items() if name in group})
        ran = [name for name in group if verdict(found.get(name, {})) not in ("skipped",)]
        codes.append(code)
        if code and (ran or not found):
            status = status or code
    if not status and codes and all(verdict(results.get(name, {})) == "skipped" for name in names):
        status = codes[-1]
    return status, results


def pop_flag(args, flag):
    """(whether flag is among args before --, args without it)."""
    end = args.index("--") if "--" in args else len(args)
    if flag not in args[:end]:
        return False, args
    return True, [arg for index, arg in enumerate(args) if index >= end or arg != flag]


def quick_args(envs, rest):
    """tox's arguments for --quick: one env, QUICK_TESTS, pytest's own arguments after them."""
    if envs:
        env = envs[0]
    elif any(
        os.access(os.path.join(folder, "python3.12"), os.X_OK)
        for folder in os.environ.get("PATH", "").split(os.pathsep)
        if folder
    ):
        env = QUICK_ENV
    else:
        env = "py%d%d" % sys.version_info[:2]
    if "--" in rest:
        index = rest.index("--")
        tox_args, pytest_args = rest[:index], rest[index + 1 :]
    else:
        tox_args, pytest_args = rest, []
    pytest_args = ["-q", "-p", "no:cacheprovider"] + QUICK_TESTS + pytest_args
    return env, ["-e", env] + tox_args + ["--"] + pytest_args


def main(argv):
    started = time.monotonic()
    required = None
    if argv[:1] == ["--require"] and len(argv) > 1:
        required, argv = [name for name in argv[1].split(",") if name], argv[2:]
    elif argv[:1] and argv[0].startswith("--require="):
        required, argv = [name for name in argv[0].split("=", 1)[1].split(",") if name], argv[1:]
    quick, argv = pop_flag(argv, "--quick")
    if quick and required is not None:
        say("--quick and --require do not go together")
        return 2
    python = install_tox()
    if python is None:
        say("could not install tox; on Debian and Ubuntu, venv needs: apt install python3-venv")
        return SETUP_FAILED
    os.makedirs(os.path.join(ROOT, ".tox"), exist_ok=True)
    # Every test env adds coverage data files here (tox.ini); the coverage env combines what
    # this run made, not what an earlier one left.
    for path in glob.glob(os.path.join(ROOT, ".coverage")) + glob.glob(
        os.path.join(ROOT, ".coverage.*")
    ):
        os.remove(path)
    # test_invisible's oracle observations (tox.ini): this run's own, never an earlier run's.
    shutil.rmtree(os.path.join(ROOT, ".tox", "oracle-cache"), ignore_errors=True)
    results = {}
    envs, rest = split_envs(argv)
    if quick:
        env, args = quick_args(envs, rest)
        asked = [env]
        out = os.path.join(ROOT, ".tox", "test-result.json")
        status = tox(python, args, out)
        results.update(load(out))
    elif required is None:
        asked = envs or envlist()
        out = os.path.join(ROOT, ".tox", "test-result.json")
        status, found = run_envs(python, asked, rest, out)
        results.update(found)
    else:
        # The required envs: a missing interpreter is an error. Then the -e envs, if any, where
        # their interpreter exists.
        optional = [name for name in envs or [] if name not in required]
        asked = required + optional
        out = os.path.join(ROOT, ".tox", "ci-result.json")
        status, found = run_envs(
            python, required, ["--skip-missing-interpreters", "false"] + rest, out
        )
        results.update(found)
        if optional:
            out = os.path.join(ROOT, ".tox", "ci-optional-result.json")
            code, found = run_envs(
                python, optional, ["--skip-missing-interpreters", "true"] + rest, out
            )
            results.update(found)
            ran = [name for name in optional if verdict(found.get(name, {})) != "skipped"]
            status = status or (code if ran else 0)
    verdicts = summary(results, asked)
    table = behaviour_table(
        [name for name, result in verdicts.items() if result in ("passed", "FAILED")]
    )
    status = status or table
    if required is not None:
        missing = [name for name in required if verdicts.get(name) != "passed"]
        if missing:
            say("required envs that did not pass: %s" % ", ".join(missing))
            status = status or 1
    skipped = [name for name, result in verdicts.items() if result == "skipped"]
    if skipped:
        say(
            "skipped (no interpreter here): %s; docs/interpreters.md says how to get them"
            % ", ".join(skipped)
        )
    ran = [seconds(results.get(name, {})) or 0.0 for name in verdicts]
    say(
        "done in %.0fs (the envs' own times add up to %.0fs), exit %d"
        % (time.monotonic() - started, sum(ran), status)
    )
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
