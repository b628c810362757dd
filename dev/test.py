"""README's second command: ``python3 dev/test.py``.

Installs the test runner (tox, into ``.venv-tox/`` in this checkout, made with the interpreter
that runs this script: no pip outside a venv needed) and runs tox. Arguments go to tox as they are:

    python3 dev/test.py                 # every env of tox.ini's envlist whose interpreter is here
    python3 dev/test.py -e py312,py311  # just these (a missing interpreter is skipped)
    python3 dev/test.py -e py312 -- -k doctor   # after --: pytest's arguments

tox finds each env's interpreter on PATH (``python3.12`` for py312, ...); the interpreter that
started this script always counts, so its env runs at least. Missing ones are skipped, and the
summary at the end says which envs ran, on what, and which were skipped.

CI: ``--require ENV,ENV,...`` (first argument) runs those envs with
``--skip-missing-interpreters false``, then the envs of ``-e``, if given, where their interpreter
exists; the exit code is non-zero unless every required env ran its commands and passed:

    python3 dev/test.py --require py311,py312,mypy -e py314t

Exit code: tox's (0: every env that ran passed); with --require, also 1 if a required env did
not pass; 4 when tox itself could not be installed.
"""

import configparser
import glob
import json
import os
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
VENV = os.path.join(ROOT, ".venv-tox")
TOX_REQUIREMENT = "tox>=4.11"
SETUP_FAILED = 4
# A full run of every env is about 30 minutes on 2 cores; a hung env must still end.
TOX_TIMEOUT = 4 * 3600


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


def summary(results, asked):
    """Print one line per env asked for; return {env: verdict}."""
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
        print("  %-12s %-10s %-36s %s" % (name, version, note, where), flush=True)
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


def main(argv):
    started = time.monotonic()
    required = None
    if argv[:1] == ["--require"] and len(argv) > 1:
        required, argv = [name for name in argv[1].split(",") if name], argv[2:]
    elif argv[:1] and argv[0].startswith("--require="):
        required, argv = [name for name in argv[0].split("=", 1)[1].split(",") if name], argv[1:]
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
    results = {}
    envs, rest = split_envs(argv)
    if required is None:
        asked = envs or envlist()
        out = os.path.join(ROOT, ".tox", "test-result.json")
        status = tox(python, argv, out)
        results.update(load(out))
    else:
        # The required envs: a missing interpreter is an error. Then the -e envs, if any, where
        # their interpreter exists.
        optional = [name for name in envs or [] if name not in required]
        asked = required + optional
        out = os.path.join(ROOT, ".tox", "ci-result.json")
        status = tox(
            python, ["-e", ",".join(required), "--skip-missing-interpreters", "false"] + rest, out
        )
        results.update({name: env for name, env in load(out).items() if name in required})
        if optional:
            # tox calls a run whose only envs were all skipped a failure: judge by the results.
            out = os.path.join(ROOT, ".tox", "ci-optional-result.json")
            code = tox(
                python,
                ["-e", ",".join(optional), "--skip-missing-interpreters", "true"] + rest,
                out,
            )
            optional_results = load(out)
            results.update(
                {name: env for name, env in optional_results.items() if name in optional}
            )
            ran = [
                name
                for name in optional
                if verdict(optional_results.get(name, {})) in ("passed", "FAILED")
            ]
            if code and (ran or not optional_results):
                status = status or code
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
    say("done in %.0fs, exit %d" % (time.monotonic() - started, status))
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
