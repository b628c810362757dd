"""Benchmark 3b: what each hot-path seam adds per call, measured in one process.

The side-by-side hot-path benchmark (bench_hot_path.py) is too noisy on a small machine to show
a cost under 1 %, so this one times the seams themselves: each seam is built around a no-op
standing in for the stdlib original, and timed against that no-op (timeit, best of 5). The
difference is the layer we add on every call. Run with the interpreter to measure:

    BACKPORT_GH115634=0 python3.12 -S benchmarks/bench_seam_cost.py
"""

import os
import sys
import timeit

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import concurrent.futures.process as process

from _backport_gh115634 import detect as _detect
from _backport_gh115634 import seams as _seams
from _backport_gh115634.replacement import WorkerReplacement

CALLS = 10**6


class StandInManager:
    """What the manager-wait seam reads before it hands over: work pending, workers alive."""

    def __init__(self):
        self.pending_work_items = {0: None}
        self.processes = {0: None}


class StandInExecutor:
    pass


def no_op(self):
    return None


def main():
    detection = _detect.detect(process)
    if not detection.patchable:
        print(
            "nothing to measure: this stdlib is %s (use a pre-fix one, or the overlay)"
            % detection.shape
        )
        return 0
    keys = _seams.seam_names(process, detection)
    seams = _seams.build(process, WorkerReplacement(process), dict.fromkeys(keys, no_op))
    cases = [
        (
            "_ExecutorManagerThread.wait_result_broken_or_wakeup",
            StandInManager(),
            "once per manager wake-up (at most once per task)",
        )
    ]
    if (process.ProcessPoolExecutor, "_adjust_process_count") in seams:
        cases.append(
            ("ProcessPoolExecutor._adjust_process_count", StandInExecutor(), "once per submit()")
        )
    print(
        "Benchmark 3b: per-call cost of the hot-path seams, %s (%s stdlib), best of 5 x %d"
        % (sys.version.split()[0], detection.shape, CALLS)
    )
    print("| seam | seam ns | no-op ns | added ns per call | called |")
    print("|------|---------|----------|-------------------|--------|")
    for name, target, when in cases:
        owner_name, attribute = name.split(".")
        seam = next(
            function
            for (owner, key), function in seams.items()
            if owner.__name__ == owner_name and key == attribute
        )
        with_seam = min(
            timeit.repeat(lambda seam=seam, target=target: seam(target), number=CALLS, repeat=5)
        )
        bare = min(timeit.repeat(lambda target=target: no_op(target), number=CALLS, repeat=5))
        print(
            "| %s | %.0f | %.0f | %.0f | %s |"
            % (
                name,
                with_seam / CALLS * 1e9,
                bare / CALLS * 1e9,
                (with_seam - bare) / CALLS * 1e9,
                when,
            )
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
