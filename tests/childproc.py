"""Run Python code in a child process under a hard deadline.

The child gets its own session (process group), so on the deadline the whole group goes: the
child, its pool workers and anything they started. A hang therefore costs one deadline and
becomes a failed test, never a stuck suite.
"""

import json
import os
import subprocess
import sys

import pytest

import backport_gh115634
from procgroup import run_in_group

HERE = os.path.dirname(os.path.abspath(__file__))
SCENARIO = os.path.join(HERE, "scenarios", "pool_scenario.py")
RESULT_PREFIX = "SCENARIO-RESULT: "
# Where the package under test lives (site-packages when installed, the checkout otherwise).
PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(backport_gh115634.__file__)))
DEADLINE = float(os.environ.get("BACKPORT_TEST_DEADLINE", "90"))
# tox.ini sets BACKPORT_TEST_SIZE=short in the envs whose interpreter repeats what another env
# already tests in full (the same stdlib shape on the same kind of interpreter): there the
# long tests run short (sized()). So does the "shipped" variant where the stdlib already has
# every fix (3.14.7+, 3.15): the package patches nothing there, and the long tests hold the
# stdlib's own fix to the invariants, which its "prefix-overlay" variant tests with the
# package in full. Every scenario still runs in every env, and BACKPORT_MODEL_EXAMPLES /
# BACKPORT_FAULT_RUNS still set the counts outright (the long runs).
SHORT = os.environ.get("BACKPORT_TEST_SIZE") == "short"


def patches_nothing(overlay):
    """True for the stdlib as shipped (no overlay) where it already has every fix."""
    if overlay is not None:
        return False
    import concurrent.futures.process as process

    from _backport_gh115634 import detect

    return detect.detect(process).shape == detect.UPSTREAM


ANY_STDLIB = object()


def sized(full, short, stdlib=ANY_STDLIB):
    """How long a long test runs by default: `short` in a short env, or, given the stdlib a
    test runs on (the overlay's path, None for the shipped one), where the package patches
    nothing there (patches_nothing)."""
    return short if SHORT or (stdlib is not ANY_STDLIB and patches_nothing(stdlib)) else full


# A free-threaded build with its GIL off, as it ships (not forced on by PYTHON_GIL / -X gil).
GIL_DISABLED = not getattr(sys, "_is_gil_enabled", lambda: True)()


class Completed:
    def __init__(self, returncode, stdout, stderr, timed_out):
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out

    def describe(self):
        return "exit %s%s\n--- stdout\n%s\n--- stderr\n%s" % (
            self.returncode,
            " (killed at the deadline)" if self.timed_out else "",
            self.stdout[-4000:],
            self.stderr[-4000:],
        )


def child_env(overlay=None, enabled=False, extra=None):
    """Environment for a child: the overlay first on the path, the package importable, and
    the start-up activation off unless enabled (children apply() explicitly when they want)."""
    env = dict(os.environ)
    path = [p for p in (overlay, PACKAGE_ROOT) if p]
    if env.get("PYTHONPATH"):
        path.append(env["PYTHONPATH"])
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["BACKPORT_GH115634"] = "1" if enabled else "0"
    env.pop("PYTHONWARNINGS", None)
    env.update(extra or {})
    return env


def measured(args, env):
    """args, measured by coverage where the test run is (COVERAGE_PROCESS_START set): a child
    with site finds coverage's own start-up file, but one run with -S reads no start-up files,
    so its script runs under `coverage run` (coverage comes from PYTHONPATH, next to the
    package). -S -c and -S -m children are left as they are."""
    rcfile = env.get("COVERAGE_PROCESS_START")
    if not rcfile or args[:1] != ["-S"] or len(args) < 2 or args[1].startswith("-"):
        return list(args)
    return ["-S", "-m", "coverage", "run", "--rcfile", rcfile] + list(args[1:])


def run(args, env, deadline=DEADLINE, executable=None, cwd=None):
    """Run [executable or sys.executable, *args]; kill the process group at the deadline."""
    args = measured(args, env)
    return Completed(
        *run_in_group(
            [executable or sys.executable, *args],
            deadline,
            env=env,
            cwd=cwd,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
    )


def run_scenario(
    name, start_method, *, shim, overlay=None, hang_window=None, deadline=DEADLINE, mode=None
):
    """Run one scenario of scenarios/pool_scenario.py and return its JSON verdict.

    mode, if given, is the scenario's MODE ("shim", "stock", "reverted") and overrides shim."""
    extra = {}
    if hang_window is not None:
        extra["BACKPORT_TEST_HANG_WINDOW"] = str(hang_window)
    done = run(
        [SCENARIO, name, start_method, mode or ("shim" if shim else "stock")],
        child_env(overlay, extra=extra),
        deadline=deadline,
    )
    lines = [line for line in done.stdout.splitlines() if line.startswith(RESULT_PREFIX)]
    if not lines:
        pytest.fail("scenario %s printed no result: %s" % (name, done.describe()))
    result = json.loads(lines[-1][len(RESULT_PREFIX) :])
    result["exited"] = not done.timed_out and done.returncode == 0
    result["stderr"] = done.stderr
    if not result.get("hung") and not result["exited"]:
        pytest.fail(
            "scenario %s did not exit cleanly after reporting: %s" % (name, done.describe())
        )
    return result
