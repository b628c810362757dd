"""Run fault_run.py for one seed in a child process under a hard deadline, and judge the result.

Used by tests/test_faults.py (pytest) and fault_batch.py (long runs). No pytest import here, so
the batch driver runs on any interpreter.

The child gets its own session; at the deadline the whole process group is killed (the child,
its fork server, its workers, its resource tracker), so a stuck run costs one deadline.

About the apply()/revert() race: while threads revert() and apply() the shim, the stock code runs
in the reverted windows, and a worker exit that falls into one meets the stock bug (its
replacement is skipped, the pending work is stranded with no worker). The apply() that ends such
a window wakes every manager thread, and the shim gives a stranded pool a worker (the rescue), so
a race run keeps the same invariants as any other: every future resolves, and only as the
injected faults allow. Also: apply()/revert() never raise, the final revert() restores the exact
stdlib objects, no thread dies, no process or semaphore leaks. The racing stops (with apply()
last) before any shutdown, drop or forced-kill fault fires, and a race run never has a failed
spawn (a failed spawn in a reverted window kills the stock manager thread, which nothing can
bring back).
"""

import json
import os
import re
import shlex
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor

HERE = os.path.dirname(os.path.abspath(__file__))
FAULT_RUN = os.path.join(HERE, "fault_run.py")
CHECKOUT = os.path.dirname(os.path.dirname(HERE))
if os.path.dirname(HERE) not in sys.path:
    sys.path.append(os.path.dirname(HERE))  # tests/, for procgroup
from fault_run import STRANDED_FORM  # noqa: E402

from procgroup import run_in_group  # noqa: E402

VERDICT_PREFIX = "FAULT-VERDICT: "
DEADLINE = float(os.environ.get("BACKPORT_FAULT_DEADLINE", "150"))
# "resource_tracker: There appear to be 3 leaked semaphore objects to clean up at shutdown"
LEAK = re.compile(r"leaked \w+ objects?")


class Judgement:
    """One seed's outcome: passed, the problems found, and how to reproduce it."""

    def __init__(self, seed, command, problems, verdict, stderr, elapsed):
        self.seed = seed
        self.command = command
        self.problems = problems
        self.verdict = verdict
        self.stderr = stderr
        self.elapsed = elapsed

    @property
    def passed(self):
        return not self.problems

    def report(self):
        verdict = self.verdict or {}
        status = verdict.get("status", {})
        lines = [
            "fault run seed %d failed on %s (%s stdlib, shim %s):"
            % (
                self.seed,
                status.get("python", "?"),
                status.get("shape", "?"),
                "applied" if status.get("applied") else "not applied",
            ),
            "  workload: %s" % verdict.get("plan", "?"),
        ]
        lines += ["  - " + problem for problem in self.problems]
        for text in verdict.get("thread_tracebacks", ()):
            lines.append("thread traceback:\n" + text)
        if verdict.get("manager_stack"):
            lines.append("manager thread stack:\n" + "".join(verdict["manager_stack"]))
            lines.append("manager state: %s" % verdict.get("manager_state"))
            lines.append("manager thread in the kernel: %s" % verdict.get("manager_native"))
            if "manager_freed_by_kill" in verdict:
                lines.append(
                    "manager thread exited once the live children were killed: %s"
                    % verdict["manager_freed_by_kill"]
                )
        for pid, state in (verdict.get("children_native") or {}).items():
            lines.append("live child %s: %s" % (pid, state))
        lines.append("reproduce: " + self.command)
        if self.stderr.strip():
            lines.append("stderr (tail):\n" + self.stderr[-6000:])
        return "\n".join(lines)


def environment(overlay=None, package_root=CHECKOUT):
    """The child's environment: overlay first, the package importable, start-up hook off (the
    runner calls apply() itself), no inherited warning filters."""
    # Not dict(os.environ), which lists the keys and then reads each: BatchRunner calls this
    # from its threads while pytest's main thread sets and deletes PYTEST_CURRENT_TEST.
    env = {}
    for key in list(os.environ):
        value = os.environ.get(key)
        if value is not None:  # None: deleted meanwhile
            env[key] = value
    path = [p for p in (overlay, package_root, env.get("PYTHONPATH")) if p]
    env["PYTHONPATH"] = os.pathsep.join(path)
    env["BACKPORT_GH115634"] = "0"
    env.pop("PYTHONWARNINGS", None)
    return env


def command(seed, python, overlay=None, package_root=CHECKOUT, start_method=None):
    """The shell command that reruns this seed by hand."""
    path = os.pathsep.join(p for p in (overlay, package_root) if p)
    words = [
        "BACKPORT_GH115634=0",
        "PYTHONPATH=" + shlex.quote(path),
        shlex.quote(python),
        shlex.quote(FAULT_RUN),
        str(seed),
    ]
    if start_method:
        words += ["--start-method", start_method]
    return " ".join(words)


def run_seed(
    seed,
    python=sys.executable,
    overlay=None,
    package_root=CHECKOUT,
    start_method=None,
    deadline=DEADLINE,
):
    args = [python, FAULT_RUN, str(seed)]
    if start_method:
        args += ["--start-method", start_method]
    started = time.monotonic()
    returncode, stdout, stderr, timed_out = run_in_group(
        args,
        deadline,
        env=environment(overlay, package_root),
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    problems = []
    verdict = None
    lines = [line for line in stdout.splitlines() if line.startswith(VERDICT_PREFIX)]
    if lines:
        verdict = json.loads(lines[-1][len(VERDICT_PREFIX) :])
        problems += verdict["violations"]
    if timed_out:
        problems.append("killed at the %ss deadline" % deadline)
    elif verdict is None:
        problems.append(
            "printed no verdict (exit status %s); stdout tail: %s" % (returncode, stdout[-2000:])
        )
    elif returncode != 0 and not verdict["violations"]:
        problems.append("exit status %s after a clean verdict" % returncode)
    if STRANDED_FORM not in ((verdict or {}).get("stock_bug_forms") or ()):
        # A future that 3.11's terminate_broken() race stranded keeps its pool from ever
        # shutting down, so the run leaves by os._exit() with the pool's semaphores registered.
        problems += [
            "resource tracker: " + line.strip() for line in stderr.splitlines() if LEAK.search(line)
        ]
    return Judgement(
        seed,
        command(seed, python, overlay, package_root, start_method),
        problems,
        verdict,
        stderr,
        time.monotonic() - started,
    )


class BatchRunner:
    """Runs seeds `jobs` at a time in the background; result() waits for one of them.

    Seeds are queued in batches (all the seeds one stdlib variant needs), so with two cores two
    runs are always in flight while pytest reports the finished ones in order.
    """

    def __init__(self, jobs=2, python=sys.executable, package_root=CHECKOUT, deadline=DEADLINE):
        self.pool = ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="fault-seed")
        self.jobs = jobs
        self.python = python
        self.package_root = package_root
        self.deadline = deadline
        self.futures = {}
        self.lock = threading.Lock()

    def queue(self, seeds, overlay=None, start_method=None):
        with self.lock:
            for seed in seeds:
                key = (seed, overlay, start_method)
                if key not in self.futures:
                    self.futures[key] = self.pool.submit(
                        run_seed,
                        seed,
                        self.python,
                        overlay,
                        self.package_root,
                        start_method,
                        self.deadline,
                    )

    def result(self, seed, overlay=None, start_method=None):
        self.queue([seed], overlay, start_method)
        with self.lock:
            future = self.futures[(seed, overlay, start_method)]
            queued = len(self.futures)
        # Bounded: every run has its own deadline, and at most `queued` runs are ahead.
        return future.result(timeout=(self.deadline + 60) * (queued // self.jobs + 1))

    def close(self):
        for future in self.futures.values():
            future.cancel()
        self.pool.shutdown(wait=True)
