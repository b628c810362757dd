"""CPython's own process-pool tests, many times over, with the shim active and on the stock
interpreter, alternating; reports pass/fail counts and which test cases failed in how many runs.

    python tests/faults/cpython_suite_loop.py --python /root/.pyenv/versions/3.13.0/bin/python3.13
    python tests/faults/cpython_suite_loop.py --python /opt/cpython/3.14/bin/python3.14 \\
        --prefix-overlay

"shim": a sitecustomize on PYTHONPATH activates the package the way an installed copy does
(backport_gh115634_startup.activate(), which applies the fix when concurrent.futures.process is
imported, in the test runner and in every worker process). "stock": the same interpreter (and
the same overlay, with --prefix-overlay) without the package. On the pre-fix overlay the stock
runs are expected to fail (or time out) the tests that check the upstream fix; that is the bug.

A test case that fails in some runs of a mode and passes in others is a flake of that mode. Each
run of ``python -m test`` is a child in its own session under a deadline, killed with its whole
process group when it overruns; its output is kept in --log-dir.
"""

import argparse
import collections
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
CHECKOUT = os.path.dirname(os.path.dirname(HERE))
if os.path.dirname(HERE) not in sys.path:
    sys.path.append(os.path.dirname(HERE))  # tests/, for procgroup
from procgroup import run_in_group  # noqa: E402

DEFAULT_TESTS = [
    "test_concurrent_futures.test_process_pool",
    "test_concurrent_futures.test_shutdown",
    "test_concurrent_futures.test_deadlock",
    "test_concurrent_futures.test_init",
]
SITECUSTOMIZE = """\
# Written by cpython_suite_loop.py: activate backport_gh115634 as an installed copy would.
import os
import sys

import backport_gh115634_startup

backport_gh115634_startup.activate("sitecustomize")


def _chain():
    # Run the interpreter's own sitecustomize, which this file shadows, if it has one.
    import importlib.machinery
    import importlib.util

    here = os.path.dirname(os.path.abspath(__file__))
    path = [entry for entry in sys.path if os.path.abspath(entry or ".") != here]
    spec = importlib.machinery.PathFinder.find_spec("sitecustomize", path)
    if spec is not None and spec.origin and os.path.exists(spec.origin):
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)


_chain()
"""
# unittest's report of one failed case: "FAIL: test_x (module.Class.test_x)"
CASE = re.compile(r"^(FAIL|ERROR|UNEXPECTED SUCCESS): (\S+) \(([^)]*)\)", re.M)
RESULT = re.compile(r"^== Tests result: (.+?) ==", re.M)
_SCRUBBED = (
    "PYTHONPATH",
    "PYTHONHOME",
    "PYTHONSTARTUP",
    "PYTHONWARNINGS",
    "BACKPORT_GH115634",
    "PYTHONDONTWRITEBYTECODE",
)


def env_for(mode, shim_dir, overlay):
    env = {key: value for key, value in os.environ.items() if key not in _SCRUBBED}
    path = [overlay] if overlay else []
    if mode == "shim":
        path += [shim_dir, CHECKOUT]
    if path:
        env["PYTHONPATH"] = os.pathsep.join(path)
    return env


def probe(python, mode, shim_dir, overlay):
    """How the package stands in a process of this mode, after concurrent.futures.process."""
    env = env_for(mode, shim_dir, overlay)
    if mode == "stock":
        # Only to ask status(): importing the package with activation off changes nothing.
        env["PYTHONPATH"] = os.pathsep.join(p for p in (overlay, CHECKOUT) if p)
        env["BACKPORT_GH115634"] = "0"
    code = (
        "import concurrent.futures.process, backport_gh115634 as b; s = b.status(); "
        "print('applied=%s shape=%s activation=%s' % (s.applied, s.shape, s.activation))"
    )
    done = subprocess.run(
        [python, "-c", code], env=env, capture_output=True, text=True, timeout=120
    )
    return (done.stdout or done.stderr).strip().splitlines()[-1]


def run_once(python, tests, match, mode, shim_dir, overlay, deadline, timeout, log_path):
    args = [python, "-m", "test", "--timeout", str(timeout)] + tests
    for pattern in match:
        args += ["-m", pattern]
    started = time.monotonic()
    with open(log_path, "w") as log:
        returncode, _, _, timed_out = run_in_group(
            args,
            deadline,
            env=env_for(mode, shim_dir, overlay),
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    with open(log_path, errors="replace") as log:
        output = log.read()
    result = RESULT.findall(output)
    failed = sorted({"%s (%s)" % (name, where) for _, name, where in CASE.findall(output)})
    return {
        "mode": mode,
        "seconds": time.monotonic() - started,
        "timed_out": timed_out,
        "returncode": returncode,
        "result": result[-1] if result else "no result",
        "failed": failed,
        "log": log_path,
    }


def passed(run):
    return not run["timed_out"] and run["returncode"] == 0


def summarize(runs, modes):
    for mode in modes:
        mine = [run for run in runs if run["mode"] == mode]
        ok = sum(passed(run) for run in mine)
        timed_out = sum(run["timed_out"] for run in mine)
        seconds = sorted(run["seconds"] for run in mine)
        print(
            "\n%s: %d runs, %d passed, %d failed (%d killed at the deadline); "
            "median %.0fs per run"
            % (
                mode,
                len(mine),
                ok,
                len(mine) - ok,
                timed_out,
                seconds[len(seconds) // 2] if seconds else 0,
            )
        )
        results = collections.Counter(run["result"] for run in mine)
        print("  regrtest results: %s" % ", ".join("%s x%d" % item for item in results.items()))
        cases = collections.Counter(case for run in mine for case in run["failed"])
        for case, count in cases.most_common():
            kind = "always" if count == len(mine) else "FLAKE"
            print("  %-6s %d/%d  %s" % (kind, count, len(mine), case))
        for run in mine:
            if not passed(run) and not run["failed"]:
                print(
                    "  run failed without a failed case (%s, exit %s): %s"
                    % (run["result"], run["returncode"], run["log"])
                )


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--runs", type=int, default=20, help="runs per mode (default 20)")
    parser.add_argument("--tests", nargs="+", default=DEFAULT_TESTS)
    parser.add_argument(
        "--match",
        action="append",
        default=[],
        help="regrtest -m pattern (repeatable), e.g. '*ProcessPool*'",
    )
    parser.add_argument("--modes", nargs="+", default=["shim", "stock"], choices=["shim", "stock"])
    parser.add_argument(
        "--prefix-overlay",
        action="store_true",
        help="run both modes on the pre-fix overlay of a 3.14/3.15 interpreter",
    )
    parser.add_argument(
        "--shared-tools",
        default=os.environ.get("BACKPORT_SHARED_TOOLS")
        or os.path.join(os.path.dirname(CHECKOUT), "shared", "tools"),
    )
    parser.add_argument(
        "--deadline",
        type=float,
        default=1800,
        help="hard deadline per run of python -m test, seconds",
    )
    parser.add_argument(
        "--timeout", type=float, default=300, help="regrtest --timeout per test file, seconds"
    )
    parser.add_argument("--log-dir")
    args = parser.parse_args(argv)

    scratch = tempfile.mkdtemp(prefix="cpython-suite-loop-")
    log_dir = args.log_dir or os.path.join(scratch, "logs")
    os.makedirs(log_dir, exist_ok=True)
    shim_dir = os.path.join(scratch, "shim")
    os.makedirs(shim_dir)
    with open(os.path.join(shim_dir, "sitecustomize.py"), "w") as out:
        out.write(SITECUSTOMIZE)
    overlay = None
    if args.prefix_overlay:
        overlay = os.path.join(scratch, "overlay")
        subprocess.run(
            [
                sys.executable,
                os.path.join(args.shared_tools, "prefix-overlay.py"),
                "--python",
                args.python,
                "--out",
                overlay,
            ],
            check=True,
            timeout=120,
        )

    print(
        "CPython's process-pool tests, %d runs per mode, alternating: %s"
        % (args.runs, " ".join(args.tests))
    )
    print("interpreter: %s%s" % (args.python, ", pre-fix overlay" if overlay else ""))
    for mode in args.modes:
        print("  %-5s %s" % (mode, probe(args.python, mode, shim_dir, overlay)))
    print("logs: %s" % log_dir, flush=True)

    runs = []
    for number in range(args.runs):
        order = args.modes if number % 2 == 0 else list(reversed(args.modes))
        for mode in order:
            log_path = os.path.join(log_dir, "%s-%03d.log" % (mode, number))
            run = run_once(
                args.python,
                args.tests,
                args.match,
                mode,
                shim_dir,
                overlay,
                args.deadline,
                args.timeout,
                log_path,
            )
            runs.append(run)
            print(
                "run %d %-5s %-5s %4.0fs %s%s"
                % (
                    number + 1,
                    mode,
                    "pass" if passed(run) else "FAIL",
                    run["seconds"],
                    run["result"],
                    " [%s]" % ", ".join(run["failed"]) if run["failed"] else "",
                ),
                flush=True,
            )
    summarize(runs, args.modes)
    if not args.log_dir:
        print("\n(logs kept in %s)" % log_dir)
    shutil.rmtree(shim_dir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
