"""Behaviour 7: CPython's own process-pool tests pass with the shim active, with no failure the
stock interpreter does not also have.

The shim is switched on in every process of the run (regrtest and its workers) by a
sitecustomize on PYTHONPATH, which also logs from each process whether the fix was applied,
so the test can tell that the shim really was active where the pools ran. On 3.14+ the same
suite also runs against the pre-fix overlay: there the baseline is the interpreter's own
upstream fix, since the stock overlay hangs on the gh-115634 tests by design.
"""

import importlib.util
import json
import os
import re

import pytest

from childproc import PACKAGE_ROOT, child_env, run, sized

SUITE = "test_concurrent_futures"
# Every process-pool test, or (where the run is short: tox.ini's short envs, and the stdlib as
# shipped where it has every fix and the package patches nothing, childproc.sized) the ones of
# worker recycling and idle-worker reuse, the paths the package patches: about 10 s instead of
# 60-100 s. The full selection runs on every stdlib shape the package patches.
MATCH_ALL = ["*ProcessPool*"]
MATCH_RECYCLING = ["*ProcessPool*max_tasks*", "*ProcessPool*idle_process*"]
SUITE_DEADLINE = float(os.environ.get("BACKPORT_TEST_SUITE_DEADLINE", "1200"))

SITECUSTOMIZE = """\
import atexit, json, os, sys
import backport_gh115634_startup as startup
startup.activate("sitecustomize")

def _log():
    module = sys.modules.get("concurrent.futures.process")
    if module is None:
        return
    import backport_gh115634
    with open(os.environ["BACKPORT_TEST_ACTIVE_LOG"], "a") as log:
        log.write(json.dumps({"pid": os.getpid(),
                              "applied": backport_gh115634.status().applied}) + "\\n")

atexit.register(_log)
"""

pytestmark = pytest.mark.skipif(
    importlib.util.find_spec("test") is None
    or importlib.util.find_spec("test.test_concurrent_futures") is None,
    reason="this interpreter does not ship test.test_concurrent_futures",
)


def known_upstream_hangs():
    """regrtest -i patterns for tests that hang at random on this stdlib for a bug that is not
    ours and that the stock interpreter has too.

    gh-125451 (fixed in 3.12.8 and 3.13.1, not in 3.13.0): the manager thread holds the shutdown
    lock while it joins the call queue's feeder thread, and the feeder, handling a pickling
    error that test_processes_terminate and test_shutdown_deadlock_pickle provoke on purpose,
    waits for that lock (both seen hanging so in CI on 3.13.0, the manager in join_thread and
    the feeder in _on_queue_feeder_error). Detected by the fix's own lock on _ThreadWakeup.
    """
    import concurrent.futures.process as process

    wakeup_init = getattr(getattr(process, "_ThreadWakeup", None), "__init__", None)
    names = getattr(getattr(wakeup_init, "__code__", None), "co_names", ("_lock",))
    return (
        []
        if "_lock" in names
        else ["*test_processes_terminate*", "*test_shutdown_deadlock_pickle*"]
    )


def regrtest(tmp_path, name, *, overlay, shim, patterns, rerun):
    site_dir = tmp_path / ("site-" + name)
    site_dir.mkdir()
    log = tmp_path / ("active-" + name + ".jsonl")
    if shim:
        (site_dir / "sitecustomize.py").write_text(SITECUSTOMIZE)
    env = child_env(overlay, enabled=shim, extra={"BACKPORT_TEST_ACTIVE_LOG": str(log)})
    env["PYTHONPATH"] = os.pathsep.join(p for p in (overlay, str(site_dir), PACKAGE_ROOT) if p)
    # Not measured by coverage: the package runs here as in the scenarios, which are measured.
    # Under coverage, test_deadlock hung on free-threaded 3.13.5t (no progress, the CPU idle,
    # for minutes, in a CI run and alone) and was stalled on PyPy in the same CI run.
    env.pop("COVERAGE_PROCESS_START", None)
    ignore = [arg for pattern in known_upstream_hangs() for arg in ("-i", pattern)]
    match = [arg for pattern in patterns for arg in ("-m", pattern)]
    again = ["-w"] if rerun else []
    done = run(
        ["-m", "test", SUITE, *match, *ignore, "-j2", *again, "--timeout", "300"],
        env,
        deadline=SUITE_DEADLINE,
        cwd=str(tmp_path),
    )
    output = done.stdout + done.stderr
    assert not done.timed_out, "regrtest overran its deadline:\n" + output[-6000:]
    assert "Total tests: run=" in output, output[-6000:]
    entries = [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []
    return done, output, entries


def failures(output):
    """Test ids regrtest reports as failed (FAIL:/ERROR: lines), else the failing modules
    (a crash or a timeout reports no test id)."""
    found = set(re.findall(r"^(?:FAIL|ERROR): (\S+ \(\S+\))", output, re.M))
    return (
        found
        or set(re.findall(r"(test_concurrent_futures\.\w+) failed", output))
        or set(
            re.findall(r"^\[[\d/]+\] (test_concurrent_futures\.\w+) worker non-zero", output, re.M)
        )
    )


def test_cpython_process_pool_tests_pass_with_shim(tmp_path, stdlib, shipped_detection):
    patterns = sized(MATCH_ALL, MATCH_RECYCLING, stdlib)
    expect_applied = stdlib is not None or bool(shipped_detection.affected)
    # Where the package patches, a test runs once: a rerun (-w) would pass a test that hung
    # (regrtest's --timeout) or timed out a wait in our code the first time. Where it patches
    # nothing the stock code runs, and a timing flake of the stdlib's own may run again.
    done, output, entries = regrtest(
        tmp_path, "shim", overlay=stdlib, shim=True, patterns=patterns, rerun=not expect_applied
    )
    # The pools ran in regrtest's worker processes: each logged whether the fix was applied.
    assert entries, "no process of the run logged the shim's status"
    assert all(entry["applied"] is expect_applied for entry in entries), entries
    if done.returncode == 0:
        return
    # Some failed: each must fail on the baseline too (stock, or upstream for the overlay).
    _baseline_done, baseline_output, _ = regrtest(
        tmp_path, "stock", overlay=None, shim=False, patterns=patterns, rerun=False
    )
    assert failures(output), "regrtest failed without naming a failure:\n" + output[-6000:]
    extra = failures(output) - failures(baseline_output)
    assert not extra, "failing only with the shim: %s\n%s" % (sorted(extra), output[-6000:])
