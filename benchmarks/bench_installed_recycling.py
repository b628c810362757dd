"""Benchmark 4b: recycling throughput with the package installed, as users run it.

Benchmark 4 applies the shim from a checkout, so its workers never load anything of ours. Here
the wheel is installed in a venv, and its .pth runs in every worker, as in production. Three
venvs of one interpreter: without the package, with an earlier wheel (--before), and with this
checkout's wheel (or --after). The executor at max_tasks_per_child=1, so that every task is a
worker start, under spawn and forkserver; the venvs alternate (order rotating) for --rounds
rounds. Prints tasks/s (medians) and each wheel's time ratio to the venv without the package,
with a bootstrap interval.

    python benchmarks/bench_installed_recycling.py --python PY --before OLD.whl [--tasks 300]
"""

import argparse
import os
import sys

import children
import measure
import venvs


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--python", default=sys.executable)
    parser.add_argument("--before", required=True, help="the earlier wheel")
    parser.add_argument("--after", help="the later wheel (default: built from this checkout)")
    parser.add_argument("--methods", nargs="+", default=["spawn", "forkserver"])
    parser.add_argument("--tasks", type=int, default=300, help="tasks (worker starts) per run")
    parser.add_argument("--rounds", type=int, default=10)
    args = parser.parse_args(argv)
    args.before = os.path.abspath(args.before)
    if args.after:
        args.after = os.path.abspath(args.after)
    children.leave_checkout()

    overlay = None
    if children.probe(args.python)["shape"] == "upstream":
        overlay = children.prefix_overlay(args.python)
    before, without = venvs.pair(args.python, args.before)
    after, _ = venvs.pair(args.python, args.after)
    pythons = {"without": without, "before": before, "after": after}
    env = children.clean_env([overlay])
    if overlay:
        env["BACKPORT_GH115634"] = "1"  # the overlay stands for an affected release
    script = children.workload("recycle.py")
    print(
        "Benchmark 4b: recycling throughput, package installed, %s%s: executor, 1 worker, "
        "max_tasks_per_child=1, %d tasks per run, %d rounds"
        % (args.python, " (pre-fix overlay)" if overlay else "", args.tasks, args.rounds)
    )
    rows = []
    for method in args.methods:
        seconds = {name: [] for name in pythons}
        for round_number in range(args.rounds):
            for name in measure.rotated(list(pythons), round_number):
                result = children.run_json(
                    [pythons[name], script, "executor", method, "1", "1", str(args.tasks)],
                    env,
                    deadline=3600,
                )
                seconds[name].append(result["seconds"])
        bare = measure.median(seconds["without"])
        for name in ("before", "after"):
            low, high = measure.bootstrap_interval(seconds[name], seconds["without"], paired=False)
            rows.append(
                [
                    method,
                    name,
                    "%.1f" % (args.tasks / measure.median(seconds[name])),
                    "%.1f" % (args.tasks / bare),
                    "%.3f" % measure.ratio(measure.median(seconds[name]), bare),
                    measure.interval_text(low, high),
                ]
            )
    print(
        measure.table(
            [
                "start method",
                "wheel",
                "tasks/s",
                "tasks/s without the package",
                "time ratio",
                "95 % interval",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
